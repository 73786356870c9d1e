#!/bin/sh
# Builds the TCP_NODELAY preload library for pcscd (see tcp-nodelay.c for why).
#   test/pcsc/nodelay/build.sh [OUTPUT.so]
# Default output: node_modules/.cache/chipwright/libtcpnodelay.so under the repository root.
# Prints the absolute path of the library. Needs a C compiler (cc/gcc); nothing else.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/node_modules/.cache/chipwright/libtcpnodelay.so}"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
src="$here/tcp-nodelay.c"
# Rebuild only when the source is newer than the library.
if [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
  "${CC:-cc}" -shared -fPIC -O2 -Wall -Wextra -o "$out.tmp" "$src" -ldl
  mv "$out.tmp" "$out"
fi
echo "$out"
