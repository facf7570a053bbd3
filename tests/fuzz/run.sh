#!/bin/sh
# Runs each libFuzzer target for SECONDS on its seed corpus (tests/fuzz/corpus/NAME, read
# only) and what earlier runs found (build/fuzz/corpus/NAME, where new inputs go). Prints one
# line a target (executions, coverage, findings), then "fuzz: N targets, N findings"; exits
# non-zero on any finding, whose input is saved in build/fuzz/findings/NAME/ (run the target
# on that file to reproduce it). Usage: tests/fuzz/run.sh SECONDS build/fuzz/fuzz_X ...
set -u
seconds=$1
shift
findings=0 targets=0
for target in "$@"; do
  name=$(basename "$target")
  seeds=tests/fuzz/corpus/$name
  corpus=build/fuzz/corpus/$name
  found=build/fuzz/findings/$name
  log=build/fuzz/$name.log
  mkdir -p "$corpus" "$found"
  dict=
  [ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GB is a leak or a bomb.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$found/" $dict "$corpus" "$seeds" > "$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
  targets=$((targets + 1))
  if [ $status -eq 0 ]; then
    echo "$name: ${runs:-?} runs in ${seconds} s, ${coverage:-no coverage line}, no finding"
  else
    findings=$((findings + 1))
    echo "$name: FINDING after ${runs:-?} runs (exit status $status); the input is in $found/:"
    grep -E 'ERROR|runtime error|fuzz property|Test unit written|SUMMARY' "$log" | head -8
    echo "  (full log: $log)"
  fi
done
echo "fuzz: $targets targets, $findings findings"
[ $findings -eq 0 ]
