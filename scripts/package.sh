#!/bin/sh
# Builds the Debian package: build-pkg/dlrd_<version>_amd64.deb (release build, /usr layout).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-pkg}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DDLRD_TESTS=OFF -DDLRD_BENCH=OFF
cmake --build "$build" -j"${JOBS:-2}"
(cd "$build" && cpack -G DEB)
ls "$build"/dlrd_*.deb
