#!/bin/sh
# Keeps the docs honest. Every ```cpp block in README.md and docs/*.md is either
#  - a complete program (it has "int main"): compiled against the float32 library and run;
#    it must exit 0; or
#  - a fragment: each of its non-blank lines must appear (ignoring indentation) in one
#    source file of the project, so a doc never shows code the project does not have.
# Usage: tests/check_doc_examples.sh CXX "FLAGS" LIBRARY OUTDIR
set -u
CXX=$1 FLAGS=$2 LIB=$3 OUT=$4
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/block_*
failures=0 programs=0 fragments=0

# Split every ```cpp block into OUT/block_<doc>_<n>.cpp.
for doc in README.md docs/*.md; do
  [ -f "$doc" ] || continue
  awk -v out="$OUT" -v name="$(echo "$doc" | tr '/.' '__')" '
    /^```cpp[ \t]*$/ { inside = 1; n++; file = sprintf("%s/block_%s_%02d.cpp", out, name, n); printf "" > file; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { print >> file }
  ' "$doc"
done

strip() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"; }
sources=$(ls autograd/*.h autograd/*.cpp nn/*.h nn/*.cpp nn/io/*.h nn/io/*.cpp data/*.h data/*.cpp \
  examples/*.cpp examples/training/*.h examples/training/*.cpp examples/common/*.h \
  examples/common/*.cpp tests/*.cpp tests/*.h 2>/dev/null)

for block in "$OUT"/block_*.cpp; do
  [ -f "$block" ] || continue
  if grep -q 'int main' "$block"; then
    programs=$((programs + 1))
    if ! $CXX $FLAGS "$block" "$LIB" -o "${block%.cpp}" 2> "${block%.cpp}.log"; then
      echo "doc example $block does not compile:"; cat "${block%.cpp}.log"; failures=$((failures + 1))
    elif ! (cd "$OUT" && "${block%.cpp}" > "${block%.cpp}.out" 2>&1); then
      echo "doc example $block exited non-zero:"; cat "${block%.cpp}.out"; failures=$((failures + 1))
    fi
  else
    fragments=$((fragments + 1))
    strip "$block" > "$block.lines"
    found=no
    for source in $sources; do
      strip "$source" > "$OUT/source.lines"
      if [ -z "$(grep -vxF -f "$OUT/source.lines" "$block.lines")" ]; then found=yes; break; fi
    done
    if [ $found = no ]; then
      echo "doc fragment $block is not in any source file:"; cat "$block"; failures=$((failures + 1))
    fi
  fi
done
echo "doc examples: $programs programs compiled and run, $fragments fragments found in sources, $failures failures"
[ $failures -eq 0 ]
