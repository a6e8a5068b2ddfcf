#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL cluster for the test suite and export its URL as
# DEFI_PERPS_TEST_PG. Meant to be sourced by scripts/test.sh; needs Debian's postgresql package.
# The cluster lives in a private temp dir (DEFI_PERPS_PG_DIR) on a free port (DEFI_PERPS_PG_PORT),
# both chosen here unless given, so it never touches a system database or another run's cluster.
# `scripts/pg.sh stop` stops the cluster named by DEFI_PERPS_PG_DIR and removes its folder.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = stop ]; then
  [ -n "${DEFI_PERPS_PG_DIR:-}" ] && [ -d "$DEFI_PERPS_PG_DIR/data" ] || { return 0 2>/dev/null || exit 0; }
  as_pg "$pg_bin/pg_ctl" -D "$DEFI_PERPS_PG_DIR/data" -m fast stop >/dev/null 2>&1
  rm -rf "$DEFI_PERPS_PG_DIR"
  return 0 2>/dev/null || exit 0
fi
[ -n "$pg_bin" ] || { echo "PostgreSQL not installed; skipping its tests" >&2; return 1 2>/dev/null || exit 1; }
pg_dir=${DEFI_PERPS_PG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/defi-perps-pg.XXXXXX")}
pg_port=${DEFI_PERPS_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$pg_dir" && { [ "$(id -u)" = 0 ] && chown postgres "$pg_dir" || true; }
if [ ! -s "$pg_dir/data/PG_VERSION" ]; then
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null || return 1 2>/dev/null || exit 1
fi
if ! as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1; then
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1" start >/dev/null || return 1 2>/dev/null || exit 1
  export DEFI_PERPS_PG_STARTED=1
fi
export DEFI_PERPS_PG_DIR="$pg_dir" DEFI_PERPS_PG_PORT="$pg_port"
as_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='defi_perps_test'" \
  | grep -q 1 || as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres defi_perps_test
export DEFI_PERPS_TEST_PG="postgresql+psycopg://postgres@127.0.0.1:$pg_port/defi_perps_test"
echo "PostgreSQL for tests: $DEFI_PERPS_TEST_PG" >&2
