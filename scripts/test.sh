#!/usr/bin/env bash
# Install the project and its toolchain, start PostgreSQL when it can be had, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
npm ci --no-audit --no-fund --loglevel=error

# PostgreSQL from Debian packages, so the PostgreSQL store path is always covered in CI.
if [ -z "${DEFI_PERPS_TEST_PG:-}" ]; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || echo "warning: could not install PostgreSQL; its tests will be skipped" >&2
  fi
  source scripts/pg.sh || true
fi

# Chromium from Debian packages, for the headless-browser check of the audit's report.html
# (tests/report/test_browser.py; skipped with the reason when no browser can be had).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install Chromium; the browser check of the report will be skipped" >&2
fi

# Lint and type-check first: a finding fails the run before the (longer) test suite starts.
python3 -m ruff check defi_perps tests benchmarks
python3 -m mypy defi_perps

export DEFI_PERPS_HOME="${DEFI_PERPS_HOME:-$(mktemp -d)}"
set +e
python3 -m pytest "$@"
rc=$?
set -e
[ -n "${DEFI_PERPS_PG_STARTED:-}" ] && bash scripts/pg.sh stop >/dev/null 2>&1 || true
exit $rc
