#!/usr/bin/env bash
# Regenerates the seed inputs of tests/fuzz/corpus/<target>/seed-* from real, valid
# inputs made by the real code (each target's --write-seeds mode: a sealed and signed
# record, signed receipts, a sealed bundle, ...). Keys and ids are fixed (FuzzWorld),
# so the seeds stay valid input. Past findings (regress-*) are kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${TEMOIN_FUZZ_BUILD_DIR:-build-fuzz}"
bash tests/fuzz/build.sh
mapfile -t targets < tests/fuzz/targets.txt
for target in "${targets[@]}"; do
  rm -f "tests/fuzz/corpus/$target"/seed-*
  "$dir/tests/fuzz/$target" --write-seeds="tests/fuzz/corpus/$target"
done
