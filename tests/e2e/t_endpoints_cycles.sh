# 200 connect/disconnect cycles leave no veth and no allocated address.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ sandbox create s1 >/dev/null
for i in $(seq 200); do
  nc_ network connect n1 s1
  nc_ network disconnect n1 s1
done
[ -z "$(ip -o link show | grep ': nv')" ] || fail "veths left"
[ "$(ip -n s1 -o link show | grep -vc ': lo:')" = 0 ] || fail "interfaces left in s1"
addrs=$(nc_ --format json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["AllocatedAddresses"])')
[ "$addrs" = 0 ] || fail "$addrs addresses still allocated"
echo ok
