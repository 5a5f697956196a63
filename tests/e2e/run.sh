#!/usr/bin/env bash
# Runs every t_*.sh scenario of a suite (tests/e2e by default, or DIR: tests/security), each in
# its own throwaway host (netns-fixtures/lib.sh).
# Usage: tests/e2e/run.sh PATH/TO/netctl [DIR]
# A scenario that cannot run here exits 77 with a "SKIP: reason" line: it is counted apart, never
# as a pass, and under CI (CI=1 or CI=true) any skip fails the run. The run fails if nothing
# passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NETCTL=$(realpath "${1:?usage: run.sh PATH/TO/netctl}")
export FIXTURES=$here/../../netns-fixtures
suite=$(cd "${2:-$here}" && pwd)
pass=0 failed=0 skipped=0
for t in "$suite"/t_*.sh; do
  name=$(basename "$t" .sh)
  start=$(date +%s%N)
  rc=0; out=$(bash "$t" 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    pass=$((pass + 1)); echo "PASS $name ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
  elif [ "$rc" = 77 ]; then
    skipped=$((skipped + 1))
    why=$(printf '%s\n' "$out" | sed -n 's/^SKIP: //p' | head -n 1)
    echo "SKIP $name: ${why:-$(printf '%s\n' "$out" | tail -n 1)}"
  else
    failed=$((failed + 1)); echo "FAIL $name (exit $rc)"; echo "$out" | tail -n 40 | sed 's/^/    /'
  fi
done
echo "$(basename "$suite"): $pass passed, $failed failed, $skipped skipped"
case "${CI:-}" in
  1 | true)
    [ "$skipped" = 0 ] || { echo "CI: $skipped skipped scenario(s) fail the run"; exit 1; } ;;
esac
[ "$failed" = 0 ] && [ "$pass" -gt 0 ]
