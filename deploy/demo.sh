#!/usr/bin/env bash
# The walk-through: a server on its embedded RocksDB store, an admin, a monitor and a
# reviewer, one synthetic testimony from the field to the reviewer's screen. Then the
# server keeps running (Ctrl-C stops it) so you can try more commands.
#   bash deploy/setup.sh && bash deploy/demo.sh
# Options: DEMO_PORT (default 7443), DEMO_DIR (default ./demo), DEMO_SERVE=0 to stop at
# the end of the walk-through.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/build"
port="${DEMO_PORT:-7443}"
dir="${DEMO_DIR:-$root/demo}"
serve="${DEMO_SERVE:-1}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

[ -x "$bin/client/temoin" ] || { echo "demo: run deploy/setup.sh first" >&2; exit 1; }
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
temoin() { "$bin/client/temoin" "$@"; }
temoin-server() { "$bin/server/temoin-server" "$@"; }
# A demo passphrase for every device. Real devices are asked on their terminal.
export TEMOIN_PASSPHRASE="demo only: use six diceware words"

say "1. The server: keys, a self-signed TLS certificate, a RocksDB store"
run temoin-server init --data server --org "Demo human-rights NGO" --listen "127.0.0.1:$port" > admin.code
echo "first admin's one-time enrolment code: $(cut -c1-40 admin.code)..." >&2
# The binary itself, not the shell function: `fn &` forks a subshell, $! would be the
# subshell's pid, and the trap's kill would leave the server running.
"$bin/server/temoin-server" run --data server 2> server.log &
server_pid=$!
stop_server() {
  kill "$server_pid" 2>/dev/null || return 0
  wait "$server_pid" 2>/dev/null || true  # it finishes calls in flight, then exits
}
trap stop_server EXIT
for _ in $(seq 50); do grep -q event=serving server.log && break; sleep 0.1; done
cat server.log >&2

say "2. The admin enrols: the organisation key is made on the admin's own device"
run temoin --home admin enroll "$(cat admin.code)" > admin.id
run temoin --home admin project create mopti-2026 > /dev/null
run temoin --home admin invite --project mopti-2026 --role monitor > monitor.code
run temoin --home admin invite --project mopti-2026 --role reviewer > reviewer.code

say "3. A monitor and a reviewer enrol with their one-time codes"
run temoin --home monitor enroll "$(cat monitor.code)" > monitor.id
run temoin --home reviewer enroll "$(cat reviewer.code)" > reviewer.id
run temoin --home admin devices >&2

say "4. The monitor records a (synthetic) testimony offline: it is sealed at once"
cat > testimony.json <<'JSON'
{
  "narrative": "SYNTHETIC DEMO. Armed men on motorbikes entered the market at dawn, took three traders and burned two shops.",
  "language": "fr",
  "incident": {"date": "2026-03-14", "region": "mopti", "locality": "Demo village"},
  "acts": [{"type": "abduction", "count": 3}, {"type": "destruction_of_property", "count": 2}],
  "victims": [{"name": "Demo Person One", "sex": "male", "age_group": "adult"}],
  "victim_counts": {"total": 3, "men": 3},
  "perpetrators": ["unidentified_armed_men"],
  "source": {"type": "eyewitness", "anonymous": true},
  "consent": {"informed": true, "share_with_courts": true}
}
JSON
run temoin --home monitor record --project mopti-2026 --from testimony.json > record.id
echo "record id: $(cat record.id)" >&2
run temoin --home monitor status >&2

say "5. A link appears: the monitor syncs and gets a signed receipt; the sealed copy is purged"
run temoin --home monitor sync
run temoin --home monitor status >&2
if grep -rqa "Demo Person One" server monitor reviewer 2>/dev/null; then
  echo "demo: plaintext found on disk: this is a bug" >&2; exit 1
fi
echo "(no testimony text or name on the server's disk or in the monitor's vault)" >&2

say "6. The admin grants the project to the reviewer (keys wrapped to the reviewer's key)"
run temoin --home admin grant --project mopti-2026 --reviewer "$(cat reviewer.id)"

say "7. The reviewer pulls the sealed record and opens it on their own machine"
run temoin --home reviewer sync
run temoin --home reviewer review list >&2
run temoin --home reviewer review show "$(cat record.id)" >&2

say "8. A monitor cannot read records, not even its own"
temoin --home monitor review list || true

say "Done. Everything is under $dir"
if [ "$serve" = 1 ]; then
  echo "The server is still running on 127.0.0.1:$port. Try, in another terminal:" >&2
  echo "  cd $dir && export TEMOIN_PASSPHRASE='$TEMOIN_PASSPHRASE'" >&2
  echo "  $bin/client/temoin --home reviewer review export --format csv --out export.csv" >&2
  echo "Press Ctrl-C to stop the server." >&2
  wait $server_pid
fi
