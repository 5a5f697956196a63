#!/usr/bin/env bash
# The bounded stress run of CI (issue 7): crash harness, concurrency and doctor harnesses (each
# under both firewall backends), then every fuzz target for FUZZ_SECONDS each. Needs root
# (throwaway namespaces) and build/netctl.
# Usage: scripts/stress.sh   env: CRASH_TRIALS (80 random-moment trials on nftables, besides the
# every-step sweep), CRASH_TRIALS_IPTABLES (10, then the sweep again, on iptables), WRITERS (8),
# OPS (50; both backends), FUZZ_SECONDS (6 per target; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
export NETCTL=$PWD/build/netctl FIXTURES=$PWD/netns-fixtures
[ -x "$NETCTL" ] || { echo "stress: build/netctl missing (scripts/build.sh release)" >&2; exit 2; }
start=$(date +%s)
echo "== stress: crash harness, nftables backend (the default)"
NETCTL_FIREWALL_BACKEND=nftables bash tests/stress/crash.sh "${CRASH_TRIALS:-80}"
echo "== stress: crash harness, iptables backend"
NETCTL_FIREWALL_BACKEND=iptables bash tests/stress/crash.sh "${CRASH_TRIALS_IPTABLES:-10}"
for backend in nftables iptables; do  # ~15 s and ~1 s each
  echo "== stress: concurrency harness, $backend backend"
  NETCTL_FIREWALL_BACKEND=$backend bash tests/stress/concurrency.sh "${WRITERS:-8}" "${OPS:-50}"
  echo "== stress: doctor and gc over sandboxes, endpoints, IPAM, $backend backend"
  NETCTL_FIREWALL_BACKEND=$backend bash tests/stress/doctor.sh
done
fuzz_secs=${FUZZ_SECONDS:-6}
if [ "$fuzz_secs" != 0 ]; then
  echo "== stress: fuzzing, $fuzz_secs s per target"
  scripts/fuzz.sh "$fuzz_secs"
fi
echo "== stress: all passed in $(( $(date +%s) - start )) s"
