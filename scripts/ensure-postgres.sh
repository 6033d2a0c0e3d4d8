#!/usr/bin/env bash
# The storage and sync tests also run on PostgreSQL: make sure it listens and `test` exists.
set -euo pipefail
HOST=127.0.0.1; PORT=5432
listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }
if ! listening; then
  if ls /etc/postgresql >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 1 50); do listening && break; sleep 0.2; done
  fi
fi
if ! listening; then
  echo "PostgreSQL is not listening on $HOST:$PORT and could not be started." >&2
  echo "Install it (apt-get install postgresql) or start it, with trust auth for user postgres." >&2
  exit 1
fi
if command -v psql >/dev/null; then
  if ! psql -h "$HOST" -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
    psql -h "$HOST" -U postgres -d postgres -qc "create database test" \
      || { echo "Could not create the database 'test' as user postgres." >&2; exit 1; }
  fi
else
  echo "psql is missing (apt-get install postgresql-client); assuming database 'test' exists." >&2
fi
