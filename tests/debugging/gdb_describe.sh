#!/usr/bin/env bash
# The gdb helper, used as a reader would use it: stop chapter01_tensor where it compares q with the
# golden q, and ask gdb to print q with llama4::gdb_describe (common/tensors/tensor.hpp). The text
# must equal the line the program itself prints for q. A debug build (cmake --preset debug) is
# needed for gdb to see the local variable q.
#
#   tests/debugging/gdb_describe.sh build-debug/bin/chapter01_tensor
#
# Exit status 77 (ctest: skipped) where gdb is not installed (scripts/setup.sh --dev installs it)
# or may not trace programs here.
set -euo pipefail
program=$1
if ! command -v gdb >/dev/null 2>&1; then
  echo "skipped: gdb is not installed (scripts/setup.sh --dev installs it)"
  exit 77
fi

# What the program prints for q: "   q        F32 [24, 64]  [0.4121, -1.203, ...]"
expected=$("$program" | sed -n 's/^   q  *\(F32 .*\)$/\1/p')
if [[ -z $expected ]]; then
  echo "FAIL: $program printed no line for q"
  exit 1
fi

output=$(gdb -batch -nx -ex 'break llama4::compare' -ex run -ex up \
             -ex 'print llama4::gdb_describe(q, "q", 6)' --args "$program" 2>&1 || true)
if grep -q "ptrace: Operation not permitted" <<<"$output"; then
  echo "skipped: gdb may not trace programs on this machine (ptrace is not permitted)"
  exit 77
fi
if grep -qF "\"q  $expected\"" <<<"$output"; then
  grep -F '$1 = ' <<<"$output"
  echo "ok: gdb printed q as the program does"
  exit 0
fi
echo "$output"
echo "FAIL: expected gdb to print \"q  $expected\""
exit 1
