#!/usr/bin/env bash
# `npm test`: every test of the project on a fresh clone. Installs what is missing, checks
# types (tsc -b), unused code and dependencies (knip) and the README's bench numbers,
# checks generated files for drift, runs forge tests and all vitest suites.
set -euo pipefail
cd "$(dirname "$0")/.."
export ZKC_NEED_BROWSER=1
export ZKC_NEED_DOCKER_TOOLS=1
bash scripts/ensure-deps.sh

echo "[test] types: tsc -b over every package, its tests and benchmarks, scripts, bench (about 40 s on 2 cores)"
npx tsc -b
echo "[test] knip: unused files, exports and dependencies; imports a package does not declare (seconds)"
npx knip --no-progress
echo "[test] README.md's numbers quote the last entry of bench/history.jsonl"
npx tsx bench/readme.ts --check

bash scripts/services.sh

echo "[test] forge (contracts, gas snapshot, ABI drift)"
npx forge build
npx tsx scripts/gen-abis.ts --check --no-build
npx forge test | tee .forge-test.log
npx forge snapshot --check

echo "[test] web test build (adds the test wallet; kept apart from the production build)"
bash scripts/web-build.sh test

echo "[test] vitest: core; attest, venice-sim; server; client; cli; web (real browser): groups in that order"
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json

# Installing and building must not rewrite the committed lockfile (npm, or Next patching it for SWC).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- package-lock.json; then
  echo "[test] package-lock.json changed during the run: install and build steps must leave it as committed" >&2
  git --no-pager diff --stat -- package-lock.json >&2
  lock_changed=1
fi

# One closing line for the whole run: forge + vitest.
node -e '
const fs = require("fs");
const v = JSON.parse(fs.readFileSync(".vitest-results.json", "utf8"));
const m = /(\d+) tests passed, (\d+) failed, (\d+) skipped/.exec(fs.readFileSync(".forge-test.log", "utf8"));
const [fp, ff, fs_] = m ? m.slice(1).map(Number) : [0, 0, 0];
console.log(`total: ${v.numPassedTests + fp} passed, ${v.numFailedTests + ff} failed, ${v.numPendingTests + v.numTodoTests + fs_} skipped`);
'
exit "${lock_changed:-0}"
