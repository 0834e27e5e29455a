#!/usr/bin/env bash
# Makes sure the tests can have a real Prometheus: Debian's `prometheus` package (prometheus and promtool in
# /usr/bin), installed only when missing. The tests start their own on loopback; the package's service is
# stopped and disabled so that nothing else listens on :9090. Where it cannot be installed, the Prometheus tests
# skip with a message saying so.
set -uo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
echo "No prometheus/promtool: installing Debian's prometheus for the tests."
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd="sudo"
fi
lock="-o DPkg::Lock::Timeout=300"
# Debian's package starts its daemon from the maintainer scripts; the tests need none of it.
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo_cmd apt-get $lock update -qq && $sudo_cmd apt-get $lock install -y -qq --no-install-recommends prometheus >/dev/null; }; then
  echo "Could not install prometheus: the tests that need a real Prometheus will be skipped."
  exit 0
fi
if command -v service >/dev/null 2>&1; then
  $sudo_cmd service prometheus stop >/dev/null 2>&1 || true
fi
$sudo_cmd pkill -x prometheus >/dev/null 2>&1 || true
exit 0
