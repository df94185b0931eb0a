#!/bin/sh
# The Debian package installed into a Debian 12 root, as an admin's dpkg would: dpkg -i in a
# chroot (Depends must be met by what is there; the maintainer scripts run), the dlrd user,
# state directory and file modes the postinst promises, the unit's ExecStartPre and ExecStart
# run as its User with its EnvironmentFile until /healthz answers 200, SIGTERM stops it
# cleanly, a reinstall (the upgrade path) keeps an edited conffile, and a purge removes the
# config but keeps the spool (it may hold acked reports).
# The root is one of:
# - a fresh Debian 12 root, DLRD_TEST_DEBIAN_ROOT (made once by debian_root.sh, minutes of
#   debootstrap; opt-in: skipped (77) without it). It is copied first and never changed.
# - with --host-overlay, this Debian 12 host seen through an overlay whose writable layer is
#   a tmpfs in a private mount namespace: seconds, and nothing reaches the host's files, but
#   not fresh (deb_test.sh checks that Depends covers every library the binary needs);
#   skipped in a sanitized build.
# Both need root privileges (chroot, mount), else the test skips (77).
# Usage: deb_install_test.sh BUILD_DIR [--host-overlay]
set -eu
build=$(cd "$1" && pwd)
overlay=${2:-}
[ "$(id -u)" = 0 ] || { echo "skipped: chroot needs root"; exit 77; }
for tool in cpack curl; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
if [ "$overlay" = --host-overlay ]; then
  grep -q '^VERSION_ID="12"$' /etc/os-release || { echo "skipped: this host is not Debian 12"; exit 77; }
  # The package is made from the normal build; a sanitized one triples the time (cpack
  # compresses a 300 MB binary) for startup paths the e2e tests already run under ASan.
  if grep -Eq '^DLRD_SANITIZE:[A-Z]*=.+' "$build/CMakeCache.txt"; then
    echo "skipped: a sanitized build (the package is made from the normal one)"; exit 77
  fi
  if [ -z "${DLRD_DEB_TEST_MOUNT_NS:-}" ]; then  # mounts made in here vanish when the test ends
    # A container without CAP_SYS_ADMIN cannot make a mount namespace: skip, not fail.
    unshare --mount --propagation private true 2>/dev/null || { echo "skipped: cannot make a mount namespace here"; exit 77; }
    DLRD_DEB_TEST_MOUNT_NS=1 exec unshare --mount --propagation private sh "$0" "$@"
  fi
else
  fresh=${DLRD_TEST_DEBIAN_ROOT:-}
  if [ -z "$fresh" ]; then
    echo "skipped: DLRD_TEST_DEBIAN_ROOT is not set (make a root with tests/packaging/debian_root.sh)"
    exit 77
  fi
  [ -x "$fresh/usr/bin/dpkg" ] || { echo "FAIL: $fresh is not a Debian root"; exit 1; }
fi
tmp=$(mktemp -d)
root=$tmp/root
server=
# --one-file-system: never through a root still mounted over the host's files.
trap '[ -z "$server" ] || kill -9 "$server" 2>/dev/null
      umount -R "$root" "$tmp/layer" 2>/dev/null || true; rm -rf --one-file-system "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/out/dlrd_*.deb)
if [ "$overlay" = --host-overlay ]; then
  mkdir "$tmp/layer" "$root"
  mount -t tmpfs tmpfs "$tmp/layer" && mkdir "$tmp/layer/upper" "$tmp/layer/work" \
    && mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/layer/upper,workdir=$tmp/layer/work" "$root" \
    && mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" \
    || { echo "skipped: cannot mount an overlay of / here"; exit 77; }
  ok "root: this host through an overlay"
else
  cp -a "$fresh" "$root"
fi
grep -q '^VERSION_ID="12"$' "$root/etc/os-release" && ok "root: $(sed -n 's/^PRETTY_NAME=//p' "$root/etc/os-release")" \
  || fail "the root is not Debian 12"
cp "$deb" "$root/tmp/dlrd.deb"
in_root() { chroot "$root" "$@"; }

# Install: dpkg refuses when a Depends is missing, and the postinst runs in the root.
if in_root dpkg -i /tmp/dlrd.deb >"$tmp/dpkg.log" 2>&1; then ok "dpkg -i $(basename "$deb")"
else cat "$tmp/dpkg.log"; echo "FAIL: dpkg -i"; exit 1; fi
in_root dpkg-query -W -f='${Status}\n' dlrd | grep -qx 'install ok installed' && ok "dlrd is installed" \
  || fail "dpkg-query does not say installed"
in_root getent passwd dlrd | grep -q ':/var/lib/dlrd:' && ok "postinst made the dlrd system user" \
  || fail "no dlrd user with home /var/lib/dlrd"
mode() { in_root stat -c '%a %U:%G' "$1"; }
[ "$(mode /var/lib/dlrd/spool)" = "700 dlrd:dlrd" ] && ok "/var/lib/dlrd/spool is 700 dlrd:dlrd" \
  || fail "/var/lib/dlrd/spool is $(mode /var/lib/dlrd/spool)"
[ "$(mode /etc/dlrd/dlrd.yaml)" = "640 root:dlrd" ] && ok "/etc/dlrd/dlrd.yaml is 640 root:dlrd" \
  || fail "/etc/dlrd/dlrd.yaml is $(mode /etc/dlrd/dlrd.yaml)"
[ "$(mode /etc/default/dlrd)" = "600 root:root" ] && ok "/etc/default/dlrd is 600 root:root" \
  || fail "/etc/default/dlrd is $(mode /etc/default/dlrd)"

# The unit's commands, as systemd would run them: its User, its EnvironmentFile, its command
# lines. The database may be down (dlrd then spools); an ephemeral port, as tests run in parallel.
unit=$(ls "$root"/lib/systemd/system/dlrd.service "$root"/usr/lib/systemd/system/dlrd.service 2>/dev/null | head -1)
user=$(sed -n 's/^User=//p' "$unit")
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$user" = dlrd ] && [ -n "$pre" ] && [ -n "$start" ] && ok "unit: User=$user, ExecStart=$start" \
  || fail "the unit lacks User=dlrd, ExecStartPre= or ExecStart="
sed -i 's/^  port: 8080$/  port: 0/' "$root/etc/dlrd/dlrd.yaml"
echo 'DLRD_DATABASE_URL=postgresql://dlrd@127.0.0.1:1/dlrd' >>"$root/etc/default/dlrd"
as_unit() {  # as_unit COMMAND-LINE: exec it in the root as the unit's user with its environment
  # As systemd does: the EnvironmentFile is read as root, the command runs as User=.
  exec chroot "$root" sh -c 'set -a; . /etc/default/dlrd; set +a; exec "$@"' - \
    setpriv --reuid="$user" --regid="$user" --init-groups $1
}
if out=$( (as_unit "$pre") 2>&1); then ok "ExecStartPre: $out"; else echo "$out"; fail "ExecStartPre: $pre"; fi
(as_unit "$start") >"$tmp/serve.log" 2>&1 &
server=$!  # dlrd itself: chroot, sh and setpriv each exec the next
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.log")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null; then
  ok "ExecStart serves: GET /healthz on 127.0.0.1:$port is 200"
else cat "$tmp/serve.log"; fail "ExecStart did not serve /healthz"; fi
kill -TERM "$server" 2>/dev/null || true
if wait "$server"; then ok "SIGTERM: exit 0"; else fail "SIGTERM: exit $?"; fi
server=

# Upgrade path: the same package again keeps the edited conffile and runs postinst with the
# old version ($2), which would try-restart a running service.
if in_root dpkg -i --force-confold /tmp/dlrd.deb >"$tmp/dpkg2.log" 2>&1 \
   && grep -q '^  port: 0$' "$root/etc/dlrd/dlrd.yaml"; then
  ok "reinstall keeps the edited /etc/dlrd/dlrd.yaml"
else cat "$tmp/dpkg2.log"; fail "reinstall"; fi
if in_root dpkg --purge dlrd >"$tmp/purge.log" 2>&1 && [ ! -e "$root/etc/dlrd/dlrd.yaml" ] \
   && [ ! -e "$root/usr/bin/dlrd" ] && [ -d "$root/var/lib/dlrd/spool" ]; then
  ok "purge removes the binary and config and keeps /var/lib/dlrd/spool"
else cat "$tmp/purge.log"; fail "purge"; fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "the package installs, starts, upgrades and purges in the root"
