#!/usr/bin/env bash
# Makes sure the browser test (tests/test_codec_ui.py) has a headless Chromium at /usr/bin/chromium: installs
# Debian's `chromium` (and a font, so that screenshots show text) only when it is missing. Never fails the build:
# when it cannot install, it says so in one line and the test skips itself.
set -uo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
cannot() {
  echo "ensure-chromium: $1; tests/test_codec_ui.py will skip."
  exit 0
}
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || cannot "/usr/bin/chromium is missing and this user cannot install it"
  sudo_cmd=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || cannot "/usr/bin/chromium is missing and there is no apt-get"
echo "ensure-chromium: /usr/bin/chromium is missing: installing Debian's chromium for the browser test."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# Another apt run on the machine may hold the lock for a while: wait for it rather than fail.
apt=("${sudo_cmd[@]}" apt-get -qq -o DPkg::Lock::Timeout=300)
if ! "${apt[@]}" update >"$log" 2>&1 \
  || ! "${apt[@]}" install -y --no-install-recommends chromium fonts-dejavu-core >>"$log" 2>&1; then
  tail -n 5 "$log" >&2
  cannot "apt-get could not install chromium"
fi
[ -x /usr/bin/chromium ] || cannot "chromium is installed but /usr/bin/chromium is missing"
exit 0
