#!/usr/bin/env bash
# Runs every t_*.sh scenario of a suite (tests/e2e by default, or DIR: tests/security), each in
# its own throwaway host (netns-fixtures/lib.sh).
# Usage: tests/e2e/run.sh PATH/TO/netctl [DIR]
# The whole suite runs with the firewall backend netctl picks itself (auto: nftables in a throwaway
# host, which has no legacy tables; NETCTL_FIREWALL_BACKEND set beforehand picks another); then the
# firewall scenarios of tests/e2e (FIREWALL_SUITE) run again under the other backend, their names
# suffixed "[iptables]" or "[nftables]". FIREWALL_AGAIN=0 skips that second pass.
# A scenario that cannot run here exits 77 with a "SKIP: reason" line: it is counted apart, never
# as a pass, and under CI (CI=1 or CI=true) any skip fails the run. The run fails if nothing
# passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NETCTL=$(realpath "${1:?usage: run.sh PATH/TO/netctl}")
export FIXTURES=$here/../../netns-fixtures
suite=$(cd "${2:-$here}" && pwd)
# The scenarios whose outcome depends on the firewall (rules read, ports, NAT, isolation, drift).
FIREWALL_SUITE="t_publish t_publish_many t_publish_udp t_publish_sctp t_golden_rules
  t_masquerade_off t_dual_stack t_doctor_gc t_doctor_fresh t_two_roots t_cni_gc_ports
  t_cni_parallel t_no_ipv6 t_gateway t_gateway6 t_run_net t_fw_neighbours t_fw_isolation
  t_fw_nat_priority"
pass=0 failed=0 skipped=0
run_one() { # SCRIPT LABEL
  local t=$1 name=$2 start rc out why
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
}
for t in "$suite"/t_*.sh; do run_one "$t" "$(basename "$t" .sh)"; done
if [ "$suite" = "$here" ] && [ "${FIREWALL_AGAIN:-1}" != 0 ]; then
  other=iptables
  [ "${NETCTL_FIREWALL_BACKEND:-auto}" = iptables ] && other=nftables
  for name in $FIREWALL_SUITE; do
    [ -f "$suite/$name.sh" ] || continue
    NETCTL_FIREWALL_BACKEND=$other run_one "$suite/$name.sh" "$name [$other]"
  done
fi
echo "$(basename "$suite"): $pass passed, $failed failed, $skipped skipped"
case "${CI:-}" in
  1 | true)
    [ "$skipped" = 0 ] || { echo "CI: $skipped skipped scenario(s) fail the run"; exit 1; } ;;
esac
[ "$failed" = 0 ] && [ "$pass" -gt 0 ]
