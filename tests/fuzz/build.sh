#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/targets.txt) with clang-14, libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/ (TEMOIN_FUZZ=ON, see
# cmake/fuzzing.cmake). Only the libraries the targets use are compiled; no gRPC.
# -O1 with line tables: fast to build, and stack traces still name file and line;
# assertions stay on.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${TEMOIN_FUZZ_BUILD_DIR:-build-fuzz}"
if [[ ! -f "$dir/build.ninja" ]]; then
  launcher=()
  if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  mkdir -p "$dir"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
    -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" -DTEMOIN_FUZZ=ON "${launcher[@]}" \
    > "$dir/cmake.log" 2>&1 || { cat "$dir/cmake.log" >&2; exit 1; }
fi
nice -n 10 ninja -C "$dir" -j"${TEMOIN_JOBS:-2}" fuzz_targets >&2
