#!/usr/bin/env bash
# Builds the web app (when Node/npm are available) and the server, then runs
# the server on its embedded defaults: SQLite in ./data, port 3000.
# Extra arguments go to patchmon-server (e.g. `hosts add --name web-01`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f frontend/package.json ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "==> building the web app (frontend/dist)"
        (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
    else
        echo "==> npm not found: the server will run without the web app (install Node.js 20 and npm to include it)"
    fi
fi

echo "==> building and starting patchmon-server"
exec cargo run --release -q -p patchmon-server -- "$@"
