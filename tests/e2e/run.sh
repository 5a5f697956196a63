#!/usr/bin/env bash
# Runs every tests/e2e/t_*.sh scenario, each in its own throwaway host (netns-fixtures/lib.sh).
# Usage: tests/e2e/run.sh PATH/TO/netctl
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NETCTL=$(realpath "${1:?usage: run.sh PATH/TO/netctl}")
export FIXTURES=$here/../../netns-fixtures
pass=0 failed=0
for t in "$here"/t_*.sh; do
  name=$(basename "$t" .sh)
  start=$(date +%s%N)
  if out=$(bash "$t" 2>&1); then
    pass=$((pass + 1)); echo "PASS $name ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); echo "FAIL $name"; echo "$out" | tail -n 40 | sed 's/^/    /'
  fi
done
echo "e2e: $pass passed, $failed failed"
[ "$failed" = 0 ] && [ "$pass" -gt 0 ]
