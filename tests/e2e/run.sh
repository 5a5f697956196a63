#!/usr/bin/env bash
# Runs every t_*.sh scenario of a suite (tests/e2e by default, or DIR: tests/security), each in
# its own throwaway host (netns-fixtures/lib.sh).
# Usage: tests/e2e/run.sh PATH/TO/netctl [DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NETCTL=$(realpath "${1:?usage: run.sh PATH/TO/netctl}")
export FIXTURES=$here/../../netns-fixtures
suite=$(cd "${2:-$here}" && pwd)
pass=0 failed=0
for t in "$suite"/t_*.sh; do
  name=$(basename "$t" .sh)
  start=$(date +%s%N)
  if out=$(bash "$t" 2>&1); then
    pass=$((pass + 1)); echo "PASS $name ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); echo "FAIL $name"; echo "$out" | tail -n 40 | sed 's/^/    /'
  fi
done
echo "$(basename "$suite"): $pass passed, $failed failed"
[ "$failed" = 0 ] && [ "$pass" -gt 0 ]
