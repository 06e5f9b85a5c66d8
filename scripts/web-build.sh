#!/usr/bin/env bash
# Builds the web app when its build is missing or older than its sources.
#   scripts/web-build.sh          production build (.next), served by `npm start`
#   scripts/web-build.sh test     test build (.next-test) with the test wallet, for tests/benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "test" ]; then dir=.next-test; script=build:test; else dir=.next; script=build; fi
marker="packages/web/$dir/BUILD_ID"
if [ -f "$marker" ] && [ -z "$(find packages/web/app packages/web/src packages/web/next.config.mjs packages/core/src packages/attest/src -newer "$marker" -type f -print -quit)" ]; then
  exit 0
fi
echo "[web] building the web app ($script; about a minute on 2 cores)"
NEXT_TELEMETRY_DISABLED=1 NEXT_IGNORE_INCORRECT_LOCKFILE=1 npm run --silent "$script" -w @zkcredits/web
