#!/bin/sh
# For authors of the docs: fills every ```text block that follows a line
# "<!-- output of build/PROGRAM ARGS -->" with what that program prints now (stdout only).
# Build first (make, or the float64 build/f64/NAME a block names); then read `git diff`:
# every changed number is a change a reader will see. A block that shows an excerpt (a line
# "...") is left alone: edit it by hand. make test checks all blocks either way.
# Usage: sh tests/update_doc_outputs.sh [FILE.md ...]   (default: README.md docs/*.md)
set -u
[ $# -gt 0 ] || set -- README.md docs/*.md
for doc in "$@"; do
  awk '
    /^<!-- output of .* -->[ \t]*$/ {
      command = $0; sub(/^<!-- output of /, "", command); sub(/ -->[ \t]*$/, "", command)
      print; pending = 1; next
    }
    pending && /^```text[ \t]*$/ {
      print; pending = 0; inside = 1; n = 0; next
    }
    pending && !/^[ \t]*$/ { pending = 0 }
    inside && !/^```/ { kept[++n] = $0; if ($0 ~ /^\.\.\.[ \t]*$/) excerpt = 1; next }
    inside {
      if (excerpt) {
        for (i = 1; i <= n; i++) print kept[i]
      } else {
        run = command " < /dev/null"
        while ((status = (run | getline line)) > 0) print line
        if (status < 0 || close(run) != 0)
          printf "update_doc_outputs: %s failed\n", command > "/dev/stderr"
      }
      inside = 0; excerpt = 0; print; next
    }
    { print }
  ' "$doc" > "$doc.updated" && mv "$doc.updated" "$doc"
done
