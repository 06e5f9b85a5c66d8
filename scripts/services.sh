#!/usr/bin/env bash
# (Re)starts the machine services the tests use when they are not answering:
# PostgreSQL on 127.0.0.1:5432 (server store tests). Never assumes earlier state.
set -uo pipefail
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "[services] starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "[services] PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
