#!/usr/bin/env bash
# Runs every test: unit tests beside each component and the end-to-end tests that
# start the real temoin-server on loopback and drive the real temoin binary.
# Run after deploy/setup.sh:  bash deploy/setup.sh && bash deploy/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j2 --timeout 900 "$@"
