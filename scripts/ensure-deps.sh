#!/usr/bin/env bash
# Installs whatever a fresh clone is missing: npm packages (from the lockfile), the
# native better-sqlite3 build, and Debian's Chromium for browser tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.zkcredits-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "[deps] installing npm packages from package-lock.json"
  # `npm install` (not `npm ci`): it installs the locked versions too, and tolerates the
  # other-platform optional binaries of @foundry-rs/* that this registry does not carry.
  npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# better-sqlite3 lives in the server workspace; load it from there.
if ! (cd packages/server && node -e "require('better-sqlite3')(':memory:').close()") >/dev/null 2>&1; then
  echo "[deps] building better-sqlite3"
  npm rebuild better-sqlite3 --loglevel=error
fi

if [ "${ZKC_NEED_BROWSER:-0}" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  echo "[deps] installing Debian chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
