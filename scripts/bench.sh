#!/usr/bin/env bash
# Report-ingest benchmark on SQLite and PostgreSQL (release build).
# Prints throughput, latency and server RSS per mode; see backend/src/bin/loadgen.rs.
# Usage: scripts/bench.sh [postgres-admin-url]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_ADMIN="${1:-postgres://patchmon:patchmon@127.0.0.1:5432/postgres}"
cargo build --release -q -p patchmon-server --features testkit --bin patchmon-loadgen
cargo build --release -q -p patchmon-server --bin patchmon-server
BIN=target/release
PORT=3911
WORK=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$WORK"' EXIT

run() { # db-url label
    local url=$1
    DATABASE_URL="$url" PORT=$PORT LOG_LEVEL=warn $BIN/patchmon-server >"$WORK/server.log" 2>&1 &
    SRV=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
    echo "== $2: idle RSS $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$SRV/status)"
    for mode in unchanged changed; do
        $BIN/patchmon-loadgen --url "http://127.0.0.1:$PORT" --database-url "$url" --mode $mode \
            --hosts 64 --reports 2000 --concurrency 16 --server-pid $SRV 2>/dev/null
    done
    $BIN/patchmon-loadgen --url "http://127.0.0.1:$PORT" --database-url "$url" --mode new \
        --reports 300 --concurrency 16 --server-pid $SRV 2>/dev/null
    $BIN/patchmon-loadgen --database-url "$url" --mode auth 2>/dev/null
    kill $SRV; wait $SRV 2>/dev/null || true
}

run "sqlite://$WORK/bench.db" sqlite
DB="pmbench_$$"
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
run "${PG_ADMIN%/*}/$DB" postgres
psql "$PG_ADMIN" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null
