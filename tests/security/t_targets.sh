# netctl's own network namespace (the one holding its bridges) is never an attach target: by pid,
# by /proc path, or as CNI_NETNS. Each is exit 2 (CNI: code 4) with nothing created; a process in
# another namespace still attaches, and a record is always removable.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
NETCTL_CNI=$(dirname "$NETCTL")/netctl-cni

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
veths() { ip -o link show type veth | grep -c . || true; }
before=$(snapshot)

# The script's shell runs in the throwaway host's namespace, netctl's own (pid 1 does not here).
for t in "pid:$$" /proc/self/ns/net "/proc/$$/ns/net"; do
  expect_rc 2 nc_ network connect n1 "$t"
  err=$(stderr_of 2 nc_ network connect n1 "$t")
  [ "$err" = "netctl: target $t is netctl's own network namespace" ] || fail "message for $t: $err"
done
# Also through a bind mount of it, the way a sandbox path looks.
touch /run/netns/hostns && mount --bind /proc/self/ns/net /run/netns/hostns
expect_rc 2 nc_ network connect n1 /run/netns/hostns
umount /run/netns/hostns && rm /run/netns/hostns

# CNI ADD with CNI_NETNS naming it: a CNI error object, code 4 (CNI_NETNS is bad), exit non-zero.
conf='{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni"}'
cni() { # cni CMD NETNS: netctl-cni with container c1, eth0; prints stdout
  env CNI_COMMAND="$1" CNI_CONTAINERID=c1 CNI_NETNS="$2" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
    "$NETCTL_CNI" <<<"$conf"
}
for ns in /proc/self/ns/net "/proc/$$/ns/net"; do
  rc=0; out=$(cni ADD "$ns") || rc=$?
  [ "$rc" != 0 ] || fail "CNI ADD into $ns succeeded: $out"
  python3 -c '
import json, sys
e = json.loads(sys.argv[1])
assert e["code"] == 4 and "own network namespace" in e["msg"] and e["cniVersion"], e' "$out" ||
    fail "CNI ADD into $ns: $out"
done
[ "$before" = "$(snapshot)" ] || fail "state changed: $(diff <(echo "$before") <(snapshot))"
[ "$(veths)" = 0 ] || fail "veths made: $(ip -o link show type veth)"
nc_ --format json network inspect n1 | python3 -c '
import json,sys; assert json.load(sys.stdin)[0]["Containers"] == {}' || fail "records made"
# DEL of that attachment is not refused (there is nothing to remove).
cni DEL /proc/self/ns/net >/dev/null || fail "CNI DEL refused"
nc_ network disconnect n1 "pid:$$" || fail "disconnect refused"

# A process in a namespace of its own still attaches, by pid (keyed with its start time) and by
# CNI; disconnect and DEL remove both.
unshare -n sleep 600 &
p=$!
for _ in $(seq 50); do
  [ "$(readlink /proc/$p/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.02
done
start=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f20)
nc_ network connect n1 "pid:$p"
nsenter -t "$p" -n ip link show eth0 >/dev/null || fail "pid:$p got no eth0"
nc_ --format json network inspect n1 | python3 -c '
import json,sys; c=json.load(sys.stdin)[0]["Containers"].values()
assert [e["Target"] for e in c] == [sys.argv[1]], list(c)' "pid:$p@$start" || fail "target key"
out=$(cni ADD "/proc/$p/ns/net" 2>&1) && fail "a namespace joins a network once: $out"
nc_ network disconnect n1 "pid:$p"
nsenter -t "$p" -n ip link show eth0 >/dev/null 2>&1 && fail "eth0 left in pid:$p"
out=$(cni ADD "/proc/$p/ns/net") || fail "CNI ADD into another namespace: $out"
nsenter -t "$p" -n ip link show eth0 >/dev/null || fail "CNI ADD made no eth0"
cni DEL "/proc/$p/ns/net" >/dev/null || fail "CNI DEL"
kill "$p"; wait "$p" 2>/dev/null || true
[ "$(veths)" = 0 ] || fail "veths left: $(ip -o link show type veth)"
echo ok
