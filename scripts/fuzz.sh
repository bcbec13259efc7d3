#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/, Debian's clang) in build-fuzz/ and runs each for
# SECONDS (default 60) over its corpus in tests/fuzz/corpus/<target>/.
#   scripts/fuzz.sh [SECONDS] [--grow]
# make test runs it for a few seconds: new inputs go to a scratch folder and the tree stays
# as it is. With --grow (make fuzz) the inputs that reach new code join the corpus. A crash,
# leak or timeout fails the run; its input is kept in tests/fuzz/corpus/<target>/ so that it
# is tried again on every run from then on.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
GROW=${2:-}
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
CXX=clang++ cmake -S tests/fuzz -B "$BUILD_FUZZ" -G Ninja >/dev/null
ninja -C "$BUILD_FUZZ" >/dev/null
scratch=$(mktemp -d /tmp/berth-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failed=""
for binary in "$BUILD_FUZZ"/fuzz_*; do
  target=${binary##*/fuzz_}
  corpus=tests/fuzz/corpus/$target
  mkdir -p "$corpus" "$scratch/$target"
  first="$scratch/$target"
  [ "$GROW" = --grow ] && first="$corpus"
  if "$binary" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/$target-" -print_final_stats=0 \
      "$first" "$corpus" >"$scratch/$target.log" 2>&1; then
    echo "fuzz $target: $(grep -o 'Done [0-9]* runs' "$scratch/$target.log" | tail -1), no crash"
  else
    failed="$failed $target"
    echo "fuzz $target: FAILED"
    grep -E 'ERROR|SUMMARY|what\(\)|#[0-9]+ .* in (berth|LLVMFuzzer)' "$scratch/$target.log" | head -20
    for artifact in "$scratch/$target"-*; do
      [ -f "$artifact" ] || continue
      cp "$artifact" "$corpus/"
      echo "  input kept as $corpus/${artifact##*/}"
    done
  fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
