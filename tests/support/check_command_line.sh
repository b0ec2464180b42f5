#!/usr/bin/env bash
# The command line every program shares (common/program/command_line.hpp), checked on one program:
#
#   tests/support/check_command_line.sh PROGRAM OPTION...
#
#   PROGRAM --help              exits 0 and describes every OPTION given (the ones the program has)
#   PROGRAM --no-such-option    exits 2 with "error: " and the option's name on standard error
#
# $POSITIONALS, if set, go before --no-such-option (the arguments a program requires).
set -uo pipefail
program=$1
shift
status=0

help=$("$program" --help 2>&1)
code=$?
if ((code != 0)); then
  echo "FAIL: $program --help exited with $code, not 0"
  status=1
fi
for option in --help "$@"; do
  # An option's line starts with its name (after "-h," for --help).
  if ! grep -qE "^  (-h,)?$option( |,|$)" <<<"$help"; then
    echo "FAIL: $program --help does not describe $option"
    status=1
  fi
done

read -r -a positionals <<<"${POSITIONALS:-}"
error=$("$program" "${positionals[@]}" --no-such-option 2>&1 >/dev/null)
code=$?
if ((code != 2)); then
  echo "FAIL: $program --no-such-option exited with $code, not 2"
  status=1
fi
if ! grep -q "^error: .*--no-such-option" <<<"$error"; then
  echo "FAIL: $program --no-such-option said: $error"
  status=1
fi

if ((status == 0)); then echo "ok: $program --help describes --help $*; a bad option exits 2"; fi
exit $status
