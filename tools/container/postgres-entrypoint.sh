#!/bin/sh
# Make a cluster on first start (user and database from POSTGRES_USER / POSTGRES_DB, more
# initdb options from POSTGRES_INITDB_ARGS, every connection trusted), then run the server in
# the foreground on all interfaces.
set -eu
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, as in the official image
  initdb -D "$PGDATA" -U "$user" --auth=trust -E UTF8 --no-sync ${POSTGRES_INITDB_ARGS:-} >/dev/null
  echo "host all all all trust" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=300 "$@"
