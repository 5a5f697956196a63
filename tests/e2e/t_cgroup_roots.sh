# Two state roots on one host with the SAME cgroup parent: each container's cgroup leaf is
# `<root id>-<container id>`, so `doctor` in either root is clean while the other root's container
# runs, `gc` in root A leaves root B's container running (its workload alive, its cgroups there),
# and cgroups of the admin's own under the parent (a bare 64-hex one with a task in it, one named
# like a third root's leaf, one with any name) are neither reported nor removed nor killed. Then
# B's container, which publishes a port the neighbour reaches throughout, is removed cleanly.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
P=$NETCTL_CGROUP_PARENT
hier=("${CG_HIER[@]}")  # lib_run.sh
B=$(mktemp -d /tmp/netctl-test-rootb.XXXXXX)
nb() { "$NETCTL" --root "$B" "$@"; }
inspect_b() { nb inspect "$2" | python3 -c "import json,sys; c=json.load(sys.stdin)[0]; print($1)"; }
bare=$(printf 'cd%.0s' $(seq 32))  # the admin's: 64 hex digits, as a container id of old
ghost=                             # named like the leaf of a third root, set below
sleeper=
cleanup_roots() {
  nb rm -f b1 >/dev/null 2>&1 || true
  if [ -n "$sleeper" ]; then kill -9 "$sleeper" 2>/dev/null || true; fi
  sleep 0.1
  for h in "${hier[@]}"; do
    rmdir "$h/$P/$bare" "$h/$P/admin-own" 2>/dev/null || true
    [ -z "$ghost" ] || rmdir "$h/$P/$ghost" 2>/dev/null || true
  done
  rm -rf "$B"
  cleanup_run  # kills what is left under the parent, removes every leaf and the parent
}
trap cleanup_roots EXIT
gone() { [ ! -e /proc/$1/stat ] || [ "$(sed 's/.*) //' /proc/$1/stat | cut -c1)" = Z ]; }
asleep() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = S ]; }
# The leaf of container ID under the parent in hierarchy H (whatever its naming), or nothing.
leaf() { ls "$1/$P" 2>/dev/null | grep -E "(^|-)$2\$" || true; }
drift_free() {  # ROOT-NAME CMD...: doctor exits 0 and reports no cgroup
  local who=$1 rc=0 out; shift
  out=$("$@" doctor 2>&1) || rc=$?
  [ "$rc" = 0 ] || fail "doctor in root $who exited $rc: $out"
  ! grep -i cgroup <<<"$out" >/dev/null || fail "doctor in root $who reports cgroups: $out"
}

nc_ run -d --name a1 --rootfs "$ROOTFS" -- sleep 600 >/dev/null
nb network create --subnet 203.0.113.0/24 bnet >/dev/null
add_neighbour nbr 198.51.100.2/24 198.51.100.1/24
ask_b1() { ip netns exec nbr busybox nc -w 2 198.51.100.1 9191 </dev/null 2>/dev/null || true; }
nb run -d --name b1 --network bnet -p 9191:80 --rootfs "$ROOTFS" -- /bin/nc -ll -p 80 -e /bin/echo b1 \
  >/dev/null
for _ in $(seq 50); do [ "$(ask_b1)" = b1 ] && break; sleep 0.1; done
[ "$(ask_b1)" = b1 ] || fail "root B's published port 9191 does not answer"
a_id=$(inspect 'c["Id"]' a1)
b_id=$(inspect_b 'c["Id"]' b1)
b_pid=$(inspect_b 'c["State"]["Pid"]' b1)
[ "$b_pid" -gt 0 ] && ! gone "$b_pid" || fail "root B's workload does not run (pid $b_pid)"
for h in "${hier[@]}"; do
  [ -n "$(leaf "$h" "$a_id")" ] || fail "no cgroup of root A's container under $h/$P"
  [ -n "$(leaf "$h" "$b_id")" ] || fail "no cgroup of root B's container under $h/$P"
done
b_leaf=$(leaf "${hier[0]}" "$b_id")
ghost=0badc0de-$(printf 'ef%.0s' $(seq 32))
case "$(leaf "${hier[0]}" "$a_id")$b_leaf" in *0badc0de-*) ghost=feedbeef-${ghost#*-} ;; esac
for h in "${hier[@]}"; do mkdir "$h/$P/$bare" "$h/$P/$ghost" "$h/$P/admin-own"; done
sleep 600 & sleeper=$!; disown "$sleeper"
echo "$sleeper" >"${hier[0]}/$P/$bare/cgroup.procs"

# doctor in each root: the other root's container and the admin's cgroups are no drift.
drift_free A nc_
drift_free B nb

# gc in root A: B's container keeps running with its cgroups; the admin's cgroups and task stay.
out=$(nc_ gc 2>&1) || fail "gc in root A failed: $out"
! grep -i cgroup <<<"$out" >/dev/null || fail "gc in root A repaired cgroups: $out"
! gone "$b_pid" || fail "gc in root A killed root B's workload $b_pid"
grep -x "$b_pid" "${hier[0]}/$P/$b_leaf/cgroup.procs" >/dev/null ||
  fail "root B's workload $b_pid is no longer in its cgroup ${hier[0]}/$P/$b_leaf"
for h in "${hier[@]}"; do
  [ -d "$h/$P/$b_leaf" ] || fail "gc in root A removed root B's cgroup $h/$P/$b_leaf"
  for d in "$bare" "$ghost" admin-own; do [ -d "$h/$P/$d" ] || fail "gc removed $h/$P/$d"; done
done
asleep "$sleeper" || fail "gc in root A killed the task in the admin's cgroup $bare"
[ "$(inspect_b 'c["State"]["Status"]' b1)" = running ] || fail "root B's container is not running"
[ "$(nb exec b1 -- echo alive)" = alive ] || fail "root B's container does not answer after gc in A"
[ "$(ask_b1)" = b1 ] || fail "root B's published port 9191 stopped answering after gc in A"
out=$(nb gc 2>&1) || fail "gc in root B failed: $out"
! grep -i cgroup <<<"$out" >/dev/null || fail "gc in root B repaired cgroups: $out"
[ "$(inspect 'c["State"]["Status"]' a1)" = running ] || fail "gc in root B stopped root A's container"
drift_free A nc_
drift_free B nb

# Each leaf names its root: `<8 hex>-<id>`, two different root ids, no bare id leaf.
a_leaf=$(leaf "${hier[0]}" "$a_id")
[[ $a_leaf =~ ^[0-9a-f]{8}-$a_id$ ]] || fail "root A's leaf '$a_leaf' is not <root id>-<id>"
[[ $b_leaf =~ ^[0-9a-f]{8}-$b_id$ ]] || fail "root B's leaf '$b_leaf' is not <root id>-<id>"
[ "${a_leaf%%-*}" != "${b_leaf%%-*}" ] || fail "roots A and B share the id ${a_leaf%%-*}"

# B's container is removed cleanly: its workload and cgroups gone, A's and the admin's still there.
nb rm -f b1 >/dev/null || fail "rm -f b1 in root B failed"
for _ in $(seq 40); do gone "$b_pid" && break; sleep 0.05; done
gone "$b_pid" || fail "root B's workload $b_pid survived rm -f"
for h in "${hier[@]}"; do
  [ ! -e "$h/$P/$b_leaf" ] || fail "rm -f left root B's cgroup $h/$P/$b_leaf"
  [ -d "$h/$P/$a_leaf" ] || fail "rm -f in root B removed root A's cgroup $h/$P/$a_leaf"
  for d in "$bare" "$ghost" admin-own; do [ -d "$h/$P/$d" ] || fail "rm -f removed $h/$P/$d"; done
done
[ -z "$(ls "$B/containers")" ] || fail "root B kept container directories: $(ls "$B/containers")"
drift_free B nb
nc_ rm -f a1 >/dev/null
for h in "${hier[@]}"; do [ ! -e "$h/$P/$a_leaf" ] || fail "rm -f left $h/$P/$a_leaf"; done
drift_free A nc_
echo ok
