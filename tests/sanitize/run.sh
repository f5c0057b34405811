#!/usr/bin/env bash
# Builds the whole project and every test with AddressSanitizer and
# UndefinedBehaviorSanitizer (GCC, Debug -O1) into build-sanitize/ and runs the whole
# ctest suite there, the end-to-end tests included: their real temoin-server and
# temoin children are instrumented too. Every report from any process goes to
# build-sanitize/sanitizer-reports/, and the script fails if one appears, or if a test
# fails. Any undefined behaviour stops the process that has it.
# Not part of CI (hours on two cores); run by hand after deploy/setup.sh:
#   bash tests/sanitize/run.sh [CTEST ARGS...]      e.g.  -R 'vault|server_core'
# tests/asan/run.sh is the shorter AddressSanitizer run of the server side with the
# stream floods; tests/fuzz/run.sh the fuzzers. docs/fuzzing.md has the last result.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=build-sanitize
jobs="${TEMOIN_JOBS:-2}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1"
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >&2
nice -n 10 ninja -C "$dir" -j"$jobs" >&2

reports="$PWD/$dir/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
# Leaks are not checked: gRPC and protobuf keep process-lifetime singletons on purpose
# (the fuzzers, which link neither server nor gRPC, do check leaks).
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
status=0
start=$(date +%s)
ctest --test-dir "$dir" --output-on-failure --timeout 3000 -j1 "$@" || status=$?
echo "sanitize: ctest took $(($(date +%s) - start)) s, exit $status" >&2
if compgen -G "$reports/*" > /dev/null; then
  echo "sanitize: reports found:" >&2
  head -60 "$reports"/* >&2
  exit 1
fi
echo "sanitize: no AddressSanitizer or UndefinedBehaviorSanitizer report" >&2
exit "$status"
