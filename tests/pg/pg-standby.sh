#!/usr/bin/env bash
# Stop or start the synchronous standby of pg-up.sh (tests of "standby down").
set -euo pipefail
DIR=${1:?usage: pg-standby.sh DIR stop|start}; BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case ${2:?stop|start} in
  stop) as_pg "$BIN/pg_ctl" -D "$DIR/r" -m fast -w stop >/dev/null ;;
  start) as_pg "$BIN/pg_ctl" -D "$DIR/r" -l "$DIR/r.log" -w -t 60 start >/dev/null ;;
esac
