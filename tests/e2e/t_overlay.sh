# The overlay driver (issue 27) on three hosts (netns-fixtures/overlay.sh: one etcd member, network
# namespace, mount namespace, state root and cgroup parent per host, lease TTL 3 s): create needs
# the cluster settings and is seen on every host; cross-host ping for every pair; a container of
# `run -d` on h1 answers h3 within 100 ms of run returning; 3 hosts x 50 concurrent connects (150
# distinct addresses and MACs, etcd matching every local store); the etcd leader SIGKILLed while
# connects run (all succeed, the member catches up); an agent SIGKILLed (its peers gone from etcd
# and from the other hosts' kernels within TTL + 1 s, back once it restarts); `network rm` refused
# while endpoints exist, then nothing left anywhere. ~20 s.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd/etcdctl not installed"
[ -x "$(dirname "$NETCTL")/netctl-overlay" ] || skip "no netctl-overlay next to $NETCTL"
source "$(dirname "$0")/lib_run.sh"
source "$FIXTURES/etcd.sh"
source "$FIXTURES/overlay.sh"
export NETCTL_OVERLAY_TTL=${NETCTL_OVERLAY_TTL:-3}
TTL=$NETCTL_OVERLAY_TTL
T=$NETCTL_ROOT
P=/netctl/v1/
trap 'overlay_hosts_stop; cleanup_run' EXIT
overlay_hosts_start "$NETCTL_ROOT" 3

nh() { on_host "$1" "$NETCTL" "${@:2}"; }  # nh I ARGS: netctl ARGS on host I
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
vtep() { echo "203.0.113.1$1"; }
# ip_of I SANDBOX NET: the sandbox's IPv4 address on NET (no prefix length).
ip_of() {
  nh "$1" sandbox inspect "$2" |
    jq -r --arg n "$3" '.[0].Endpoints[] | select(.Network == $n) | .IPv4Address | sub("/.*"; "")'
}
# local_eps I NET: "IP MAC" of every endpoint host I's store holds on NET, sorted.
local_eps() {
  nh "$1" network inspect "$2" |
    jq -r '.[0].Containers[] | "\(.IPv4Address | sub("/.*"; "")) \(.MacAddress)"' | sort
}
keys() { etcdctl_ "${2:-1}" get --prefix "$1" --keys-only | grep . || true; }
# kv PREFIX: "KEY VALUE" a line (values are one-line JSON).
kv() { etcdctl_ 1 get --prefix "$1" | paste - - | sed 's/\t/ /' || true; }
# host_id I: host I's id in the cluster, as its peer records name it.
host_id() {
  kv "${P}peers/" | cut -d' ' -f2- | jq -r --arg v "$(vtep "$1")" 'select(.vtep == $v) | .host' |
    sort -u
}
# remote_entries I NET_ID VTEP: on host I's VXLAN device of network NET_ID, the FDB entries that
# point at VTEP ("fdb MAC") and every neighbour entry ("neigh IP MAC"), one a line.
remote_entries() {
  local dev=nx${2:0:12}
  on_host "$1" bridge fdb show dev "$dev" | awk -v v="$3" '$2 == "dst" && $3 == v {print "fdb", $1}'
  on_host "$1" ip neigh show dev "$dev" | awk '$2 == "lladdr" {print "neigh", $1, $3}'
}

# --- Configuration: overlay needs cluster-store and cluster-advertise; the network is global.
err=$(stderr_of 2 on_host 1 env -u NETCTL_CLUSTER_STORE "$NETCTL" network create -d overlay \
  --subnet 10.77.9.0/24 nocl)
[ "$(grep -c . <<<"$err")" = 1 ] && grep cluster-store <<<"$err" >/dev/null ||
  fail "overlay without cluster-store: '$err'"
expect_rc 2 on_host 1 env -u NETCTL_CLUSTER_ADVERTISE "$NETCTL" network create -d overlay \
  --subnet 10.77.9.0/24 nocl
[ -z "$(keys "$P")" ] || fail "a refused create wrote to etcd: $(keys "$P")"
nh 1 network ls | grep -w nocl >/dev/null && fail "a refused create left a record"
id1=$(stdout_of 0 nh 1 network create -d overlay --subnet 10.77.0.0/24 -o vni=7700 ov1)
[[ "$id1" =~ ^[0-9a-f]{64}$ ]] || fail "create printed '$id1'"
id2=$(stdout_of 0 nh 2 network create -d overlay --subnet 10.77.1.0/24 --gateway 10.77.1.254 ov2)
for h in 1 2 3; do
  nh "$h" network ls | grep -E "^${id1:0:12} +ov1 +overlay " >/dev/null ||
    fail "ls on h$h: $(nh "$h" network ls)"
  out=$(nh "$h" network inspect ov1 ov2 | jq -c '.[] | [.Name, .Id, .Driver,
    .IPAM.Config[0].Subnet, .IPAM.Config[0].Gateway, .Options.vni]')
  w1="[\"ov1\",\"$id1\",\"overlay\",\"10.77.0.0/24\",\"10.77.0.1\",\"7700\"]"
  w2="[\"ov2\",\"$id2\",\"overlay\",\"10.77.1.0/24\",\"10.77.1.254\"]"
  [ "$(sed -n 1p <<<"$out")" = "$w1" ] || fail "inspect ov1 on h$h: $out"
  [ "$(sed -n 2p <<<"$out" | jq -c '.[:5]')" = "$w2" ] || fail "inspect ov2 on h$h: $out"
  vni2=$(sed -n 2p <<<"$out" | jq -r '.[5]')
  [ "$vni2" -ge 4096 ] && [ "$vni2" -le 16777215 ] || fail "ov2's picked VNI $vni2"
done
expect_rc 4 nh 2 network create -d overlay --subnet 10.77.0.0/24 -o vni=7700 ov1
expect_rc 4 nh 3 network create -d overlay --subnet 10.77.5.0/24 -o vni=7700 ov5
[ -z "$(keys "${P}networks/ov5")" ] || fail "a refused claim left networks/ov5"
echo "ok - overlay create: cluster settings required, seen on every host, name and VNI claimed once"

# sandbox_on I NAME NET: a sandbox on host I connected to NET; its address in addr[I].
declare -A addr
sandbox_on() {
  nh "$1" sandbox create "$2" >/dev/null
  nh "$1" network connect "$3" "$2"
  addr[$1]=$(ip_of "$1" "$2" "$3")
  [[ "${addr[$1]}" =~ ^10\.77\.[0-9]+\.[0-9]+$ ]] || fail "$2's address '${addr[$1]}'"
}

# --- A container run -d on h1 (its first endpoint there: h1 has no record of ov1 yet) answers a
# ping from h3 within 100 ms of run returning. The pinger starts in p3 beforehand and waits on a
# FIFO; it then sends an echo request every 5 ms and prints when (ns since the epoch) the first
# reply came.
sandbox_on 3 p3 ov1
cat >"$T/pinger.py" <<'EOF'
import os, select, socket, struct, sys, time
ip, fifo, ready = sys.argv[1:4]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF
def packet(seq):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    c = sum(struct.unpack("!4H", h)); c = (c & 0xFFFF) + (c >> 16); c = ~(c + (c >> 16)) & 0xFFFF
    return struct.pack("!BBHHH", 8, 0, c, ident, seq)
open(ready, "w").close()
with open(fifo) as f: f.readline()
end = time.time() + 2
seq = 0
while time.time() < end:
    seq += 1
    try: s.sendto(packet(seq), (ip, 0))
    except OSError: pass  # no neighbour yet
    until = time.time() + 0.005
    while (left := until - time.time()) > 0:
        if not select.select([s], [], [], left)[0]: break
        data, src = s.recvfrom(2048)
        icmp = data[(data[0] & 0x0F) * 4:]
        if src[0] == ip and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
            print(time.time_ns()); sys.exit(0)
sys.exit(1)
EOF
mkfifo "$T/go"
on_host 3 ip netns exec p3 python3 "$T/pinger.py" 10.77.0.250 "$T/go" "$T/ready" >"$T/reply" &
pinger=$!; pids+=("$pinger")
for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
[ -e "$T/ready" ] || fail "the pinger did not start"
nh 1 run -d --name web --network ov1 --ip 10.77.0.250 --rootfs "$ROOTFS" -- /bin/sleep 1000 \
  >/dev/null || fail "run -d --network ov1 on h1 (no endpoint of ov1 there yet)"
t_ret=$(date +%s%N)
timeout 5 sh -c 'echo go >"$1"' sh "$T/go" || fail "the pinger is gone"
wait "$pinger" || fail "h3 got no answer from the container on h1 within 2 s"
lat=$(( ($(cat "$T/reply") - t_ret) / 1000000 ))
[ "$lat" -lt 100 ] || fail "the container on h1 answered h3 $lat ms after run -d returned"
echo "ok - a container run -d on h1 answers h3 $lat ms after run returned (< 100 ms)"

# --- One sandbox per host; cross-host ping for every pair; the devices each host made.
sandbox_on 1 p1 ov1
sandbox_on 2 p2 ov1
for h in 1 2 3; do
  d=$(on_host "$h" ip -d -o link show "nx${id1:0:12}") || fail "no VXLAN device on h$h"
  for w in "mtu 1450" "master nc-${id1:0:12}" "vxlan id 7700" "dstport 4789" nolearning proxy; do
    grep -F " $w " <<<"$d " >/dev/null || fail "h$h's VXLAN device lacks '$w': $d"
  done
  for o in 1 2 3; do
    [ "$h" = "$o" ] && continue
    on_host "$h" ip netns exec "p$h" busybox ping -c1 -W2 "${addr[$o]}" >/dev/null ||
      fail "p$h on h$h cannot reach p$o (${addr[$o]}) on h$o"
  done
done
echo "ok - cross-host ping for every pair; VXLAN device VNI 7700, port 4789, MTU 1450 on every host"

# --- 3 hosts x 50 concurrent connects on ov2: 150 distinct addresses and MACs, and etcd's keys
# match every local store.
connect_many() {  # NET PREFIX COUNT: on every host at once, COUNT sandboxes made and connected
  local h j
  local -a jobs=()
  : >"$T/$2.log"
  for h in 1 2 3; do
    for j in $(seq "$3"); do
      (
        s=$2${h}x$j st=$(date +%s%N) rc=0
        { nh "$h" sandbox create "$s" >/dev/null && nh "$h" network connect "$1" "$s"; } || rc=$?
        echo "$s $rc $(ms_since "$st")" >>"$T/$2.log"
      ) 2>>"$T/$2.err" &
      jobs+=($!)
    done
  done
  for j in "${jobs[@]}"; do wait "$j" || true; done
  [ "$(wc -l <"$T/$2.log")" = $((3 * $3)) ] || fail "$2: $(wc -l <"$T/$2.log") connects ended"
  awk '$2 != 0' "$T/$2.log" | grep . && fail "$2: connects failed: $(head -n 3 "$T/$2.err")"
  echo "info: $2: slowest connect $(sort -k3 -n "$T/$2.log" | tail -n 1 | cut -d' ' -f3) ms"
}
# etcd_matches NET: every host's endpoints on NET are exactly the addresses etcd says it holds,
# each published with its MAC and the host's VTEP; prints the total.
etcd_matches() {
  local h hid
  kv "${P}addrs/$1/" >"$T/addrs"
  kv "${P}peers/$1/" >"$T/peers"
  for h in 1 2 3; do
    local_eps "$h" "$1" >"$T/local$h"
    hid=$(host_id "$h")
    [ "$(grep -c . <<<"$hid")" = 1 ] || fail "host $h's id in its peer records: '$hid'"
    [ "$(awk '{print $1}' "$T/local$h")" = "$(grep -F "{\"host\":\"$hid\"}" "$T/addrs" |
      sed "s|^${P}addrs/$1/||; s| .*||" | sort)" ] || fail "h$h's $1 store and etcd's addrs differ"
    [ "$(cat "$T/local$h")" = "$(cut -d' ' -f2- "$T/peers" | jq -r --arg v "$(vtep "$h")" \
      'select(.vtep == $v) | "\(.ip) \(.mac)"' | sort)" ] ||
      fail "h$h's $1 store and etcd's peers differ"
  done
  [ "$(wc -l <"$T/addrs")" = "$(cat "$T"/local[123] | wc -l)" ] ||
    fail "etcd holds other addresses of $1"
  cat "$T"/local[123] | wc -l
}
start=$(date +%s%N)
connect_many ov2 c 50
echo "info: 150 concurrent connects took $(ms_since "$start") ms"
[ "$(etcd_matches ov2)" = 150 ] || fail "ov2 holds $(cat "$T"/local[123] | wc -l) endpoints"
[ "$(cat "$T"/local[123] | awk '{print $1}' | sort -u | wc -l)" = 150 ] || fail "an address twice"
[ "$(cat "$T"/local[123] | awk '{print $2}' | sort -u | wc -l)" = 150 ] || fail "a MAC twice"
grep -E '^10\.77\.1\.(0|254|255) ' "$T"/local[123] && fail "network, gateway or broadcast given"
n=$(keys "${P}addrs/ov2/" | wc -l)
[ "$n" = 150 ] || fail "etcd holds $n addresses of ov2"
echo "ok - 3 hosts x 50 concurrent connects: 150 distinct addresses and MACs, etcd matches" \
  "each store"

# --- The etcd leader SIGKILLed while 3 x 10 connects run: all succeed; the member catches up.
leader=$(etcd_leader)
connect_many ov2 l 10 &
batch=$!
sleep 0.3
etcd_member_kill "$leader"
at_kill=$(wc -l <"$T/l.log")
wait "$batch" || fail "connects with the leader (member $leader) killed"
[ "$at_kill" -lt 30 ] || fail "the 30 connects were done before the leader was killed"
etcd_member_start "$leader"
other=$(( leader % 3 + 1 ))
want=$(keys "$P" "$other" | wc -l)
local_count() { etcdctl_ "$leader" get --prefix "$P" --keys-only --consistency=s | grep -c .; }
for _ in $(seq 50); do [ "$(local_count)" = "$want" ] && break; sleep 0.1; done
[ "$(local_count)" = "$want" ] ||
  fail "restarted member $leader holds $(local_count) keys, $want elsewhere"
[ "$(etcd_matches ov2)" = 180 ] || fail "ov2 after the leader's loss: want 180 endpoints"
echo "ok - etcd leader (member $leader) SIGKILLed during 30 connects ($at_kill done):" \
  "all succeeded, it caught up"

# --- h2's agent SIGKILLed: its peer records go with its lease, h1 and h3 drop its entries, its
# addresses stay held; a command on h2 starts the agent again and h2 is reachable again.
agent=$(overlay_agent_pid 2)
[ -n "$agent" ] || fail "no overlay agent runs on h2"
hid2=$(host_id 2)
h2_held() { kv "${P}addrs/" | grep -F " {\"host\":\"$hid2\"}" | cut -d' ' -f1 | sort; }
held_before=$(h2_held)
for n in ov1 ov2; do local_eps 2 "$n"; done >"$T/h2eps"
# Before: h1 and h3 have an FDB entry to h2's VTEP and a neighbour entry for each endpoint of h2.
for h in 1 3; do
  { remote_entries "$h" "$id1" "$(vtep 2)"; remote_entries "$h" "$id2" "$(vtep 2)"; } >"$T/before$h"
  while read -r ip mac; do
    grep -x "fdb $mac" "$T/before$h" >/dev/null &&
      grep -x "neigh $ip $mac" "$T/before$h" >/dev/null ||
      fail "h$h lacks the entries of h2's endpoint $ip $mac"
  done <"$T/h2eps"
done
h2_left() {  # what still points at h2: its peer records, the other hosts' entries for it
  kv "${P}peers/" | cut -d' ' -f2- |
    jq -r --arg v "$(vtep 2)" 'select(.vtep == $v) | "peer \(.ip)"'
  for h in 1 3; do
    { remote_entries "$h" "$id1" "$(vtep 2)"; remote_entries "$h" "$id2" "$(vtep 2)"; } |
      awk 'NR == FNR {ip[$1] = 1; next} $1 == "fdb" || ip[$2] {print}' "$T/h2eps" - |
      sed "s/^/h$h /"
  done
}
kill -9 "$agent"
start=$(date +%s%N)
keys_gone="" kernel_gone=""
while [ "$(ms_since "$start")" -lt $(( (TTL + 3) * 1000 )) ]; do
  left=$(h2_left)
  [ -n "$keys_gone" ] || grep '^peer' <<<"$left" >/dev/null || keys_gone=$(ms_since "$start")
  [ -n "$kernel_gone" ] || grep '^h' <<<"$left" >/dev/null || kernel_gone=$(ms_since "$start")
  [ -n "$keys_gone" ] && [ -n "$kernel_gone" ] && break
  sleep 0.1
done
[ -n "$keys_gone" ] && [ "$keys_gone" -le $(( (TTL + 1) * 1000 )) ] ||
  fail "h2's peer records outlived its agent by ${keys_gone:-more than $((TTL + 3)) s} ms"
[ -n "$kernel_gone" ] && [ "$kernel_gone" -le $(( (TTL + 1) * 1000 )) ] ||
  fail "h1/h3 kept h2's entries ${kernel_gone:-more than $((TTL + 3)) s} ms: $(h2_left | head -n 3)"
kv "${P}hosts/" | grep -F "\"$(vtep 2)\"" && fail "h2's host record outlived its lease"
[ "$(h2_held)" = "$held_before" ] || fail "h2's addresses changed with its lease"
# h3's entries on h1 stay.
[ "$(remote_entries 1 "$id2" "$(vtep 3)" | grep -c '^fdb')" -ge 60 ] ||
  fail "h1 lost h3's entries too"
echo "ok - h2's agent SIGKILLed: its peers gone from etcd in $keys_gone ms, from h1 and h3 in" \
  "$kernel_gone ms (TTL $TTL s); its addresses still held"
nh 2 sandbox create q2 >/dev/null
nh 2 network connect ov1 q2
agent2=$(overlay_agent_pid 2)
[ -n "$agent2" ] && [ "$agent2" != "$agent" ] || fail "no new agent on h2 after a connect there"
ok=""
for _ in $(seq 30); do
  on_host 1 ip netns exec p1 busybox ping -c1 -W1 "${addr[2]}" >/dev/null && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "p2 unreachable from h1 after h2's agent restarted"
echo "ok - a command on h2 restarts its agent; p2 is reachable again"

# --- network rm refused while any host has endpoints; clean everywhere after.
err=$(stderr_of 4 nh 3 network rm ov1)
[ "$(grep -c . <<<"$err")" = 1 ] || fail "rm ov1's error: $err"
expect_rc 4 nh 3 network rm ov2
nh 1 rm -f web >/dev/null
for h in 1 2 3; do
  mapfile -t sbs < <(nh "$h" --format json sandbox ls | jq -r '.[].Name')
  [ "${#sbs[@]}" = 0 ] || nh "$h" sandbox rm -f "${sbs[@]}" >/dev/null
done
nh 3 network rm ov1 >/dev/null
nh 1 network rm ov2 >/dev/null
for h in 1 2 3; do
  nh "$h" network ls | grep -E ' ov[12] ' && fail "h$h still lists an overlay network"
  expect_rc 3 nh "$h" network inspect ov1
  links=$(on_host "$h" ip -o link show | grep -oE ' n[cxv][0-9a-f-]{12,13}[:@]' || true)
  [ -z "$links" ] || fail "h$h has links left: $links"
  rules=$({ on_host "$h" nft list ruleset; on_host "$h" iptables-legacy-save; } 2>/dev/null |
    grep -E "nc-(${id1:0:12}|${id2:0:12})" || true)
  [ -z "$rules" ] || fail "h$h has firewall rules of removed networks: $(head -n 2 <<<"$rules")"
  nh "$h" doctor >/dev/null || fail "doctor on h$h: $(nh "$h" doctor 2>&1 | head -n 3)"
done
# Every agent leaves once its host has no overlay endpoint (it checks at least once a second),
# revoking its lease: then etcd holds nothing of netctl's.
agents() { for h in 1 2 3; do [ -z "$(overlay_agent_pid "$h")" ] || echo "h$h"; done; }
for _ in $(seq 30); do [ -z "$(agents)" ] && break; sleep 0.1; done
[ -z "$(agents)" ] || fail "agents still running 3 s after their hosts' last endpoint: $(agents | xargs)"
[ -z "$(keys "$P")" ] || fail "etcd keeps: $(keys "$P" | head -n 5)"
echo "ok - network rm refused while endpoints exist, then nothing left on any host or in etcd, every agent gone"
