#!/usr/bin/env bash
# The bounded stress run of CI (issue 7): crash harness, concurrency harness, then every fuzz
# target for FUZZ_SECONDS each. Needs root (throwaway namespaces) and build/netctl.
# Usage: scripts/stress.sh   env: CRASH_TRIALS (200 random-moment trials, besides the every-step
# sweep), WRITERS (8), OPS (50), FUZZ_SECONDS (25 per target; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
export NETCTL=$PWD/build/netctl FIXTURES=$PWD/netns-fixtures
[ -x "$NETCTL" ] || { echo "stress: build/netctl missing (scripts/build.sh release)" >&2; exit 2; }
start=$(date +%s)
echo "== stress: crash harness"
bash tests/stress/crash.sh "${CRASH_TRIALS:-200}"
echo "== stress: concurrency harness"
bash tests/stress/concurrency.sh "${WRITERS:-8}" "${OPS:-50}"
echo "== stress: doctor and gc over sandboxes, endpoints, IPAM"
bash tests/stress/doctor.sh
fuzz_secs=${FUZZ_SECONDS:-25}
if [ "$fuzz_secs" != 0 ]; then
  echo "== stress: fuzzing, $fuzz_secs s per target"
  scripts/fuzz.sh "$fuzz_secs"
fi
echo "== stress: all passed in $(( $(date +%s) - start )) s"
