#!/usr/bin/env bash
# Installs the Debian 12 packages dlrd builds and tests with (skips apt when all are present).
#   scripts/install-deps.sh [--test]   --test adds what the test suite, the fuzzers, the
#                                      dashboard's browser test (chromium), the promtool
#                                      checks (prometheus: rules and /metrics), the .deb check
#                                      (lintian; hardening-check from devscripts), the Grafana
#                                      dashboard check (jq) and the multi-instance test
#                                      (haproxy) need
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config ccache
      libboost-dev libpqxx-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev
      libssl-dev libsystemd-dev libphonenumber-dev libjemalloc-dev
      postgresql-15 postgresql-client-15 curl)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(libgtest-dev libgmock-dev clang libclang-rt-14-dev chromium prometheus lintian devscripts jq haproxy)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Only promtool is wanted: the package's own Prometheus server is not left running.
  if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  fi
  # The tests start haproxy with configs of their own: the package's service is not left running.
  if printf '%s\n' "${missing[@]}" | grep -qx haproxy && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
  fi
fi
