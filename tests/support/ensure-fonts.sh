#!/usr/bin/env bash
# Makes sure report charts and PDFs can print the registry's Chinese names: Debian's fonts-noto-cjk (and
# poppler-utils, whose pdftoppm renders the report's PDF in tests/reports), installed only when missing. Where they
# cannot be installed, reports name departments by code and the PDF rendering test skips.
set -uo pipefail

missing=()
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  missing+=(fonts-noto-cjk)
fi
if ! command -v pdftoppm >/dev/null 2>&1; then
  missing+=(poppler-utils)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Debian's ${missing[*]} for the report tests."
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd="sudo"
fi
lock="-o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo_cmd apt-get $lock update -qq && $sudo_cmd apt-get $lock install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "Could not install ${missing[*]}: reports will name units by code, and the PDF rendering test will skip."
fi
exit 0
