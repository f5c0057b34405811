#!/usr/bin/env bash
# The PostgreSQL runs outside CI (issue 11; results in docs/BENCHMARKS.md):
#  1. a front-end killed (-9) in the middle of a 200 MB attachment (CI runs the issue's
#     50 MB): the device resumes through the other one, re-sending at most one piece
#     plus the window;
#  2. primary crash and standby promotion during continuous ingest, and the failover time.
# Usage: tests/pg/pg-soak.sh [BUILD_DIR]   (default: build)
set -euo pipefail
BUILD=${1:-build}
TEMOIN_PG_ATTACHMENT_MB=200 "$BUILD/tests/pg/pg_front_ends_test" \
  --gtest_filter='*FrontEndKilledMidAttachment*'
"$BUILD/tests/pg/pg_failover_bench" --monitors 4 --before 6 --after 8
