# Helpers for the `netctl run` scenarios (t_run*.sh); source after lib.sh in a throwaway host.
# cgroupfs is not namespaced: every scenario uses its own cgroup parent and removes it on exit,
# whatever happened, with every cgroup and task under it, whatever their names (container leaves
# are `<root id>-<container id>`, a scenario may make others): v1 hierarchies, the hybrid
# layout's unified one and a unified tree at /sys/fs/cgroup itself.
export NETCTL_CGROUP_PARENT=netctl-test-$$
ROOTFS=${NETCTL_ROOTFS_CACHE:-$NETCTL_ROOT/rootfs}
"$FIXTURES/rootfs.sh" "$ROOTFS"
pids=()
# The hierarchies a container's cgroup leaf lives in: the unified tree when v2 holds the memory
# controller, else the v1 memory, cpu and pids trees, and devices where it is mounted.
if grep -w memory /sys/fs/cgroup/cgroup.controllers >/dev/null 2>&1; then
  CG_HIER=(/sys/fs/cgroup)
else
  CG_HIER=(/sys/fs/cgroup/memory /sys/fs/cgroup/cpu /sys/fs/cgroup/pids)
  [ ! -d /sys/fs/cgroup/devices ] || CG_HIER+=(/sys/fs/cgroup/devices)
fi
cgroup_dirs() { ls -d /sys/fs/cgroup/{memory,cpu,pids,devices,unified,}/"$NETCTL_CGROUP_PARENT"/*/ 2>/dev/null || true; }
cleanup_run() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  local d
  for d in $(cgroup_dirs); do
    [ ! -e "$d/cgroup.kill" ] || echo 1 >"$d/cgroup.kill" 2>/dev/null || true
    for t in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$t" 2>/dev/null || true; done
  done
  sleep 0.2
  for d in $(cgroup_dirs); do rmdir "$d" 2>/dev/null || true; done
  rmdir /sys/fs/cgroup/{memory,cpu,pids,devices,unified,}/"$NETCTL_CGROUP_PARENT" 2>/dev/null || true
  rm -rf "$NETCTL_ROOT"
}
trap cleanup_run EXIT
# cgroup_of DIR C: the cgroup of container C (name or id) under DIR/<parent>, its leaf named
# `<root id>-<container id>`; nothing when there is none.
cgroup_of() {
  local id leaf
  id=$(inspect 'c["Id"]' "$2")
  leaf=$(ls "$1/$NETCTL_CGROUP_PARENT" 2>/dev/null | grep -xE "[0-9a-f]{8}-$id" || true)
  [ -z "$leaf" ] || echo "$1/$NETCTL_CGROUP_PARENT/$leaf"
}
# inspect FIELD C: one field of `netctl inspect` (a python expression on the object `c`).
inspect() {
  "$NETCTL" inspect "$2" | python3 -c "import json,sys; c=json.load(sys.stdin)[0]; print($1)"
}
# A content hash of a directory tree (names, modes, sizes, link targets, file contents).
tree_hash() {
  (cd "$1" && find . -printf '%p %m %s %l\n' | sort && find . -type f -exec cat {} + ) | sha256sum
}
