#!/usr/bin/env bash
# `npm start`: runs the whole system locally (Anvil + contracts, Venice simulator,
# API server, web app) after installing whatever is missing. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec npx tsx scripts/start.ts "$@"
