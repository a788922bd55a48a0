#!/usr/bin/env bash
# Runs the whole test suite:
#   1. the web app: npm ci, lint, component tests, build (embedded by the server);
#   2. every Rust test twice, on SQLite (embedded default) and on PostgreSQL
#      (this includes the agent's end-to-end tests and the SSO tests against a
#      real OpenID Connect provider from npm);
#   3. the browser end-to-end tests (real server binary, Debian chromium).
#
# Whatever is missing is installed first: PostgreSQL, Redis and Chromium with apt
# (sudo when not root), npm packages with `npm ci`. PostgreSQL: uses
# $TEST_DATABASE_URL when set; otherwise a local server on 127.0.0.1:5432 with
# a `patchmon` role allowed to create databases. Each test gets its own
# throwaway database. Extra arguments are passed to `cargo test` (e.g. a test
# name filter); with arguments, steps 1 and 3 are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '==> %s\n' "$*"; }

apt_install() {
    log "installing $* (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
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

# --- Redis (queue storage and cross-replica delivery tests; issue 6) ---
ensure_redis() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        log "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
        for _ in $(seq 1 30); do
            redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
            sleep 0.2
        done
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
    fi
}
if [ -z "${TEST_REDIS_URL:-}" ]; then
    ensure_redis
    export TEST_REDIS_URL="redis://127.0.0.1:6379"
fi
# --- end Redis ---
# ansible-core (PyPI) for the dynamic-inventory test, in a virtualenv under
# ~/.cache so the system Python stays untouched.
ensure_ansible() {
    local venv="${PATCHMON_ANSIBLE_VENV:-$HOME/.cache/patchmon-test/ansible-venv}"
    if [ ! -x "$venv/bin/ansible-inventory" ]; then
        python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
        log "installing ansible-core (pip, into $venv)"
        "$venv/bin/pip" install -q --disable-pip-version-check ansible-core
    fi
    export PATCHMON_TEST_ANSIBLE_INVENTORY="$venv/bin/ansible-inventory"
}

FULL=1
if [ "$#" -gt 0 ]; then FULL=0; fi

ensure_ansible

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    ensure_postgres
    PG_URL="postgres://patchmon:patchmon@127.0.0.1:5432/postgres"
else
    PG_URL="$TEST_DATABASE_URL"
fi

log "test OpenID Connect provider (npm ci in backend/tests/oidc)"
(cd backend/tests/oidc && npm ci --no-audit --no-fund --loglevel=error)

if [ "$FULL" -eq 1 ]; then
    log "web app: npm ci, lint, component tests, build"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run lint && npm run test && npm run build)
fi

log "Rust tests on SQLite"
env -u TEST_DATABASE_URL cargo test --workspace --all-targets "$@"

log "Rust tests on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo test --workspace --all-targets "$@"
# Test databases are kept while tests run (see backend/src/testkit.rs); drop them now.
if command -v psql >/dev/null 2>&1; then
    { psql "$PG_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'pmtest\_%'" 2>/dev/null || true; } |
        while IFS= read -r db; do
            psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
        done
fi

if [ "$FULL" -eq 1 ]; then
    command -v chromium >/dev/null 2>&1 || apt_install chromium
    log "browser end-to-end tests (real server binary serving the built UI, chromium)"
    cargo build -p patchmon-server --bin patchmon-server -p patchmon-agent --bin patchmon-agent
    (cd frontend && npm run e2e)
fi
