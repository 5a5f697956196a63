# The CLI round trip of networks: create, inspect (JSON parsed), auto subnet, rm, prune.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"

# A host route that an automatic subnet must avoid.
ip link add hr0 type veth peer name hr1 && ip link set hr0 up
ip route add 172.17.0.0/16 dev hr0

id1=$(nc_ network create --subnet 10.88.0.0/24 n1)
br1="nc-${id1:0:12}"
ip -j addr show dev "$br1" | python3 -c '
import json,sys; l=json.load(sys.stdin)[0]
assert "UP" in l["flags"], l["flags"]
assert any(a["local"]=="10.88.0.1" and a["prefixlen"]==24 for a in l["addr_info"]), l
assert l["mtu"]==1500, l["mtu"]'
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward not on"

nc_ network inspect n1 | python3 -c '
import json,sys; n=json.load(sys.stdin)[0]
assert n["Name"]=="n1" and n["Driver"]=="bridge" and len(n["Id"])==64, n
c=n["IPAM"]["Config"][0]; assert c["Subnet"]=="10.88.0.0/24" and c["Gateway"]=="10.88.0.1", c
assert n["EnableIPv6"] is False and n["Internal"] is False'

nc_ network create n2 >/dev/null
sub2=$(nc_ network inspect n2 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["IPAM"]["Config"][0]["Subnet"])')
[ "$sub2" = 172.18.0.0/16 ] || fail "n2 got $sub2, want 172.18.0.0/16 (172.17/16 is a host route)"

nc_ network create --ipv6 --subnet 10.89.0.0/24 --subnet fd00:89::/64 --gateway fd00:89::fe \
  --ip-range 10.89.0.128/25 --aux-address router=10.89.0.2 -o bridge.name=br-six --mtu 1400 \
  --label team=net six >/dev/null
ip -j addr show dev br-six | python3 -c '
import json,sys; l=json.load(sys.stdin)[0]
assert l["mtu"]==1400, l["mtu"]
addrs={(a["local"],a["prefixlen"]) for a in l["addr_info"]}
assert ("10.89.0.1",24) in addrs and ("fd00:89::fe",64) in addrs, addrs'
nc_ --format json network ls | python3 -c '
import json,sys; ns={n["Name"]:n for n in json.load(sys.stdin)}
assert set(ns)=={"n1","n2","six"}, ns.keys()
s=ns["six"]; assert s["EnableIPv6"] and s["Labels"]=={"team":"net"} and s["Options"]=={"bridge.name":"br-six"}
c=s["IPAM"]["Config"]; assert c[0]["IPRange"]=="10.89.0.128/25" and c[0]["AuxiliaryAddresses"]=={"router":"10.89.0.2"}
assert c[1]["Subnet"]=="fd00:89::/64" and c[1]["Gateway"]=="fd00:89::fe"'

nc_ network rm n1 n2 >/dev/null
nc_ network prune >/dev/null
[ -z "$(ip -o link show | grep -E ': (nc-|br-six)')" ] || fail "bridges left: $(ip -o link show)"
[ "$(nc_ --format json network ls)" = "[]" ] || fail "records left"
echo ok
