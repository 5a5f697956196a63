# Positive ownership of links: a name proves nothing. Interfaces named like netctl's (nvpn0, a user
# bridge nc-mybridge, and exact look-alikes nv<12 hex> and nc-<12 hex>) that this root did not make
# are neither reported by doctor nor deleted by gc; a bridge this root made and no longer records
# (its network's row deleted behind its back) carries the mark, so doctor reports it and gc
# deletes it.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$NETCTL_ROOT"' EXIT
db() { sqlite3 -batch -noheader "$NETCTL_ROOT/netctl.db" "$1"; }
look=(nvpn0 nc-mybridge nv0123456789ab nc-0123456789ab)
ip link add nvpn0 type bridge
ip link add nc-mybridge type bridge
ip link add nv0123456789ab type veth peer name peer-lookalike
ip link add nc-0123456789ab type bridge
nc_ network create --subnet 10.91.0.0/24 keep >/dev/null
nc_ network create --subnet 10.92.0.0/24 lost >/dev/null
nc_ sandbox create s1 >/dev/null
nc_ network connect keep s1 >/dev/null
lost_br=$(db "select json_extract(body,'\$.BridgeName') from networks where name='lost'")
[ -n "$lost_br" ] || fail "no bridge name for network lost"

out=$(nc_ doctor 2>&1) || fail "doctor reports look-alikes as drift: $out"
db "delete from networks where name='lost'"  # the record goes; the marked bridge stays
rc=0; out=$(nc_ doctor 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "doctor exited $rc with a stray bridge of this root's, want 1: $out"
grep -Fx "foreign link: $lost_br" <<<"$out" >/dev/null || fail "doctor misses $lost_br: $out"
for l in "${look[@]}"; do
  grep -F "$l" <<<"$out" >/dev/null && fail "doctor reports $l, which netctl did not make: $out"
done
nc_ gc >/dev/null || fail "gc failed"
ip link show "$lost_br" >/dev/null 2>&1 && fail "gc left this root's stray bridge $lost_br"
for l in "${look[@]}"; do
  ip link show "$l" >/dev/null 2>&1 || fail "gc deleted $l, which netctl did not make"
done
ip link show peer-lookalike >/dev/null 2>&1 || fail "gc deleted the look-alike veth's peer"
nc_ doctor >/dev/null || fail "drift after gc: $(nc_ doctor 2>&1)"
# Removing netctl's own objects leaves the look-alikes too.
nc_ sandbox rm -f s1 >/dev/null
nc_ network rm keep >/dev/null
for l in "${look[@]}"; do ip link show "$l" >/dev/null 2>&1 || fail "rm deleted $l"; done
echo ok
