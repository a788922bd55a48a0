#!/usr/bin/env bash
# Runs the whole test suite twice: on SQLite (embedded default) and on PostgreSQL.
#
# PostgreSQL: uses $TEST_DATABASE_URL when set; otherwise makes sure a local
# server is installed (apt) and running on 127.0.0.1:5432 with a `patchmon`
# role allowed to create databases, and uses that. Each test gets its own
# throwaway database. Extra arguments are passed to `cargo test` (e.g. a test
# name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '==> %s\n' "$*"; }

ensure_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "installing PostgreSQL (apt)"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        ver=$(ls /etc/postgresql | sort -V | tail -n 1)
        log "starting PostgreSQL $ver"
        $SUDO pg_ctlcluster "$ver" main start || true
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
        pg_isready -h 127.0.0.1 -p 5432
    fi
    if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(sudo -u postgres); fi
    "${as_pg[@]}" psql -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'patchmon') THEN
    CREATE ROLE patchmon LOGIN CREATEDB PASSWORD 'patchmon';
  END IF;
END $$;
SQL
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    ensure_postgres
    PG_URL="postgres://patchmon:patchmon@127.0.0.1:5432/postgres"
else
    PG_URL="$TEST_DATABASE_URL"
fi

log "tests on SQLite"
env -u TEST_DATABASE_URL cargo test --workspace --all-targets "$@"

log "tests on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo test --workspace --all-targets "$@"
