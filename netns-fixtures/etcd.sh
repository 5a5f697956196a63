# A real etcd cluster for tests; source after lib.sh, inside a throwaway host (throwaway_host).
# Member I (1..N) runs in its own network namespace "etcdI" at 203.0.113.1I/24 (client port 2379,
# peer 2380); the members and the throwaway host itself (203.0.113.1/24, veth "etcd-host") are
# joined by a bridge in namespace "etcd-lan", so a client run in the test's own namespace reaches
# every member. Data lives on a tmpfs mounted on DIR/etcd (the throwaway host's mount namespace).
# Short heartbeat and election timeouts make a lost leader replaced within ~0.5 s.
#   etcd_cluster_start DIR N   starts N members and waits until all are healthy
#   etcd_member_kill I         SIGKILLs member I (by its PID) and waits for it to be gone
#   etcd_member_start I        starts member I again on its data dir, waits until healthy
#   etcd_leader                prints the index of the member that leads
#   etcd_cluster_stop          ends every member (by PID), removes namespaces, data and mount
#   etcdctl_ I ARGS...         etcdctl against member I only
# After start, ETCD_ENDPOINTS holds every member's client URL, comma-separated.

ETCD_PIDS=()
ETCD_N=0
ETCD_DIR=""
ETCD_ENDPOINTS=""

etcd_addr() { echo "203.0.113.1$1"; }
etcd_url() { echo "http://$(etcd_addr "$1"):2379"; }
etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints="$(etcd_url "$1")" --dial-timeout=1s \
  --command-timeout=2s "${@:2}"; }

_etcd_fail() { echo "etcd fixture: $*" >&2; return 1; }

_etcd_wire() {  # the bridge namespace, the host's leg, one leg per member
  local i
  ip netns add etcd-lan
  ip -n etcd-lan link add br0 type bridge
  ip -n etcd-lan link set br0 up
  ip link add etcd-host type veth peer name host netns etcd-lan
  ip addr add 203.0.113.1/24 dev etcd-host
  ip link set etcd-host up
  ip -n etcd-lan link set host master br0 up
  for i in $(seq "$ETCD_N"); do
    ip netns add "etcd$i"
    ip -n "etcd$i" link set lo up
    ip -n etcd-lan link add "m$i" type veth peer name eth0 netns "etcd$i"
    ip -n etcd-lan link set "m$i" master br0 up
    ip -n "etcd$i" addr add "$(etcd_addr "$i")/24" dev eth0
    ip -n "etcd$i" link set eth0 up
  done
}

_etcd_initial_cluster() {
  local i out=""
  for i in $(seq "$ETCD_N"); do out+="${out:+,}m$i=http://$(etcd_addr "$i"):2380"; done
  echo "$out"
}

# etcd_member_run I: starts member I in its namespace, in the background; its PID in ETCD_PIDS.
_etcd_member_run() {
  local i=$1 a
  a=$(etcd_addr "$i")
  # `ip netns exec` execs etcd: $! is etcd's own PID.
  ip netns exec "etcd$i" etcd --name "m$i" --data-dir "$ETCD_DIR/m$i" \
    --listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
    --listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
    --initial-cluster "$(_etcd_initial_cluster)" --initial-cluster-state new \
    --initial-cluster-token netctl-test --heartbeat-interval 25 --election-timeout 250 \
    --logger zap --log-outputs "$ETCD_DIR/m$i.log" </dev/null >/dev/null 2>&1 &
  ETCD_PIDS[$i]=$!
}

# _etcd_wait_healthy I...: until each member answers a linearizable read (it has a leader).
_etcd_wait_healthy() {
  local i n
  for i in "$@"; do
    for n in $(seq 100); do
      etcdctl_ "$i" endpoint health >/dev/null 2>&1 && continue 2
      kill -0 "${ETCD_PIDS[$i]}" 2>/dev/null || _etcd_fail "member $i exited: $(tail -n 3 "$ETCD_DIR/m$i.log")" || return 1
      sleep 0.1
    done
    _etcd_fail "member $i not healthy after 10 s: $(tail -n 3 "$ETCD_DIR/m$i.log")" || return 1
  done
}

etcd_cluster_start() {
  local dir=${1:?etcd_cluster_start DIR N} i
  ETCD_N=${2:?etcd_cluster_start DIR N}
  ETCD_DIR=$dir/etcd
  mkdir -p "$ETCD_DIR"
  mount -t tmpfs -o size=512m,mode=0700 etcd-data "$ETCD_DIR"
  _etcd_wire
  ETCD_ENDPOINTS=""
  for i in $(seq "$ETCD_N"); do
    ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}$(etcd_url "$i")"
    _etcd_member_run "$i"
  done
  _etcd_wait_healthy $(seq "$ETCD_N")
}

etcd_member_kill() {
  local i=$1 pid=${ETCD_PIDS[$1]:-}
  [ -n "$pid" ] || _etcd_fail "member $i is not running" || return 1
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ETCD_PIDS[$i]=""
}

etcd_member_start() {
  [ -z "${ETCD_PIDS[$1]:-}" ] || _etcd_fail "member $1 is running" || return 1
  _etcd_member_run "$1"
  _etcd_wait_healthy "$1"
}

etcd_leader() {
  local i status
  for i in $(seq "$ETCD_N"); do
    [ -n "${ETCD_PIDS[$i]:-}" ] || continue
    status=$(etcdctl_ "$i" endpoint status -w json 2>/dev/null) || continue
    if [ "$(jq -r '.[0].Status | (.header.member_id == .leader)' <<<"$status")" = true ]; then
      echo "$i"
      return 0
    fi
  done
  _etcd_fail "no member leads"
}

etcd_cluster_stop() {
  local i
  for i in "${!ETCD_PIDS[@]}"; do
    [ -n "${ETCD_PIDS[$i]}" ] || continue
    kill -9 "${ETCD_PIDS[$i]}" 2>/dev/null || true
    wait "${ETCD_PIDS[$i]}" 2>/dev/null || true
  done
  ETCD_PIDS=()
  for i in $(seq "$ETCD_N"); do ip netns del "etcd$i" 2>/dev/null || true; done
  ip netns del etcd-lan 2>/dev/null || true
  ip link del etcd-host 2>/dev/null || true
  if [ -n "$ETCD_DIR" ]; then umount "$ETCD_DIR" 2>/dev/null || true; rmdir "$ETCD_DIR" 2>/dev/null || true; fi
  ETCD_N=0
}

# etcd_test_cluster TOOL (e2e scenarios): the test-only program TOOL beside $NETCTL (its path in
# $PROBE), etcd and etcdctl installed (else the scenario skips), then a 3-member cluster under
# $NETCTL_ROOT, stopped and the root removed when the script exits.
etcd_test_cluster() {
  PROBE=$(dirname "$NETCTL")/$1
  [ -x "$PROBE" ] || skip "no $1 next to $NETCTL"
  command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd/etcdctl not installed"
  trap 'etcd_cluster_stop; rm -rf "$NETCTL_ROOT"' EXIT
  etcd_cluster_start "$NETCTL_ROOT" 3
}
