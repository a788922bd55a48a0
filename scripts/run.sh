#!/usr/bin/env bash
# Builds the web app (when Node/npm are available), the agent for this machine
# (published in ./agents with its manifest, so the install script works at
# once; SKIP_AGENT_BUILD=1 skips it) and the server, then runs the server on
# its embedded defaults: SQLite in ./data, port 3000.
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

if [ "${SKIP_AGENT_BUILD:-0}" != 1 ]; then
    ./scripts/build-agents.sh
fi

echo "==> building and starting patchmon-server"
exec cargo run --release -q -p patchmon-server -- "$@"
