#!/usr/bin/env bash
# Makes sure the tests can have a PostgreSQL: one answering on 127.0.0.1:5432, or Debian's binaries that the
# test fixtures start in a temporary directory. Installs the `postgresql` package only when neither is there.
set -euo pipefail

if [ -n "${CASELOOP_TEST_PG_URL:-}" ]; then
  exit 0
fi
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  exit 0
fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
echo "No PostgreSQL on 127.0.0.1:5432 and none installed: installing Debian's postgresql for the tests."
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >/dev/null
