#!/bin/sh
# Makes the fresh Debian 12 root that deb_install_test.sh installs the package into:
# debootstrap's minbase from deb.debian.org plus the packages the .deb's Depends names, so the
# test itself needs no network. Slow (measured: 402 s for debootstrap, 37 s for the Depends,
# on a shared two-core machine), hence made once and passed to the test:
#   tests/packaging/debian_root.sh BUILD_DIR /var/tmp/dlrd-bookworm
#   DLRD_TEST_DEBIAN_ROOT=/var/tmp/dlrd-bookworm ctest -R deb_installs
# Needs root and debootstrap. Usage: debian_root.sh BUILD_DIR ROOT_DIR [MIRROR]
set -eu
build=$(cd "$1" && pwd)
root=$2
mirror=${3:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "debian_root.sh: needs root (debootstrap, chroot)"; exit 1; }
command -v debootstrap >/dev/null || { echo "debian_root.sh: apt-get install debootstrap"; exit 1; }
# The package names of CPACK_DEBIAN_PACKAGE_DEPENDS, without versions or alternatives.
depends=$(sed -n 's/^set(CPACK_DEBIAN_PACKAGE_DEPENDS "\(.*\)")$/\1/p' "$build/CPackConfig.cmake" \
  | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | paste -sd, -)
[ -n "$depends" ] || { echo "debian_root.sh: no Depends in $build/CPackConfig.cmake"; exit 1; }
debootstrap --variant=minbase --include="$depends" bookworm "$root" "$mirror"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
echo "Debian 12 root with $depends in $root"
