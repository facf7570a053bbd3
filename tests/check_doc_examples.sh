#!/bin/sh
# Keeps the docs honest. Every ```cpp block in README.md and docs/*.md is either
#  - a complete program (it has "int main"): compiled against the float32 library and run;
#    it must exit 0; or
#  - a fragment: each of its non-blank lines must appear (ignoring indentation) in one
#    source file of the project, so a doc never shows code the project does not have.
# Every ```text block right after a line "<!-- output of build/PROGRAM ARGS -->" is what
# that program prints now (tests/tools/compare_output.h: text exactly, numbers to their
# printed precision; a line "..." stands for any number of lines; a line ending "(measured)"
# holds timings, whose numbers are not compared).
# Every picture in docs/pictures/ is what the program that draws it draws now (the numbered
# programs that include examples/common/pictures.h, run with --pictures), compared the same
# way, and no picture is left that no program draws (except a diagram whose first lines say
# "<!-- drawn by hand -->").
# Every relative link in the docs points to a file that exists, and to a heading in it.
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
  examples/common/*.cpp examples/solutions/*.cpp tests/*.cpp tests/*.h 2>/dev/null)

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

# --- Outputs: each "<!-- output of CMD -->" + ```text block, against what CMD prints now ---
compare="$OUT/compare_output"
if ! $CXX $FLAGS tests/tools/compare_output.cpp -o "$compare" 2> "$OUT/compare_output.log"; then
  cat "$OUT/compare_output.log"; exit 1
fi
outputs=0
for doc in README.md docs/*.md; do
  [ -f "$doc" ] || continue
  awk -v out="$OUT" -v name="$(echo "$doc" | tr '/.' '__')" '
    /^<!-- output of .* -->[ \t]*$/ {
      command = $0; sub(/^<!-- output of /, "", command); sub(/ -->[ \t]*$/, "", command)
      n++; pending = 1; next
    }
    pending && /^```text[ \t]*$/ {
      file = sprintf("%s/output_%s_%02d", out, name, n)
      print command > (file ".command"); close(file ".command")
      printf "" > (file ".expected"); inside = 1; pending = 0; next
    }
    pending && !/^[ \t]*$/ { printf "" > sprintf("%s/output_%s_%02d.orphan", out, name, n); pending = 0 }
    inside && /^```/ { inside = 0; close(file ".expected"); next }
    inside { print >> (file ".expected") }
  ' "$doc"
done
for orphan in "$OUT"/output_*.orphan; do
  [ -f "$orphan" ] || continue
  echo "an \"output of\" line is not followed by a \`\`\`text block ($(basename "$orphan" .orphan))"
  failures=$((failures + 1))
done
for expected in "$OUT"/output_*.expected; do
  [ -f "$expected" ] || continue
  base=${expected%.expected}
  command=$(cat "$base.command")
  outputs=$((outputs + 1))
  if ! sh -c "$command" > "$base.actual" 2> "$base.stderr" < /dev/null; then
    echo "doc output: '$command' exited non-zero:"; cat "$base.stderr"; failures=$((failures + 1))
  elif ! "$compare" "$expected" "$base.actual" > "$base.diff"; then
    echo "doc output: '$command' no longer prints what $(basename "$base") shows:"
    cat "$base.diff"; failures=$((failures + 1))
  fi
done

# --- Pictures: made again into OUT/pictures and compared with docs/pictures ---
mkdir -p "$OUT/pictures"
rm -f "$OUT"/pictures/*
pictures=0
for source in $(grep -l '"examples/common/pictures.h"' examples/[0-9]*.cpp 2>/dev/null); do
  program=build/$(basename "$source" .cpp)
  if ! "$program" --pictures "$OUT/pictures" > /dev/null 2> "$OUT/pictures.log"; then
    echo "pictures: $program --pictures failed:"; cat "$OUT/pictures.log"; failures=$((failures + 1))
  fi
done
for made in "$OUT"/pictures/*.svg; do
  [ -f "$made" ] || continue
  pictures=$((pictures + 1))
  committed=docs/pictures/$(basename "$made")
  if [ ! -f "$committed" ]; then
    echo "pictures: $committed is missing: run \`make pictures\` and commit it"; failures=$((failures + 1))
  elif ! "$compare" "$committed" "$made" > "$OUT/picture.diff"; then
    echo "pictures: $committed is not what its program draws now: run \`make pictures\`"
    head -c 600 "$OUT/picture.diff"; echo; failures=$((failures + 1))
  fi
done
for committed in docs/pictures/*.svg; do
  [ -f "$committed" ] || continue
  # A diagram drawn by hand (the architecture's layers) says so in its first lines.
  head -n 3 "$committed" | grep -q '<!-- drawn by hand' && continue
  if [ ! -f "$OUT/pictures/$(basename "$committed")" ]; then
    echo "pictures: no program draws $committed (make pictures would not make it again)"
    failures=$((failures + 1))
  fi
done

# --- Links: every relative link goes to a file that exists, and to a heading in it ---
# A heading's anchor, as GitHub makes it: lower case, punctuation dropped, spaces to '-'.
anchors() {
  awk '/^```/ { fence = !fence } !fence && /^#+ / {
    h = $0; sub(/^#+ /, "", h); h = tolower(h); gsub(/[^a-z0-9 _-]/, "", h); gsub(/ /, "-", h); print h
  }' "$1"
}
links=0
for doc in README.md docs/*.md; do
  [ -f "$doc" ] || continue
  dir=$(dirname "$doc")
  # Outside code blocks and `inline code`, every ](target).
  for link in $(awk '/^```/ { fence = !fence } !fence' "$doc" | sed 's/`[^`]*`//g' |
                grep -o '\](\([^)]*\))' | sed 's/^](//; s/)$//'); do
    case "$link" in http://*|https://*|mailto:*) continue ;; esac
    links=$((links + 1))
    file=${link%%#*}
    anchor=""
    case "$link" in *#*) anchor=${link#*#} ;; esac
    target=$doc
    [ -n "$file" ] && target=$dir/$file
    if [ ! -e "$target" ]; then
      echo "link: $doc links to $link, but $target does not exist"; failures=$((failures + 1))
    elif [ -n "$anchor" ] && ! anchors "$target" | grep -qxF "$anchor"; then
      echo "link: $doc links to $link, but $target has no heading with that anchor"
      failures=$((failures + 1))
    fi
  done
done

echo "doc outputs: $outputs compared; pictures: $pictures compared; links: $links checked; $failures failures in all"
[ $failures -eq 0 ]
