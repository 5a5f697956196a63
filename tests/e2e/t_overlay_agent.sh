# The per-host overlay agent (plugins/overlay, netctl-overlay) alone, against a real 3-member etcd
# cluster (netns-fixtures/etcd.sh), without the overlay driver: tests/tools/overlay_local writes
# the local records the driver would (a network of driver "overlay" and its endpoints), makes the
# VXLAN device and starts the agent as commands do (OverlayControl::ensure under the store lock).
# Checks: it starts, registers, writes its lease and republishes the local endpoint; a second
# start exits 0 and ensure() finds the same lease; remote peers (published, or put with etcdctl)
# reach the device's FDB and neighbour table and are acknowledged (wait_acks), each ack within
# 50 ms of its put (the watch stays open); a peer gone with
# its host's lease is removed; a revoked lease is registered again (ensure with the stale lease
# gets the new one) and the endpoint republished; SIGKILL: the host record expires within the TTL,
# and a restart removes a stale entry (full sync); it stays while the store lock is held, leaves
# once the last endpoint is gone (host record revoked, lease file gone); SIGTERM: the same.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$FIXTURES/etcd.sh"
etcd_test_cluster overlay_probe
LOCAL=$(dirname "$NETCTL")/overlay_local AGENT=$(dirname "$NETCTL")/netctl-overlay
[ -x "$LOCAL" ] && [ -x "$AGENT" ] || skip "no overlay_local or netctl-overlay next to $NETCTL"
o() { "$PROBE" "$ETCD_ENDPOINTS" "$@"; }
P=/netctl/v1/
ctl_keys() { etcdctl_ 1 get --prefix "$1" --keys-only | grep . || true; }
ctl_val() { etcdctl_ 1 get "$1" --print-value-only; }
STORE="etcd://$(etcd_addr 1):2379,$(etcd_addr 2):2379,$(etcd_addr 3):2379"
VTEP=203.0.113.1 TTL=3
R=$NETCTL_ROOT/h1
l() { "$LOCAL" "$R" "$@"; }
ensure() { l ensure "$STORE" "$VTEP" "$TTL" "$AGENT" "$@"; }
agent_pid() { cat "$R/overlay/agent.pid"; }
# alive PID: running, not a zombie (the agent is nobody's child here: reaped whenever).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop_agent() {  # ends the agent this test started, by its PID
  local pid
  pid=$(cat "$R/overlay/agent.pid" 2>/dev/null) || return 0
  l running && kill -9 "$pid" 2>/dev/null || true
}
trap 'stop_agent; etcd_cluster_stop; rm -rf "$NETCTL_ROOT"' EXIT
# until SECONDS CMD...: CMD succeeds within SECONDS (polled every 50 ms).
until_() {
  local end=$(($(date +%s%N) / 1000000 + $1 * 1000)); shift
  while ! "$@"; do
    [ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || return 1
    sleep 0.05
  done
}
has_entries() { l entries "$DEV" | grep -x "$1" >/dev/null && l entries "$DEV" | grep -x "$2" >/dev/null; }
no_entries() { ! l entries "$DEV" | grep -e "$1" >/dev/null; }

ID=$(printf 'ab%.0s' $(seq 32)) DEV=nxabababababab
o claim blue "$ID" 198.51.100.0/25 198.51.100.1 4242 0 >/dev/null
H=$(l id)
read -r IP1 MAC1 < <(o alloc blue "$H" 1 198.51.100.11)
ip link add nc-abababababab type bridge
ip link set nc-abababababab up
l net "$ID" blue 198.51.100.0/25 198.51.100.1 4242 "$VTEP"
l ep "$ID" ep1 "$IP1/25"

# An agent that cannot register: ensure fails in one line, and no agent is left running.
R2=$NETCTL_ROOT/h2
"$LOCAL" "$R2" id >/dev/null
err=$(stderr_of 1 "$LOCAL" "$R2" ensure etcd://203.0.113.1:9 "$VTEP" "$TTL" "$AGENT")
grep "overlay agent .* did not start: etcd" <<<"$err" >/dev/null || fail "ensure error: $err"
"$LOCAL" "$R2" running && fail "an agent that failed to register still holds its lock"

# Start: registered, the lease written, the endpoint republished under it, an ack.
LEASE=$(stdout_of 0 ensure)
[ "$(cat "$R/overlay/lease")" = "$LEASE" ] || fail "lease file '$(cat "$R/overlay/lease")' != $LEASE"
alive "$(agent_pid)" || fail "no agent running"
[ "$(ctl_val "${P}hosts/$H")" = "{\"host\":\"$H\",\"vtep\":\"$VTEP\"}" ] || fail "no host record"
etcdctl_ 1 get "${P}hosts/$H" -w json | jq -e ".kvs[0].lease == $LEASE" >/dev/null ||
  fail "host record not under lease $LEASE"
until_ 2 etcdctl_ 1 get "${P}acks/$H" --print-value-only | grep '"revision"' >/dev/null ||
  fail "no ack after the initial sync"
etcdctl_ 1 get "${P}peers/blue/$IP1" -w json | jq -e ".kvs[0].lease == $LEASE" >/dev/null ||
  fail "endpoint not republished under the lease"
# A second agent leaves at once (exit 0); ensure finds the running one's lease.
pid1=$(agent_pid)
"$AGENT" --root "$R" --store "$STORE" --advertise "$VTEP" --ttl "$TTL" ||
  fail "a second agent exited $?"
[ "$(agent_pid)" = "$pid1" ] || fail "a second agent replaced agent.pid"
[ "$(stdout_of 0 ensure)" = "$LEASE" ] || fail "ensure with a running agent: another lease"
expect_rc 2 "$AGENT" --root "$R" --store "$STORE" --advertise 127.0.0.1 --ttl 3
expect_rc 2 "$AGENT" --root "$R" --store "$STORE" --advertise "$VTEP" --ttl 1

# A remote host's peer: programmed (FDB to its VTEP, permanent neighbour), acknowledged.
L2=$(o register h2 203.0.113.2 30)
read -r IP2 MAC2 < <(o alloc blue h2 1 198.51.100.12)
REV=$(o publish blue "$L2" h2 203.0.113.2 "$IP2" ep2)
stdout_of 0 o wait-acks "$REV" h2 2000 >/dev/null || fail "host $H did not acknowledge $REV"
# h2 has no agent: a wait that is not h2's own names it once its time is over (its last read is
# the one after which another pause, 16 ms at most, would pass the 300 ms).
t0=$(date +%s%N)
[ "$(stdout_of 1 o wait-acks "$REV" "$H" 300)" = h2 ] || fail "wait-acks must name h2"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 284 ] && [ "$ms" -lt 1500 ] || fail "wait-acks for 300 ms took $ms ms"
has_entries "fdb $MAC2 203.0.113.2" "neigh $IP2 $MAC2" || fail "h2's peer not programmed: $(l entries $DEV)"
# A peer put by etcdctl (no lease: nothing checks one on read) is programmed and acknowledged.
MAC3=02:42:c6:33:64:0d
REV3=$(etcdctl_ 1 put "${P}peers/blue/198.51.100.13" \
  "{\"endpoint\":\"ep3\",\"host\":\"h3\",\"ip\":\"198.51.100.13\",\"mac\":\"$MAC3\",\"vtep\":\"203.0.113.3\"}" \
  -w json | jq -r .header.revision)
ack_at_least() { [ "$(ctl_val "${P}acks/$H" | jq .revision)" -ge "$1" ]; }
until_ 2 ack_at_least "$REV3" || fail "ack $(ctl_val "${P}acks/$H") below $REV3"
has_entries "fdb $MAC3 203.0.113.3" "neigh 198.51.100.13 $MAC3" || fail "h3's peer not programmed"
# Ack latency: 50 remote peers put 20 ms apart (overlay_probe ack-latency), each timed from its
# put until the agent's ack reaches its revision (every one within 1 s, or the probe fails). The
# agent keeps one watch open: a median of a few ms. A watch re-created after each batch starts at
# a past revision, which etcd serves from a loop that runs every 100 ms: its median is 70-100 ms.
# The median, not the maximum, is asserted: a busy machine delays a single ack by scheduling alone.
lat=$(stdout_of 0 o ack-latency blue "$H" 198.51.100.64 50 20)
echo "agent $lat"
median=$(sed -n 's/.*median_us=\([0-9]*\).*/\1/p' <<<"$lat")
[ -n "$median" ] && [ "$median" -lt 20000 ] || fail "acks came a median of 20 ms or more after their put: $lat"
until_ 2 no_entries 02:42:c6:33:64:40 || fail "peers of the latency check left: $(l entries $DEV)"
# Its own endpoint is never programmed on its own device.
no_entries "$MAC1" || fail "own endpoint programmed"
# A hostile record (outside the subnet) is skipped.
etcdctl_ 1 put "${P}peers/blue/10.0.0.1" '{"ip":"10.0.0.1"}' >/dev/null
until_ 2 grep "skipped ${P}peers/blue/10.0.0.1" "$R/overlay/agent.log" >/dev/null ||
  fail "hostile record not reported"
# h2's lease revoked: its peer goes, and so do its entries.
o revoke "$L2"
until_ 2 no_entries "$MAC2" || fail "h2's entries left after its lease: $(l entries $DEV)"
alive "$(agent_pid)" || fail "agent died: $(tail -n 3 "$R/overlay/agent.log")"

# A lost lease: registered again, the lease file replaced, the endpoint published again; ensure
# with the stale lease waits for the new one.
etcdctl_ 1 lease revoke "$(printf '%x' "$LEASE")" >/dev/null
NEW=$(stdout_of 0 ensure "$LEASE")
[ "$NEW" != "$LEASE" ] && [ "$(cat "$R/overlay/lease")" = "$NEW" ] || fail "lease not renewed: $NEW"
until_ 2 eval 'etcdctl_ 1 get "${P}peers/blue/$IP1" -w json | jq -e ".kvs[0].lease == $NEW" >/dev/null' ||
  fail "endpoint not republished under the new lease"

# A network that becomes local later is synced in full (its remote peer was there before).
ID2=$(printf 'cd%.0s' $(seq 32)) DEV2=nxcdcdcdcdcdcd
o claim red "$ID2" 198.51.100.128/25 198.51.100.129 4243 0 >/dev/null
red_peer() {  # red_peer IP MAC: a peer of host h4 put with etcdctl; prints the revision
  etcdctl_ 1 put "${P}peers/red/$1" \
    "{\"endpoint\":\"e$1\",\"host\":\"h4\",\"ip\":\"$1\",\"mac\":\"$2\",\"vtep\":\"203.0.113.4\"}" \
    -w json | jq -r .header.revision
}
red_peer 198.51.100.140 02:42:c6:33:64:8c >/dev/null
ip link add nc-cdcdcdcdcdcd type bridge
l net "$ID2" red 198.51.100.128/25 198.51.100.129 4243 "$VTEP"
l ep "$ID2" ep5 198.51.100.141/25
has_red() { DEV=$DEV2 has_entries "fdb $1 203.0.113.4" "neigh $2 $1"; }
until_ 3 has_red 02:42:c6:33:64:8c 198.51.100.140 || fail "red not synced: $(l entries $DEV2)"
# History compacted while the agent was stopped and its watch cut: it reads every peer again.
# (A watch left open would simply receive the put: the cut makes the agent watch again, from a
# revision the compaction removed.)
pid=$(agent_pid)
kill -STOP "$pid"
ss -K -tn 'dport = :2379' >/dev/null
red_peer 198.51.100.142 02:42:c6:33:64:8e >/dev/null
for i in 1 2 3; do etcdctl_ 1 put /junk/$i x >/dev/null; done
etcdctl_ 1 compact "$(etcdctl_ 1 put /junk/4 x -w json | jq -r .header.revision)" >/dev/null
kill -CONT "$pid"
until_ 3 has_red 02:42:c6:33:64:8e 198.51.100.142 || fail "peer put before a compaction missed"
grep "history compacted, reading every peer again" "$R/overlay/agent.log" >/dev/null ||
  fail "no resync after the compaction: $(tail -n 3 "$R/overlay/agent.log")"
alive "$pid" || fail "agent died after the compaction"
l rm-ep ep5
l rm-net "$ID2"

# SIGKILL: the host record and its peer expire within the TTL (+1 s); a restart syncs in full (a
# stale entry on the device goes, the live ones stay).
kill -9 "$(agent_pid)"
t0=$(date +%s%N)
until_ $((TTL + 1)) eval '[ -z "$(ctl_keys "${P}hosts/$H")" ]' || fail "host record outlived the TTL"
echo "host record gone $((($(date +%s%N) - t0) / 1000000)) ms after SIGKILL (TTL $TTL s)"
[ -z "$(ctl_keys "${P}peers/blue/$IP1")" ] || fail "peer record outlived its lease"
bridge fdb add 02:42:c6:33:64:63 dev "$DEV" dst 203.0.113.9 self permanent
ip neigh add 198.51.100.99 lladdr 02:42:c6:33:64:63 dev "$DEV" nud permanent
l running && fail "agent lock still held after SIGKILL"
LEASE=$(stdout_of 0 ensure)
until_ 2 no_entries 02:42:c6:33:64:63 || fail "stale entry survived the restart: $(l entries $DEV)"
has_entries "fdb $MAC3 203.0.113.3" "neigh 198.51.100.13 $MAC3" || fail "live peer lost in resync"

# Leaving: not while a command holds the store lock; once the last endpoint is gone, it revokes
# the lease (host record gone at once), removes the lease file and exits.
pid=$(agent_pid)
exec 9>"$R/lock"
flock 9
# The endpoint's record dropped behind the lock's back (overlay_local would wait for the lock).
sqlite3 "$R/netctl.db" "DELETE FROM endpoints WHERE id='ep1'" 2>/dev/null ||
  fail "cannot drop ep1 with sqlite3"
sleep 1.5
alive "$pid" || fail "agent left while the store lock was held"
exec 9>&-
until_ 3 eval '! alive "$pid"' || fail "agent still running without endpoints"
[ ! -e "$R/overlay/lease" ] || fail "lease file left"
[ -z "$(ctl_keys "${P}hosts/$H")" ] || fail "host record left (lease not revoked)"
l running && fail "agent lock held after exit"

# SIGTERM: the same clean exit.
l ep "$ID" ep1 "$IP1/25"
ensure >/dev/null
pid=$(agent_pid)
kill -TERM "$pid"
until_ 3 eval '! alive "$pid"' || fail "agent ignored SIGTERM"
[ ! -e "$R/overlay/lease" ] && [ -z "$(ctl_keys "${P}hosts/$H")" ] || fail "SIGTERM: not clean"
echo "ok: overlay agent"
