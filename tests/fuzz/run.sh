#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [TARGET...]: builds the fuzz targets if needed
# (tests/fuzz/build.sh), then runs each (default: every target of targets.txt) for
# SECONDS under libFuzzer, one after the other. Each starts from its seed corpus in
# tests/fuzz/corpus/<target>/ (seeds and every past finding, which are so replayed
# first) and writes what it learns to build-fuzz/corpus/<target>/, never to the repo.
# Exits non-zero when any target finds a crash, a sanitizer report, a leak, a timeout
# or an out-of-memory; the input is then in build-fuzz/findings/.
# CI runs it for a few seconds per target (tests/fuzz/CMakeLists.txt is not part of the
# normal build; deploy/test.sh calls this script). docs/fuzzing.md has the long runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}"
shift
dir="${TEMOIN_FUZZ_BUILD_DIR:-build-fuzz}"
if (($# > 0)); then targets=("$@"); else mapfile -t targets < tests/fuzz/targets.txt; fi

bash tests/fuzz/build.sh

mkdir -p "$dir/findings" "$dir/logs"
# Leaks count as findings; a slow input (10 s) or 2 GiB of memory is a finding too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for target in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/$target"
  work="$dir/corpus/$target"
  mkdir -p "$work" "$seeds"
  log="$dir/logs/$target.log"
  status=0
  nice -n 10 "$dir/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/findings/$target-" \
    "$work" "$seeds" > "$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if ((status != 0)); then
    failed+=("$target")
    echo "fuzz: $target: FINDING (exit $status), see $log" >&2
    grep -m 20 -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" >&2 || tail -20 "$log" >&2
  else
    echo "fuzz: $target: ${runs:-?} inputs in ${seconds}s, no finding" >&2
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding" >&2
