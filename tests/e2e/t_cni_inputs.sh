# netctl-cni inputs that work: runtimeConfig capabilities (ips, mac, aliases), CNI_ARGS (IP=, MAC=,
# IgnoreUnknown=1), unknown configuration keys passing through, and every valid sample conflist in
# netns-fixtures/cni/valid through ADD, CHECK (0.4.0 and later) and DEL.
source "$FIXTURES/lib.sh"; source "$FIXTURES/cni/lib.sh"; cni_outside
throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
cni_inside
trap 'umount -l /var/lib 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
ip netns add s1; ip netns add s2
good='{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","someFutureKey":{"x":1}}'
cni_plugin ADD c1 /run/netns/s1 eth0 <<<"$good" >/dev/null || fail "ADD with an unknown key"
# Capabilities: ips, mac and aliases from runtimeConfig; IP= and MAC= from CNI_ARGS.
caps='{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","runtimeConfig":{"ips":["10.88.0.77/24"],"mac":"02:00:00:aa:bb:cc","aliases":{"n1":["web","www"]}}}'
out=$(cni_plugin ADD c2 /run/netns/s2 eth0 <<<"$caps") || fail "ADD with capabilities: $out"
ip -n s2 -o addr show dev eth0 | grep ' 10.88.0.77/24 ' >/dev/null || fail "runtimeConfig ips not applied"
ip -n s2 link show eth0 | grep 'link/ether 02:00:00:aa:bb:cc' >/dev/null || fail "runtimeConfig mac not applied"
nc_ --format json network inspect n1 | python3 -c '
import json,sys; c=json.load(sys.stdin)[0]["Containers"].values()
assert any(e["Name"]=="cni:c2" and e["Aliases"]==["web","www"] for e in c), list(c)' || fail "aliases not recorded"
ip netns add s3
out=$(CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.88.0.88;MAC=02:00:00:00:00:88' cni_plugin ADD c3 /run/netns/s3 net1 <<<"$good") ||
  fail "ADD with CNI_ARGS: $out"
ip -n s3 -o addr show dev net1 | grep ' 10.88.0.88/24 ' >/dev/null || fail "CNI_ARGS IP= not applied"
ip -n s3 link show net1 | grep 'link/ether 02:00:00:00:00:88' >/dev/null || fail "CNI_ARGS MAC= not applied"
for c in "c1 s1 eth0" "c2 s2 eth0" "c3 s3 net1"; do
  read -r cid ns ifn <<<"$c"
  cni_plugin DEL "$cid" "/run/netns/$ns" "$ifn" <<<"$good" >/dev/null || fail "DEL $cid"
done
[ "$(ip -o link show type veth | grep -c .)" = 0 ] || fail "veths left"

# Every valid sample conflist: its plugin configuration (name and cniVersion from the list, as
# runtimes pass them) serves ADD, CHECK (0.4.0 and later) and DEL.
ip netns add sv
for f in "$FIXTURES"/cni/valid/*.conflist; do
  conf=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); p=l["plugins"][0]; p["name"]=l["name"]; p["cniVersion"]=l["cniVersion"]; print(json.dumps(p))' "$f")
  out=$(cni_plugin ADD cv /run/netns/sv eth0 <<<"$conf") || fail "$(basename "$f"): ADD: $out"
  for a in $(python3 -c 'import json,sys; print(" ".join(i["address"] for i in json.loads(sys.argv[1])["ips"]))' "$out"); do
    ip -n sv -o addr show dev eth0 | grep " $a " >/dev/null || fail "$(basename "$f"): $a missing"
  done
  if [[ "$conf" != *'"cniVersion": "0.3.'* ]]; then
    chk=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$conf" "$out")
    cni_plugin CHECK cv /run/netns/sv eth0 <<<"$chk" >/dev/null || fail "$(basename "$f"): CHECK"
  fi
  cni_plugin DEL cv /run/netns/sv eth0 <<<"$conf" >/dev/null || fail "$(basename "$f"): DEL"
  ip -n sv link show eth0 >/dev/null 2>&1 && fail "$(basename "$f"): eth0 left"
done
echo ok
