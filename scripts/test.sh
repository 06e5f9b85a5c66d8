#!/usr/bin/env bash
# `npm test`: every test of the project on a fresh clone. Installs what is missing,
# checks generated files for drift, runs forge tests and all vitest suites.
set -euo pipefail
cd "$(dirname "$0")/.."
export ZKC_NEED_BROWSER=1
bash scripts/ensure-deps.sh
bash scripts/services.sh

echo "[test] forge (contracts, gas snapshot, ABI drift)"
npx forge build
node scripts/gen-abis.mjs --check --no-build
npx forge test
npx forge snapshot --check

echo "[test] web test build (adds the test wallet; kept apart from the production build)"
bash scripts/web-build.sh test

echo "[test] vitest: core, venice-sim, server, web (real browser), in that order"
npx vitest run
