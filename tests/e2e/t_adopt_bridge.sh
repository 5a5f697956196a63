# A bridge that existed before (-o com.docker.network.bridge.name=X naming a bridge netctl did not
# make) is adopted as Docker does: netctl adds the gateway address it lacks, containers on it work,
# and it is never deleted: not by network rm, not by a rollback, not by recovery after a kill at
# any step of network create or network rm. What netctl added (the gateway address,
# route_localnet) goes back; what the admin had (an address, the bridge itself) stays.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$NETCTL_ROOT"' EXIT
ip link add br-adm type bridge
ip addr add 10.61.0.254/24 dev br-adm  # the admin's own address
localnet=/proc/sys/net/ipv4/conf/br-adm/route_localnet
# The bridge as the admin left it: its addresses, route_localnet, still there.
pristine() {
  ip link show br-adm >/dev/null 2>&1 || fail "$1: the admin's bridge br-adm is gone"
  local addrs
  addrs=$(ip -o -4 addr show dev br-adm | awk '{print $4}' | tr '\n' ' ')
  [ "$addrs" = "10.61.0.254/24 " ] || fail "$1: br-adm has addresses '$addrs', want the admin's only"
  [ "$(cat "$localnet")" = 0 ] || fail "$1: route_localnet left on"
}
create() { nc_ network create -o com.docker.network.bridge.name=br-adm --subnet 10.61.0.0/24 adm; }

create >/dev/null
ip -o -4 addr show dev br-adm | grep -F 10.61.0.1/24 >/dev/null || fail "no gateway on br-adm"
nc_ sandbox create s1 >/dev/null
nc_ network connect adm s1 >/dev/null
ip netns exec s1 busybox ping -c1 -W2 10.61.0.1 >/dev/null || fail "s1 cannot reach its gateway on br-adm"
nc_ doctor >/dev/null || fail "doctor with an adopted bridge: $(nc_ doctor 2>&1)"
nc_ gc >/dev/null
ip link show br-adm >/dev/null 2>&1 || fail "gc deleted the adopted bridge"
nc_ sandbox rm -f s1 >/dev/null
nc_ network rm adm >/dev/null
pristine "network rm"

# A failure at every step of create rolls back to the pristine bridge.
steps=$(NETCTL_FAIL_TRACE=1 create 2>&1 >/dev/null | grep -c '^netctl: step ')
nc_ network rm adm >/dev/null
[ "$steps" -ge 5 ] || fail "network create took $steps steps, want at least 5"
for k in $(seq "$steps"); do
  rc=0; NETCTL_FAIL_AT=$k create >/dev/null 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "create with step $k failing exited 0"
  nc_ network ls >/dev/null  # recovers what an undo could not finish
  pristine "failure at create step $k"
done
# A kill at every step of create, then of rm: the next command recovers, the bridge stays.
for k in $(seq "$steps"); do
  rc=0; NETCTL_FAIL_AT=$k:kill create >/dev/null 2>&1 || rc=$?
  [ "$rc" = 137 ] || fail "create killed at step $k exited $rc, want 137"
  nc_ network create --subnet 10.62.0.0/24 other >/dev/null  # any write command recovers first
  nc_ network rm other >/dev/null
  pristine "kill at create step $k"
done
create >/dev/null
steps=$(NETCTL_FAIL_TRACE=1 nc_ network rm adm 2>&1 >/dev/null | grep -c '^netctl: step ')
[ "$steps" -ge 3 ] || fail "network rm took $steps steps, want at least 3"
pristine "network rm (traced)"
for k in $(seq "$steps"); do
  create >/dev/null
  rc=0; NETCTL_FAIL_AT=$k:kill nc_ network rm adm >/dev/null 2>&1 || rc=$?
  [ "$rc" = 137 ] || fail "rm killed at step $k exited $rc, want 137"
  nc_ network create --subnet 10.62.0.0/24 other >/dev/null
  nc_ network rm other >/dev/null
  nc_ network rm adm >/dev/null 2>&1 || true  # the rm goes on if the kill came before its commit
  pristine "kill at rm step $k"
done
# A name that exists but is not a bridge is a conflict and changes nothing.
ip link add vx-adm type veth peer name vx-adm-p
rc=0; err=$(nc_ network create -o com.docker.network.bridge.name=vx-adm n2 2>&1) || rc=$?
[ "$rc" = 4 ] || [ "$rc" = 3 ] || fail "a veth named as the bridge: exit $rc ($err)"
grep -F "vx-adm exists and is not a bridge" <<<"$err" >/dev/null || fail "unclear error: $err"
ip link show vx-adm >/dev/null 2>&1 || fail "the veth named as a bridge is gone"
nc_ doctor >/dev/null || fail "drift at the end: $(nc_ doctor 2>&1)"
echo ok
