# Three (N) netctl hosts on one machine for the overlay driver's tests; source after lib.sh and
# etcd.sh, inside a throwaway host (throwaway_host). Host I is the network namespace of etcd member
# I ("etcdI", 203.0.113.1I/24 on eth0, the underlay bridge in "etcd-lan"), plus a mount namespace
# of its own held by a long-lived process (its "holder") with a private tmpfs on /run/netns, so
# the hosts' sandboxes never see each other. Each host has its own state root DIR/hI and its own
# cgroup parent PARENT/hI (PARENT: $NETCTL_CGROUP_PARENT, else netctl-test-<pid>), and forwards.
#   overlay_hosts_start DIR N   etcd_cluster_start DIR N, then N hosts; fails if one is not up
#   on_host I CMD...            CMD in host I's network and mount namespaces, with netctl's
#                               environment for host I (the word `netctl` runs $NETCTL)
#   overlay_host_env I          that environment, one VAR=VALUE a line
#   overlay_host_procs I        PIDs left in host I: in its network or mount namespace, in a
#                               sandbox of its /run/netns, or in its cgroup parent; never the
#                               holder or an etcd member
#   overlay_agent_pid I         the PID of host I's netctl-overlay agent (ROOT/overlay/agent.pid,
#                               else the process of that name in the host); nothing if none runs
#   overlay_hosts_stop          kills (by PID) everything overlay_host_procs names, removes the
#                               cgroup parents, kills the holders, etcd_cluster_stop, removes the
#                               state roots: nothing is left
# The holders enter "etcdI" with nsenter rather than `ip netns exec`: the latter mounts a sysfs of
# the namespace over /sys, which hides /sys/fs/cgroup that `netctl run` needs. netctl reads nothing
# else under /sys, and /proc/sys/net is the namespace's own either way.

OVERLAY_N=0
OVERLAY_DIR=""
OVERLAY_HOLDERS=()
OVERLAY_CG_BASE=""
OVERLAY_CG_MADE=()  # the hierarchies where this fixture made OVERLAY_CG_BASE (removed at stop)

_overlay_fail() { echo "overlay fixture: $*" >&2; return 1; }

# The cgroup hierarchies netctl places containers in (cnm/launcher/cgroup.cc, make_cgroups).
_overlay_cg_hiers() {
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
    grep -w memory /sys/fs/cgroup/cgroup.controllers >/dev/null 2>&1; then
    echo /sys/fs/cgroup
  else
    local c
    for c in memory cpu pids devices; do
      [ ! -d "/sys/fs/cgroup/$c" ] || echo "/sys/fs/cgroup/$c"
    done
  fi
}

# The base parent and one child per host in every hierarchy. netctl makes only the last level
# (mkdir, not mkdir -p) and, on v2, enables controllers in the parent itself: the base must offer
# them to its children.
_overlay_cg_make() {
  local h i want c
  for h in $(_overlay_cg_hiers); do
    if [ ! -d "$h/$OVERLAY_CG_BASE" ]; then
      mkdir "$h/$OVERLAY_CG_BASE" && OVERLAY_CG_MADE+=("$h")
    fi
    if [ -e "$h/$OVERLAY_CG_BASE/cgroup.subtree_control" ]; then
      want=""
      for c in memory cpu pids; do
        grep -qw "$c" "$h/$OVERLAY_CG_BASE/cgroup.controllers" && want+=" +$c"
      done
      [ -z "$want" ] || echo "$want" >"$h/$OVERLAY_CG_BASE/cgroup.subtree_control"
    fi
    for i in $(seq "$OVERLAY_N"); do mkdir -p "$h/$OVERLAY_CG_BASE/h$i"; done
  done
}

overlay_host_env() {
  local i=$1 store
  store="etcd://${ETCD_ENDPOINTS//http:\/\//}"
  printf '%s\n' "NETCTL_ROOT=$OVERLAY_DIR/h$i" "NETCTL_CLUSTER_STORE=$store" \
    "NETCTL_CLUSTER_ADVERTISE=$(etcd_addr "$i")" "NETCTL_OVERLAY_TTL=${NETCTL_OVERLAY_TTL:-3}" \
    "NETCTL_CGROUP_PARENT=$OVERLAY_CG_BASE/h$i"
}

on_host() {
  local i=${1:?on_host I CMD...} pid cmd
  pid=${OVERLAY_HOLDERS[$i]:-}
  [ -n "$pid" ] || _overlay_fail "no host $i" || return 1
  shift
  cmd=$1
  shift
  [ "$cmd" != netctl ] || cmd=${NETCTL:-netctl}
  local -a env_
  mapfile -t env_ < <(overlay_host_env "$i")
  nsenter -t "$pid" -n -m --wd="$PWD" env "${env_[@]}" "$cmd" "$@"
}

# _overlay_holder_start I: host I's holder, its PID in OVERLAY_HOLDERS[I] once its tmpfs is up.
_overlay_holder_start() {
  local i=$1 ready pid n
  ready=$OVERLAY_DIR/h$i.ready
  mkdir -p "$OVERLAY_DIR/h$i"
  rm -f "$ready"
  # nsenter, unshare and sh exec in turn: $! ends up the PID of the sleep.
  nsenter --net="/run/netns/etcd$i" unshare --mount --propagation private -- sh -c \
    'mount -t tmpfs -o mode=0755 overlay-netns /run/netns && : >"$1" && exec sleep infinity' \
    sh "$ready" </dev/null >/dev/null 2>"$OVERLAY_DIR/h$i.holder.err" &
  pid=$!
  OVERLAY_HOLDERS[i]=$pid  # known at once, so that a stop after a failed start ends it
  for n in $(seq 100); do
    [ ! -e "$ready" ] || break
    kill -0 "$pid" 2>/dev/null || _overlay_fail "holder $i: $(cat "$OVERLAY_DIR/h$i.holder.err")" ||
      return 1
    sleep 0.05
  done
  [ -e "$ready" ] || _overlay_fail "holder $i not ready after 5 s" || return 1
  rm -f "$ready" "$OVERLAY_DIR/h$i.holder.err"
  nsenter -t "$pid" -n sysctl -qw net.ipv4.ip_forward=1
}

overlay_hosts_start() {
  local dir=${1:?overlay_hosts_start DIR N} n=${2:?overlay_hosts_start DIR N} i
  etcd_cluster_start "$dir" "$n" || return 1
  OVERLAY_DIR=$dir
  OVERLAY_N=$n
  OVERLAY_CG_BASE=${NETCTL_CGROUP_PARENT:-netctl-test-$$}
  _overlay_cg_make
  for i in $(seq "$n"); do _overlay_holder_start "$i" || return 1; done
}

# _overlay_is_agent PID: PID runs netctl-overlay (a binary rebuilt since reads "... (deleted)").
_overlay_is_agent() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ "$exe" == */netctl-overlay || "$exe" == */"netctl-overlay (deleted)" ]]
}

overlay_agent_pid() {
  local i=$1 pid p
  pid=$(cat "$OVERLAY_DIR/h$i/overlay/agent.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && _overlay_is_agent "$pid"; then
    echo "$pid"
    return 0
  fi
  for p in $(overlay_host_procs "$i"); do ! _overlay_is_agent "$p" || echo "$p"; done
}

# The cgroup directories of host I (leaves first, then its parent), in every hierarchy.
_overlay_cg_dirs() {
  local h
  for h in $(_overlay_cg_hiers); do
    [ ! -d "$h/$OVERLAY_CG_BASE/h$1" ] ||
      find "$h/$OVERLAY_CG_BASE/h$1" -mindepth 1 -depth -type d 2>/dev/null || true
  done
  for h in $(_overlay_cg_hiers); do
    [ ! -d "$h/$OVERLAY_CG_BASE/h$1" ] || echo "$h/$OVERLAY_CG_BASE/h$1"
  done
}

overlay_host_procs() {
  local i=$1 holder=${OVERLAY_HOLDERS[$1]:-} net mnt p d skip
  [ -n "$holder" ] || return 0
  net=$(readlink "/proc/$holder/ns/net") || return 0
  mnt=$(readlink "/proc/$holder/ns/mnt") || return 0
  # Sandboxes: the nsfs files of the host's /run/netns name their namespaces' inodes.
  local -A nets=(["$net"]=1)
  # (stat, not find -printf %i: find reports the tmpfs file's inode under the mount.)
  for d in $(nsenter -t "$holder" -m sh -c 'stat -c %i /run/netns/*' 2>/dev/null || true); do
    nets["net:[$d]"]=1
  done
  skip=" $holder $$ ${BASHPID:-} ${ETCD_PIDS[*]:-} "
  {
    # One find for every process: "/proc/PID/ns net|mnt TARGET".
    find /proc/[0-9]*/ns -maxdepth 1 \( -name net -o -name mnt \) -printf '%h %f %l\n' 2>/dev/null |
      while read -r d kind p; do
        d=${d#/proc/}
        d=${d%/ns}
        [ -n "$p" ] && [[ "$skip" != *" $d "* ]] || continue
        case $kind in
          net) [ -z "${nets[$p]:-}" ] || echo "$d" ;;
          mnt) [ "$p" != "$mnt" ] || echo "$d" ;;
        esac
      done || true
    for d in $(_overlay_cg_dirs "$i"); do cat "$d/cgroup.procs" 2>/dev/null || true; done
  } | sort -un
}

# _overlay_host_stop I: every process of host I killed, its cgroups removed, its holder killed.
_overlay_host_stop() {
  local i=$1 n p d left
  for n in $(seq 50); do
    left=$(overlay_host_procs "$i")
    [ -n "$left" ] || break
    for d in $(_overlay_cg_dirs "$i"); do
      [ ! -e "$d/cgroup.kill" ] || echo 1 >"$d/cgroup.kill" 2>/dev/null || true
    done
    for p in $left; do kill -9 "$p" 2>/dev/null || true; done
    sleep 0.1
  done
  [ -z "$left" ] || echo "overlay fixture: host $i: processes left: $left" >&2
  for n in $(seq 20); do
    for d in $(_overlay_cg_dirs "$i"); do rmdir "$d" 2>/dev/null || true; done
    [ -n "$(_overlay_cg_dirs "$i")" ] || break
    sleep 0.1
  done
  d=$(_overlay_cg_dirs "$i")
  [ -z "$d" ] || echo "overlay fixture: host $i: cgroups left: $d" >&2
  p=${OVERLAY_HOLDERS[$i]:-}
  if [ -n "$p" ]; then
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  fi
  OVERLAY_HOLDERS[i]=""
}

overlay_hosts_stop() {
  local i h
  for i in $(seq "$OVERLAY_N"); do _overlay_host_stop "$i"; done
  for h in "${OVERLAY_CG_MADE[@]}"; do rmdir "$h/$OVERLAY_CG_BASE" 2>/dev/null || true; done
  OVERLAY_CG_MADE=()
  OVERLAY_HOLDERS=()
  etcd_cluster_stop
  for i in $(seq "$OVERLAY_N"); do [ -z "$OVERLAY_DIR" ] || rm -rf "$OVERLAY_DIR/h$i"; done
  OVERLAY_N=0
}
