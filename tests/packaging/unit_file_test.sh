#!/bin/sh
# The systemd unit passes `systemd-analyze verify` and rates 2.0 or better in
# `systemd-analyze security`. Usage: unit_file_test.sh UNIT DLRD_BINARY
set -eu
unit=$1
binary=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Verify the unit as installed, with the binary under test standing in for /usr/bin/dlrd.
sed "s|/usr/bin/dlrd|$binary|g" "$unit" > "$dir/dlrd.service"
out=$(systemd-analyze verify "$dir/dlrd.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; exit 1; fi
# --threshold is the exposure times ten: 20 means 2.0.
rc=0
out=$(systemd-analyze security --offline=true --threshold=20 "$dir/dlrd.service" 2>&1) || rc=$?
echo "$out" | tail -1
exit $rc
