#!/usr/bin/env bash
# Runs Stepcast's whole test suite on a fresh machine: installs what the tests need (PostgreSQL 15 binaries,
# the Prism mock of LINE's OpenAPI spec), then builds and runs every test project. The tests start their own
# throwaway PostgreSQL server, fake LINE server and Prism mock on loopback, and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")"

pg_bin=/usr/lib/postgresql/15/bin
if [ ! -x "$pg_bin/initdb" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing PostgreSQL 15 (Debian package postgresql-15)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    echo "PostgreSQL 15 is missing: sudo apt-get install postgresql-15" >&2
    exit 1
  fi
fi

echo "== installing the Prism mock server for the LINE contract tests"
npm ci --prefix tests/contract --no-audit --no-fund --loglevel=error >/dev/null
echo "== installing the offline Kubernetes schema validator for the manifest tests"
npm ci --prefix tests/k8s --no-audit --no-fund --loglevel=error >/dev/null

echo "== building and running the tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Orleans.sln --blame-hang-timeout 5m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over test assemblies.
awk '
  /(Passed|Failed)!  - Failed:/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { failed  += $(i + 1) + 0 }
      if ($i == "Passed:")  { passed  += $(i + 1) + 0 }
      if ($i == "Skipped:") { skipped += $(i + 1) + 0 }
    }
  }
  END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }
' "$log"
exit "$status"
