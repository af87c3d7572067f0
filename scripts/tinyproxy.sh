#!/usr/bin/env bash
# Fetches tinyproxy, the real forward proxy the proxy tests go through (test/bed/forwardProxy.ts),
# from Debian's package registry into .tools/tinyproxy, without installing it: `apt-get download`
# and `dpkg -x` need no root. Idempotent. Called by scripts/dev.sh before the tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/.tools/tinyproxy"
[ -x "$dest/usr/bin/tinyproxy" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download tinyproxy-bin >/dev/null 2>&1; then
  # A fresh machine may have no package lists yet (reading them needs root, as CI runs).
  echo "scripts/tinyproxy.sh: apt-get download failed; updating the package lists" >&2
  apt-get update -qq >/dev/null
  apt-get download tinyproxy-bin >/dev/null
fi
mkdir -p "$dest"
dpkg -x tinyproxy-bin_*.deb "$dest"
"$dest/usr/bin/tinyproxy" -v >&2
