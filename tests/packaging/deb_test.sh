#!/bin/sh
# The Debian package: `cpack -G DEB` builds it from a build tree that has dlrd built, and it
# holds the install layout (copyright, changelog, the man page dlrd generates, /etc/default
# template, Prometheus rules), declares Debian 12 packages covering every library the binary
# needs, restarts the service on upgrade, carries Debian's hardening (RELRO, BIND_NOW, stack
# protector, FORTIFY in optimised builds), passes lintian when it is installed, and its binary
# runs from a scratch root. Usage: deb_test.sh BUILD_DIR SOURCE_DIR
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

# The file list: the layout docs/operations.md documents, and nothing else.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$tmp/files"
unit=$(grep -E '^(/usr)?/lib/systemd/system/dlrd\.service$' "$tmp/files" || true)
[ -n "$unit" ] || fail "no dlrd.service under /lib/systemd/system or /usr/lib/systemd/system"
{
  echo /usr/bin/dlrd
  echo /etc/dlrd/dlrd.yaml
  echo /etc/default/dlrd
  echo "${unit:-/lib/systemd/system/dlrd.service}"
  echo /usr/share/doc/dlrd/README.md
  echo /usr/share/doc/dlrd/copyright
  echo /usr/share/doc/dlrd/changelog.gz
  echo /usr/share/man/man8/dlrd.8.gz
  echo /usr/share/dlrd/prometheus/dlrd.rules.yaml
  echo /usr/share/dlrd/prometheus/README.md
  echo /usr/share/lintian/overrides/dlrd
  echo /usr/share/dlrd/grafana/dlrd.dashboard.json
  echo /usr/share/doc/dlrd/dlrd.minimal.yaml
  echo /usr/share/doc/dlrd/dlrd.reference.yaml
  for f in "$source"/docs/*.md; do echo "/usr/share/doc/dlrd/docs/$(basename "$f")"; done
  for f in "$source"/sql/*.sql; do echo "/usr/share/dlrd/sql/$(basename "$f")"; done
  for f in "$source"/sql/functions/*.sql; do echo "/usr/share/dlrd/sql/functions/$(basename "$f")"; done
} | sort >"$tmp/expected"
if diff -u "$tmp/expected" "$tmp/files" >"$tmp/files.diff"; then
  ok "files: $(tr '\n' ' ' <"$tmp/files")"
else
  cat "$tmp/files.diff"; fail "file list differs from the documented layout (- expected, + packaged)"
fi

# Control files: the config is a conffile; postinst creates the system user and state dir.
dpkg-deb -e "$deb" "$tmp/control"
for conffile in /etc/dlrd/dlrd.yaml /etc/default/dlrd; do
  if grep -qx "$conffile" "$tmp/control/conffiles"; then ok "conffiles: $conffile"
  else fail "$conffile is not a conffile"; fi
done
if grep -q 'try-restart dlrd.service' "$tmp/control/postinst"; then ok "postinst restarts a running dlrd on upgrade"
else fail "postinst does not try-restart dlrd.service on upgrade"; fi
default_mode=$(dpkg-deb -c "$deb" | awk '$6 == "./etc/default/dlrd" { print $1 }')
[ "$default_mode" = "-rw-------" ] && ok "/etc/default/dlrd is root-only ($default_mode)" \
  || fail "/etc/default/dlrd mode is $default_mode, not -rw-------"
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

# Debian documentation: copyright names the license, the changelog's version is the package's,
# the man page is dlrd's own help as roff and documents every command.
grep -q '^License: Apache-2.0$' "$root/usr/share/doc/dlrd/copyright" && cmp -s "$source/LICENSE" /usr/share/common-licenses/Apache-2.0 \
  && ok "copyright: Apache-2.0, LICENSE is its text" || fail "copyright or LICENSE do not state Apache-2.0"
changelog_version=$(gzip -dc "$root/usr/share/doc/dlrd/changelog.gz" | sed -n '1s/^dlrd (\([^)]*\)).*/\1/p')
[ "$changelog_version" = "$version" ] && ok "changelog.gz: dlrd ($version)" \
  || fail "changelog.gz's first entry is '$changelog_version', the package is $version"
gzip -dc "$root/usr/share/man/man8/dlrd.8.gz" >"$tmp/dlrd.8"
"$root/usr/bin/dlrd" help --man >"$tmp/dlrd.8.expected" 2>&1 || true
if head -1 "$tmp/dlrd.8" | grep -q '^\.TH DLRD 8 ' && cmp -s "$tmp/dlrd.8" "$tmp/dlrd.8.expected" \
   && grep -q 'check\\-config' "$tmp/dlrd.8"; then
  ok "dlrd.8.gz is \`dlrd help --man\`"
else fail "dlrd.8.gz is not the man page the packaged dlrd prints"; fi
if command -v groff >/dev/null; then
  if warnings=$(groff -man -Tutf8 -ww -z "$tmp/dlrd.8" 2>&1) && [ -z "$warnings" ]; then ok "groff renders dlrd.8 without warnings"
  else echo "$warnings"; fail "groff warns about dlrd.8"; fi
fi

# Hardening (dpkg-buildflags' set): full RELRO and BIND_NOW, the stack protector, and FORTIFY's
# checked calls in an optimised, unsanitized build. hardening-check too (devscripts, a test
# dependency), less control-flow protection: Debian 12's dpkg-buildflags does not add
# -fcf-protection (dpkg 1.22 does), so a package built the Debian 12 way has none either.
packaged=$root/usr/bin/dlrd
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^DLRD_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
if grep -q '^DLRD_HARDENING:BOOL=OFF$' "$build/CMakeCache.txt"; then
  echo "skipped: hardening checks (configured with DLRD_HARDENING=OFF)"
else
readelf -lW "$packaged" | grep -q GNU_RELRO && ok "hardening: RELRO" || fail "hardening: no GNU_RELRO segment"
readelf -dW "$packaged" | grep -Eq 'BIND_NOW|FLAGS_1.*NOW' && ok "hardening: BIND_NOW" || fail "hardening: no BIND_NOW"
readelf -hW "$packaged" | grep -q 'DYN (' && ok "hardening: PIE" || fail "hardening: not a PIE"
readelf -sW --dyn-syms "$packaged" | grep -q '__stack_chk_fail' && ok "hardening: stack protector" \
  || fail "hardening: no __stack_chk_fail (stack protector off)"
if [ "$build_type" != Debug ] && [ -z "$sanitize" ]; then
  readelf -sW --dyn-syms "$packaged" | grep -Eq '__[a-z_]+_chk@' && ok "hardening: FORTIFY (_chk calls)" \
    || fail "hardening: no fortified (_chk) libc calls"
  if command -v hardening-check >/dev/null; then
    if hardening-check --nocfprotection "$packaged"; then ok "hardening-check"; else fail "hardening-check"; fi
  fi
else
  echo "skipped: FORTIFY and hardening-check ($build_type${sanitize:+, $sanitize} build)"
fi
fi

# lintian, when installed: no errors or warnings (overrides, if ever needed, say why).
if command -v lintian >/dev/null; then
  if lintian --fail-on error,warning "$deb" >"$tmp/lintian" 2>&1; then ok "lintian: no errors or warnings"
  else cat "$tmp/lintian"; fail "lintian"; fi
  sed 's/^/  lintian: /' "$tmp/lintian"
else
  echo "skipped: lintian (not installed)"
fi
if out=$("$root/usr/bin/dlrd" version 2>&1) && echo "$out" | grep -qF "$version"; then
  ok "dlrd version: $(echo "$out" | tr '\n' ' ')"
else
  echo "$out"; fail "dlrd version did not print $version"
fi
# jemalloc is the packaged daemon's malloc unless the build is sanitized or opted out; the
# Depends check above already ties libjemalloc.so.2 to a declared package.
if [ -z "$sanitize" ] && ! grep -q '^DLRD_JEMALLOC:BOOL=OFF$' "$build/CMakeCache.txt"; then
  if echo "$out" | grep -q '^allocator: jemalloc '; then ok "dlrd runs on jemalloc"
  else fail "dlrd version does not report jemalloc as its allocator"; fi
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
