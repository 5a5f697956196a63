# netctl-cni: a network defined inline in the conflist (created on first ADD, shown by `netctl
# network ls`, bridge/ipMasq/mtu honoured), a published port (portMappings) reachable from a LAN
# neighbour and gone after DEL, and GC releasing every attachment not in the valid list
# (cni.dev/valid-attachments, and the cni.dev/attachments spelling).
source "$FIXTURES/lib.sh"; source "$FIXTURES/cni/lib.sh"; cni_outside
throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
cni_inside
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; umount -l /var/lib 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
nveths() { ip -o link show type veth | grep -c ': nv' || true; }  # endpoint host ends

cni_conflist web 0.4.0 '"subnet":"10.66.0.0/24","gateway":"10.66.0.1","bridge":"cniweb0","ipMasq":true,"mtu":1400,"icc":true'
ip netns add s1
port='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}'
CAP_ARGS=$port "$CNITOOL" add web /run/netns/s1 c1 >/dev/null || fail "add with a port"
nc_ --format json network ls | python3 -c '
import json,sys; n=[x for x in json.load(sys.stdin) if x["Name"]=="web"]
assert n and n[0]["IPAM"]["Config"][0]["Subnet"]=="10.66.0.0/24" and n[0]["MTU"]==1400, n' ||
  fail "inline network not in netctl network ls"
ip link show cniweb0 | grep 'mtu 1400' >/dev/null || fail "bridge cniweb0 with mtu 1400 missing"
ip netns exec s1 busybox nc -ll -p 80 -e echo hello-cni & pids+=($!)
for _ in $(seq 50); do ip netns exec s1 ss -ltn | grep ':80 ' >/dev/null && break; sleep 0.1; done
got=$(ip netns exec nb busybox nc -w 2 198.51.100.1 8080 </dev/null 2>/dev/null || true)
[ "$got" = hello-cni ] || fail "neighbour -> 198.51.100.1:8080 answered '$got'"
[ "$(fw_port_count 8080)" = 1 ] || fail "no port entry for 8080: $(fw_ports)"
CAP_ARGS=$port "$CNITOOL" check web /run/netns/s1 c1 || fail "check with a port"
# A lost port entry (DNAT rule, map element) is noticed by CHECK.
fw_drop_port 8080
[ "$(fw_port_count 8080)" = 0 ] || fail "port entry not dropped: $(fw_ports)"
err=$(CAP_ARGS=$port "$CNITOOL" check web /run/netns/s1 c1 2>&1) && fail "check missed the lost port entry"
grep -E "firewall rule missing: .*8080" <<<"$err" >/dev/null || fail "check failed otherwise: $err"
nc_ gc >/dev/null  # puts the rule back
CAP_ARGS=$port "$CNITOOL" check web /run/netns/s1 c1 || fail "check after netctl gc"
CAP_ARGS=$port "$CNITOOL" del web /run/netns/s1 c1 || fail "del"
[ "$(fw_port_count 8080)" = 0 ] || fail "port entries left after DEL: $(fw_ports)"
got=$(ip netns exec nb busybox nc -w 1 198.51.100.1 8080 </dev/null 2>/dev/null || true)
[ -z "$got" ] || fail "port still answers after DEL"

# GC (cniVersion 1.1.0, called directly: libcni 1.1.2 has no GC).
gcconf() {  # KEY JSON-LIST
  echo "{\"cniVersion\":\"1.1.0\",\"name\":\"web\",\"type\":\"netctl-cni\",\"$1\":$2}"
}
for i in 2 3 4 5; do  # c5 publishes a port: GC must take its rules too
  ip netns add "s$i"
  cap=""; [ "$i" = 5 ] && cap='{"portMappings":[{"hostPort":8085,"containerPort":80,"protocol":"tcp"}]}'
  CAP_ARGS=$cap "$CNITOOL" add web "/run/netns/s$i" "c$i" >/dev/null || fail "add c$i"
done
[ "$(fw_port_count 8085)" = 1 ] || fail "no port entry for c5: $(fw_ports)"
cni_plugin GC "" "" "" <<<"$(gcconf cni.dev/valid-attachments '[{"containerID":"c2","ifname":"eth0"},{"containerID":"c3","ifname":"eth0"},{"containerID":"c4","ifname":"eth9"}]')" ||
  fail "GC"
names=$(nc_ --format json network inspect web | python3 -c 'import json,sys; print(" ".join(sorted(e["Name"] for e in json.load(sys.stdin)[0]["Containers"].values())))')
[ "$names" = "cni:c2 cni:c3" ] || fail "after GC: '$names', want cni:c2 cni:c3"
ip -n s4 link show eth0 >/dev/null 2>&1 && fail "c4's interface survived GC"
[ "$(fw_port_count 8085)" = 0 ] || fail "c5's port entries survived GC: $(fw_ports)"
[ "$(nveths)" = 2 ] || fail "veths after GC: $(nveths)"
cni_plugin GC "" "" "" <<<"$(gcconf cni.dev/attachments '[{"containerID":"c3","ifname":"eth0"}]')" || fail "GC (attachments)"
names=$(nc_ --format json network inspect web | python3 -c 'import json,sys; print(" ".join(sorted(e["Name"] for e in json.load(sys.stdin)[0]["Containers"].values())))')
[ "$names" = "cni:c3" ] || fail "after second GC: '$names'"
# A freed address is handed out again.
out=$(CNI_ARGS=IP=10.66.0.2 "$CNITOOL" add web /run/netns/s4 c4) || fail "re-add at a GC-released address: $out"
cni_plugin GC "" "" "" <<<"$(gcconf cni.dev/valid-attachments '[]')" || fail "GC all"
[ "$(nveths)" = 0 ] || fail "veths left after GC of all"
drift=$(nc_ doctor 2>&1) || fail "doctor after GC: $drift"
nc_ network rm web >/dev/null
[ -z "$(fw_network_objects)" ] || fail "rules left: $(fw_network_objects)"
echo ok
