#!/usr/bin/env bash
# Stop both nodes of pg-up.sh (whatever state they are in) and delete DIR.
DIR=${1:?usage: pg-down.sh DIR}; BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
for n in p r; do
  [ -f "$DIR/$n/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/$n" -m immediate -w stop >/dev/null 2>&1
done
rm -rf "$DIR"
