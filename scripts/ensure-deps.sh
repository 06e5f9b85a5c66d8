#!/usr/bin/env bash
# Installs whatever a fresh clone is missing: npm packages (from the lockfile), the
# native better-sqlite3 build, and Debian's Chromium for browser tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.zkcredits-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "[deps] installing npm packages from package-lock.json (about 2 minutes on a fresh clone: ~830 packages incl. Foundry, Next.js, bb.js)"
  # `npm install` (not `npm ci`): it installs the locked versions too, and tolerates the
  # other-platform optional binaries of @foundry-rs/* that this registry does not carry.
  # The lockfile lists every platform's optional binaries, so this leaves it unchanged.
  start=$SECONDS
  npm install --no-audit --no-fund --loglevel=error
  echo "[deps] npm packages installed in $((SECONDS - start)) s"
  touch "$stamp"
fi

# better-sqlite3 lives in the server workspace; load it from there.
if ! (cd packages/server && node -e "require('better-sqlite3')(':memory:').close()") >/dev/null 2>&1; then
  echo "[deps] building better-sqlite3 (native SQLite driver; about a minute)"
  npm rebuild better-sqlite3 --loglevel=error
fi

if [ "${ZKC_NEED_BROWSER:-0}" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  echo "[deps] installing Debian chromium for the browser tests (apt; a minute or two)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

# docker/ checks (packages/server/test/docker.e2e.test.ts): Debian's docker-compose renders and
# validates docker/compose.yml, nginx checks and runs the proxy config, promtool checks the alert
# rules. No Docker daemon: --no-install-recommends keeps docker.io out.
if [ "${ZKC_NEED_DOCKER_TOOLS:-0}" = "1" ] && { ! command -v docker-compose >/dev/null 2>&1 || [ ! -x /usr/sbin/nginx ] || ! command -v promtool >/dev/null 2>&1; }; then
  echo "[deps] installing Debian docker-compose, nginx-light and prometheus (promtool)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose nginx-light prometheus openssl >/dev/null
fi

# Client network tests (packages/client/test/network*.test.ts, crs*.test.ts) route through a real
# SOCKS5 server: Debian's microsocks (a tiny daemon, no configuration).
if ! command -v microsocks >/dev/null 2>&1; then
  echo "[deps] installing Debian microsocks (SOCKS5 server for the client's network tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq microsocks >/dev/null
fi

# The CLI's keychain test (packages/cli/test/keychain.test.ts) keeps a vault key in a real Secret
# Service: Debian's gnome-keyring, in its own D-Bus session (dbus-run-session).
if [ ! -x /usr/bin/gnome-keyring-daemon ] || ! command -v dbus-run-session >/dev/null 2>&1; then
  echo "[deps] installing Debian gnome-keyring and dbus (Secret Service for the CLI's keychain test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends gnome-keyring dbus >/dev/null
fi
