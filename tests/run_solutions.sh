#!/bin/sh
# Runs every solution of the tutorials' exercises (examples/solutions/, built in float64).
# Each checks its own result and exits non-zero when it is wrong; its output is shown then.
# Usage: tests/run_solutions.sh build/f64/solutions/NN_name ...
failures=0
for solution in "$@"; do
  if ! "$solution" > "$solution.out" 2>&1; then
    echo "solution $solution failed:"; cat "$solution.out"; failures=$((failures + 1))
  fi
done
echo "solutions: $# run, $failures failed"
[ $failures -eq 0 ]
