#!/usr/bin/env bash
# Installs the PostgreSQL server binaries (Debian's postgresql package) when
# the tests will need a throwaway cluster and none are on this machine.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ] || [ -n "${PG_BINDIR:-}" ]; then exit 0; fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then exit 0; fi
echo "PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
