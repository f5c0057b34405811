#!/usr/bin/env bash
# Builds the server, the client and the server-side tests with AddressSanitizer into
# build-asan/ and runs them: the server's unit tests, the RPC limits, the role matrix, and
# the stream floods with 100 rounds of issue 16's reproduction (TEMOIN_FLOOD_ROUNDS). The
# real temoin-server runs instrumented as a child of the e2e tests; every ASan report, from
# any process, goes to build-asan/asan-reports/, and the script fails if one appears.
# Not part of CI (about 25 minutes on two cores); run by hand after deploy/setup.sh:
#   bash tests/asan/run.sh
# docs/BENCHMARKS.md ("AddressSanitizer") has the last result.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs="${TEMOIN_JOBS:-2}"
rounds="${TEMOIN_FLOOD_ROUNDS:-100}"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-fsanitize=address -fno-omit-frame-pointer -O1" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >&2
targets=(temoin-server temoin server_core_test sessions_test attachments_test rpc_limits_test
         method_policy_test role_matrix_test stream_flood_test)
ninja -C build-asan -j"$jobs" "${targets[@]}" >&2

reports="$PWD/build-asan/asan-reports"
rm -rf "$reports" && mkdir -p "$reports"
# Leaks are not checked: gRPC and protobuf keep process-lifetime singletons on purpose.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0:abort_on_error=1"
export TEMOIN_FLOOD_ROUNDS="$rounds"
status=0
ctest --test-dir build-asan --output-on-failure --timeout 3000 \
  -R '^(server_core_test|sessions_test|attachments_test|rpc_limits_test|method_policy_test|role_matrix_test|stream_flood_test)$' \
  || status=$?
if compgen -G "$reports/asan*" > /dev/null; then
  echo "asan: reports found:" >&2
  head -50 "$reports"/asan* >&2
  exit 1
fi
echo "asan: no AddressSanitizer report (flood rounds: $rounds); ctest exit $status" >&2
exit "$status"
