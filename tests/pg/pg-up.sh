#!/usr/bin/env bash
# Throwaway PostgreSQL 15 primary + synchronous streaming replica on loopback, for tests
# (scale-out.md §8, verified there; trust authentication, 127.0.0.1 only).
# Usage: pg-up.sh DIR [PORT]   -> primary on PORT, replica on PORT+1; prints a conninfo
set -euo pipefail
DIR=${1:?usage: pg-up.sh DIR [PORT]}; PORT=${2:-55432}; RPORT=$((PORT + 1))
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}        # Debian's location; not on PATH
# initdb and postgres refuse to run as root: drop to the 'postgres' user the package creates.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$DIR"; if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
as_pg "$BIN/initdb" -D "$DIR/p" -U temoin --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log"
cat >>"$DIR/p/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = 'ANY 1 (replica1)'
synchronous_commit = on
fsync = off                 # throwaway: what is tested is the standby's ack, not the disk
CONF
as_pg "$BIN/pg_ctl" -D "$DIR/p" -l "$DIR/p.log" -w -t 60 start >/dev/null
as_pg "$BIN/pg_basebackup" -d "host=127.0.0.1 port=$PORT user=temoin application_name=replica1" \
      -D "$DIR/r" -R -X stream -c fast
# Later lines win: the replica listens on its own port and, once promoted, waits for no standby.
printf "port = %s\nsynchronous_standby_names = ''\n" "$RPORT" | as_pg tee -a "$DIR/r/postgresql.conf" >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/r" -l "$DIR/r.log" -w -t 60 start >/dev/null
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U temoin temoin
echo "host=127.0.0.1,127.0.0.1 port=$PORT,$RPORT user=temoin dbname=temoin target_session_attrs=read-write connect_timeout=2"
