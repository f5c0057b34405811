#!/usr/bin/env bash
# Runs every test: unit tests beside each component and the end-to-end tests that
# start the real temoin-server on loopback and drive the real temoin binary; then every
# fuzz target for a few seconds (TEMOIN_FUZZ_SECONDS, default 5; 0 skips them), which
# first builds them with clang in build-fuzz/ (tests/fuzz/run.sh, docs/fuzzing.md).
# Run after deploy/setup.sh:  bash deploy/setup.sh && bash deploy/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j2 --timeout 900 "$@"
fuzz_seconds="${TEMOIN_FUZZ_SECONDS:-5}"
if ((fuzz_seconds > 0)); then
  bash tests/fuzz/run.sh "$fuzz_seconds"
fi
