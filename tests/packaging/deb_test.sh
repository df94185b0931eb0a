#!/bin/sh
# The Debian package: `cpack -G DEB` builds it from a build tree that has dlrd built, and it
# holds the install layout, declares Debian 12 packages covering every library the binary
# needs, and its binary runs from a scratch root. Usage: deb_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
for tool in cpack dpkg-deb dpkg dpkg-query objdump ldd; do
  command -v "$tool" >/dev/null || { echo "$tool not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# Package into the temp dir: nothing is written to the source tree.
(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; exit 1; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
deb=$tmp/out/dlrd_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { ls "$tmp/out"; echo "FAIL: $deb not built"; exit 1; }
ok "built $(basename "$deb")"

# The file list: the layout the README documents, and nothing else.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$tmp/files"
unit=$(grep -E '^(/usr)?/lib/systemd/system/dlrd\.service$' "$tmp/files" || true)
[ -n "$unit" ] || fail "no dlrd.service under /lib/systemd/system or /usr/lib/systemd/system"
{
  echo /usr/bin/dlrd
  echo /etc/dlrd/dlrd.yaml
  echo "${unit:-/lib/systemd/system/dlrd.service}"
  echo /usr/share/doc/dlrd/README.md
  echo /usr/share/doc/dlrd/dlrd.minimal.yaml
  echo /usr/share/doc/dlrd/dlrd.reference.yaml
  for f in "$source"/sql/*.sql; do echo "/usr/share/dlrd/sql/$(basename "$f")"; done
} | sort >"$tmp/expected"
if diff -u "$tmp/expected" "$tmp/files" >"$tmp/files.diff"; then
  ok "files: $(tr '\n' ' ' <"$tmp/files")"
else
  cat "$tmp/files.diff"; fail "file list differs from the documented layout (- expected, + packaged)"
fi

# Control files: the config is a conffile; postinst creates the system user and state dir.
dpkg-deb -e "$deb" "$tmp/control"
if grep -qx /etc/dlrd/dlrd.yaml "$tmp/control/conffiles"; then ok "conffiles: /etc/dlrd/dlrd.yaml"
else fail "/etc/dlrd/dlrd.yaml is not a conffile"; fi
for script in postinst prerm postrm; do
  if [ -x "$tmp/control/$script" ] && sh -n "$tmp/control/$script"; then ok "$script present, parses"
  else fail "$script missing, not executable or not valid sh"; fi
done
if grep -Eq '(adduser|useradd) --system.* dlrd$' "$tmp/control/postinst" && grep -q /var/lib/dlrd "$tmp/control/postinst"; then
  ok "postinst creates the dlrd system user and /var/lib/dlrd"
else fail "postinst does not create the dlrd user and /var/lib/dlrd"; fi
grep -q '^User=dlrd$' "$source/config/dlrd.service" || grep -q '^DynamicUser=yes$' "$source/config/dlrd.service" \
  || fail "the unit runs neither as dlrd nor as a DynamicUser"

# Depends: real (not virtual) packages installed here, none a -dev package.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
echo "$depends" | sed -E 's/[,|]/\n/g' | sed -E 's/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u >"$tmp/declared"
while read -r pkg; do
  case "$pkg" in *-dev) fail "Depends names a -dev package: $pkg"; continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
    || fail "Depends names $pkg, which is not an installed (real) Debian package here"
done <"$tmp/declared"

# Every library the binary needs (NEEDED) comes from a declared package (dpkg -S of its path).
binary=$build/src/dlrd
ldd "$binary" >"$tmp/ldd" 2>&1 || true
for soname in $(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }'); do
  path=$(awk -v so="$soname" '$1 == so && $2 == "=>" { print $3 }' "$tmp/ldd")
  [ -n "$path" ] || { fail "$soname: not resolved by ldd"; continue; }
  # Debian 12 is merged-/usr: dpkg may know the file under /lib or under /usr/lib.
  alias=$(echo "$path" | sed -E 's#^/usr/lib/#/lib/#; t; s#^/lib/#/usr/lib/#')
  owner=$({ dpkg -S "$path" || dpkg -S "$alias"; } 2>/dev/null | head -1)
  [ -n "$owner" ] || { fail "$soname ($path) belongs to no package"; continue; }
  pkg=${owner%%:*}
  if grep -qx "$pkg" "$tmp/declared"; then ok "$soname <- $pkg (declared)"
  else fail "$soname comes from $pkg, which Depends does not name"; fi
done

# The packaged binary runs from a scratch root.
dpkg -x "$deb" "$tmp/root"
root=$tmp/root
if out=$("$root/usr/bin/dlrd" version 2>&1) && echo "$out" | grep -qF "$version"; then
  ok "dlrd version: $out"
else
  echo "$out"; fail "dlrd version did not print $version"
fi
for config in "$root/etc/dlrd/dlrd.yaml" "$root/usr/share/doc/dlrd/dlrd.reference.yaml"; do
  if out=$(DLRD_DATABASE_URL=postgresql://dlrd@localhost/dlrd "$root/usr/bin/dlrd" check-config --config "$config" 2>&1); then
    ok "dlrd check-config ${config#"$root"}"
  else
    echo "$out"; fail "dlrd check-config ${config#"$root"}"
  fi
done

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all package checks passed"
