#!/usr/bin/env bash
# tests/soak/run.sh [BUILD_DIR]: the long runs of issue 12 that do not fit in CI, each a
# CI test run with many more rounds. Prints one line per run (rounds, seconds, exit code)
# and keeps each run's full output in soak-logs/. Exits non-zero if any run failed.
#   1. 1,000 simulated power cuts of the server's store (store_crash_test; CI runs 120).
#   2. 1,000 kill -9 rounds of server and client during sync (kill_nine_test; CI: 100).
# Seeds: TEMOIN_CRASH_SEED and TEMOIN_KILL_SEED replay a run; each test prints its seed.
# Results of both: docs/fuzzing.md, "Soak". The hour of 200 simulated devices is its own
# binary (build/tests/soak/fleet_soak; docs/fuzzing.md, "The fleet hour").
# Run on an otherwise idle machine, niced, e.g.:
#   nohup nice -n 10 bash tests/soak/run.sh > soak.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
rounds="${TEMOIN_SOAK_ROUNDS:-1000}"
mkdir -p soak-logs
failed=0

run() {
  local name="$1"
  shift
  local start=$(date +%s) status=0
  "$@" > "soak-logs/$name.log" 2>&1 || status=$?
  local seconds=$(($(date +%s) - start))
  echo "soak: $name: $rounds rounds, ${seconds} s, exit $status ($(grep -a -m1 -E 'seed' "soak-logs/$name.log" | head -c 200))"
  ((status == 0)) || failed=1
}

TEMOIN_CRASH_ROUNDS="$rounds" run power-cuts \
  "$build/tests/crash/store_crash_test" --gtest_filter='*PowerCuts*'
TEMOIN_KILL_ROUNDS="$rounds" run kill-nine "$build/tests/e2e/kill_nine_test"
exit "$failed"
