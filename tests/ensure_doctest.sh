#!/bin/sh
# Makes sure doctest's header is found: installs Debian's doctest-dev when it can (as root,
# or through sudo without a password), and otherwise prints the exact command and fails.
CXX=${CXX:-g++}
have_doctest() {
  echo '#include <doctest/doctest.h>' | $CXX -x c++ -std=c++17 -fsyntax-only - 2>/dev/null
}
have_doctest && exit 0

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    run_as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run_as_root="sudo -n"
  else
    run_as_root="cannot"
  fi
  if [ "$run_as_root" != cannot ]; then
    echo "doctest's header was not found: installing Debian's doctest-dev"
    $run_as_root apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive $run_as_root apt-get install -y -q doctest-dev
    have_doctest && exit 0
  fi
fi

echo "error: the test framework doctest (header <doctest/doctest.h>) is missing and could not be installed here." >&2
echo "Install it, then run 'make test' again:" >&2
echo "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y doctest-dev" >&2
echo "  macOS:          brew install doctest" >&2
exit 1
