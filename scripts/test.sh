#!/bin/sh
# Runs every test: unit and integration tests (real etcd, real dockerd) in berth_tests,
# then the end-to-end tests of the berth binary.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
./scripts/cleanup-leftovers.sh
"$BUILD/berth_tests" --gtest_brief=1
# Every parser of bytes from outside, fuzzed a few seconds over its corpus (tests/fuzz/).
./scripts/fuzz.sh "${FUZZ_SECONDS:-3}"
if [ -d tests/e2e ] && ls tests/e2e/test_*.py >/dev/null 2>&1; then
  python3 -m unittest discover -s tests/e2e -p 'test_*.py' -v
fi
