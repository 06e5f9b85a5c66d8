#!/usr/bin/env bash
# `npm test`: every test of the project on a fresh clone. Installs what is missing,
# checks generated files for drift, runs forge tests and all vitest suites.
set -euo pipefail
cd "$(dirname "$0")/.."
export ZKC_NEED_BROWSER=1
bash scripts/ensure-deps.sh
bash scripts/services.sh

echo "[test] generated files are up to date"
node scripts/gen-constants.mjs --check
node scripts/gen-poseidon2-sol.mjs --check
node scripts/gen-vectors.mjs --check
npx tsx scripts/build-circuits.ts --check

echo "[test] forge"
npx forge build --quiet
node scripts/gen-abis.mjs --check
npx forge test

echo "[test] vitest"
npx vitest run
