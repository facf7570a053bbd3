#!/bin/sh
# Layers point down: a folder's files may include only the folders below it.
#   autograd/  autograd/ only
#   nn/        autograd/ and nn/ (nn/io/ too)
#   data/      autograd/ and data/
# (examples/ sits above all three; tests/ may include anything.) Reads the `#include "..."`
# lines of every source under the three folders and names each file and include that breaks
# the rule. Usage: sh tests/check_layers.sh [ROOT] (default: the current directory).
set -u
cd "${1:-.}" || exit 2

# check FOLDER ALLOWED...: every quoted include of FOLDER's files must start with an allowed
# folder; prints one line per offending include and returns non-zero if there was any.
check() {
  folder=$1
  shift
  found=0
  for file in $(find "$folder" -name '*.h' -o -name '*.cpp' | sort); do
    includes=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
    for include in $includes; do
      allowed=no
      for prefix in "$@"; do
        case $include in "$prefix"*) allowed=yes ;; esac
      done
      if [ $allowed = no ]; then
        echo "check_layers: $file includes \"$include\": $folder may include only $(echo "$*" | sed 's/ /, /g')"
        found=1
      fi
    done
  done
  return $found
}

status=0
check autograd/ autograd/ || status=1
check nn/ autograd/ nn/ || status=1
check data/ autograd/ data/ || status=1
if [ $status -eq 0 ]; then
  echo "check_layers: autograd/ includes only itself; nn/ and data/ only themselves and autograd/"
fi
exit $status
