# netctl-cni through libcni's cnitool for every cniVersion it reads (1.0.0, 0.4.0, 0.3.1: ADD,
# CHECK, DEL, results parsed by libcni) and directly for 1.1.0 (libcni 1.1.2 knows no 1.1.0
# result): attachments show in `netctl network inspect`, CHECK notices a broken attachment, DEL is
# idempotent (twice, after the netns is gone, without ADD) and releases the IP.
source "$FIXTURES/lib.sh"; source "$FIXTURES/cni/lib.sh"; cni_outside
throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
cni_inside
trap 'umount -l /var/lib 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
ep_count() { nc_ --format json network inspect n1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Containers"]))'; }
i=0
for v in 1.0.0 0.4.0 0.3.1; do
  i=$((i + 1)); conf=n1-${v//./}; ns=s$i; cid=ctr$i
  cni_conflist "$conf" "$v" '"network":"n1"'
  ip netns add "$ns"
  out=$("$CNITOOL" add "$conf" "/run/netns/$ns" "$cid") || fail "cnitool add ($v): $out"
  read -r got ip < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["cniVersion"], r["ips"][0]["address"])' "$out")
  [ "$got" = "$v" ] || fail "result version $got, want $v"
  [[ "$ip" == 10.88.0.*/24 ]] || fail "address $ip not in 10.88.0.0/24"
  ip -n "$ns" -o addr show dev eth0 | grep " ${ip} " >/dev/null || fail "$ip not on eth0 in $ns"
  ip -n "$ns" route show default | grep "via 10.88.0.1 dev eth0" >/dev/null || fail "no default route in $ns"
  ip netns exec "$ns" busybox ping -c1 -W2 10.88.0.1 >/dev/null || fail "$ns cannot reach the gateway"
  # The attachment is an endpoint of n1 named after the container, interface eth0.
  nc_ --format json network inspect n1 | python3 -c '
import json,sys; c=json.load(sys.stdin)[0]["Containers"].values()
assert any(e["Name"]=="cni:"+sys.argv[1] and e.get("ContainerID")==sys.argv[1] and e["IfName"]=="eth0" and e["IPv4Address"]==sys.argv[2] for e in c), list(c)' "$cid" "$ip" ||
    fail "inspect does not show $cid"
  if [ "$v" = 0.3.1 ]; then
    "$CNITOOL" check "$conf" "/run/netns/$ns" "$cid" 2>/dev/null && fail "libcni ran CHECK for 0.3.1"
  else
    "$CNITOOL" check "$conf" "/run/netns/$ns" "$cid" || fail "check ($v) of a good attachment failed"
    ip -n "$ns" route del default
    err=$("$CNITOOL" check "$conf" "/run/netns/$ns" "$cid" 2>&1) && fail "check ($v) missed the lost route"
    grep -F "no default route via 10.88.0.1" <<<"$err" >/dev/null || fail "check ($v) failed otherwise: $err"
    ip -n "$ns" route add default via 10.88.0.1
    "$CNITOOL" check "$conf" "/run/netns/$ns" "$cid" || fail "check ($v) after repair failed"
  fi
done
[ "$(ep_count)" = 3 ] || fail "$(ep_count) endpoints, want 3"
# DEL: once, again (idempotent); s2's namespace gone before its DEL; a DEL that never had an ADD.
"$CNITOOL" del n1-100 /run/netns/s1 ctr1 || fail "del"
"$CNITOOL" del n1-100 /run/netns/s1 ctr1 || fail "second del"
ip -n s1 link show eth0 >/dev/null 2>&1 && fail "eth0 left in s1"
ip netns del s2
"$CNITOOL" del n1-040 /run/netns/s2 ctr2 || fail "del with the netns gone"
"$CNITOOL" del n1-031 /run/netns/s3 ctr3 || fail "del (0.3.1)"
"$CNITOOL" del n1-031 /run/netns/s3 never-added || fail "del without add"
[ "$(ep_count)" = 0 ] || fail "$(ep_count) endpoints left"
[ "$(ip -o link show type veth | grep -c .)" = 0 ] || fail "veths left: $(ip -o link show type veth)"
alloc() { nc_ --format json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["AllocatedAddresses"])'; }
[ "$(alloc)" = 0 ] || fail "$(alloc) IPAM entries left"

# cniVersion 1.1.0 directly: ADD (result 1.1.0, no "version" in ips), CHECK with prevResult, DEL.
conf11='{"cniVersion":"1.1.0","name":"x","type":"netctl-cni","network":"n1"}'
ip netns add s4
res=$(cni_plugin ADD ctr4 /run/netns/s4 eth0 <<<"$conf11") || fail "ADD 1.1.0: $res"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["cniVersion"]=="1.1.0" and "version" not in r["ips"][0], r' "$res" ||
  fail "1.1.0 result: $res"
# n1 serves DNS: the result names its gateway, where netctl-dns answers.
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["dns"]["nameservers"]==["10.88.0.1"], r' "$res" ||
  fail "1.1.0 result on a DNS network: $res"
chk=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$conf11" "$res")
cni_plugin CHECK ctr4 /run/netns/s4 eth0 <<<"$chk" >/dev/null || fail "CHECK 1.1.0"
bad=$(sed 's/10\.88\.0\.[0-9]*\/24/10.88.0.250\/24/' <<<"$chk")
out=$(cni_plugin CHECK ctr4 /run/netns/s4 eth0 <<<"$bad") && fail "CHECK accepted a wrong prevResult"
cni_plugin DEL ctr4 /run/netns/s4 eth0 <<<"$conf11" >/dev/null || fail "DEL 1.1.0"
out=$(cni_plugin CHECK ctr4 /run/netns/s4 eth0 <<<"$chk") && fail "CHECK after DEL passed"
[ "$(cni_code "$out")" = 3 ] || fail "CHECK after DEL: $out"
# A network the configuration defines with "dnsEnabled": false: no server, no dns in the result.
confq='{"cniVersion":"1.1.0","name":"quiet","type":"netctl-cni","subnet":"10.77.0.0/24","dnsEnabled":false}'
ip netns add s5
res=$(cni_plugin ADD ctr5 /run/netns/s5 eth0 <<<"$confq") || fail "ADD dnsEnabled=false: $res"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert not r.get("dns", {}).get("nameservers"), r' "$res" ||
  fail "a dnsEnabled=false network's result names a DNS server: $res"
ss -lnu | grep -F "10.77.0.1:53" >/dev/null && fail "a DNS server listens on the dnsEnabled=false gateway"
cni_plugin DEL ctr5 /run/netns/s5 eth0 <<<"$confq" >/dev/null || fail "DEL dnsEnabled=false"
ver=$(echo '{"cniVersion":"0.4.0"}' | CNI_COMMAND=VERSION "$NETCTL_CNI")
[ "$ver" = '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' ] || fail "VERSION: $ver"
# STATUS: serving; an unknown network is not.
cni_plugin STATUS "" "" "" <<<"$conf11" || fail "STATUS"
out=$(cni_plugin STATUS "" "" "" <<<'{"cniVersion":"1.1.0","name":"nope","type":"netctl-cni"}') && fail "STATUS of an unknown network"
[ "$(cni_code "$out")" = 50 ] || fail "STATUS unknown network: $out"
# STATUS on a read-only state root: not available (50), and ADD fails without changing anything.
mount --bind "$NETCTL_ROOT" "$NETCTL_ROOT" && mount -o remount,bind,ro "$NETCTL_ROOT"
out=$(cni_plugin STATUS "" "" "" <<<"$conf11") && { umount "$NETCTL_ROOT"; fail "STATUS on a read-only root passed"; }
umount "$NETCTL_ROOT"
[ "$(cni_code "$out")" = 50 ] || fail "STATUS read-only root: $out"
echo ok
