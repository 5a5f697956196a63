# doctor and gc on leftovers no record names: a cgroup named like this root's container leaf
# (`<root id>-<64 hex>`) under netctl's cgroup parent (with a task in it) and a container
# directory under the state root are reported by doctor (exit 1, nothing changed) and removed by
# gc (the task killed); a running container, a cgroup outside the parent, a non-container cgroup
# inside it, a bare 64-hex one (no root's leaf) and a directory outside <root>/containers are
# untouched.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
P=$NETCTL_CGROUP_PARENT
hier=("${CG_HIER[@]}")  # lib_run.sh
stray=$(printf 'ab%.0s' $(seq 32))       # 64 characters, as a container id
bare=$(printf 'cd%.0s' $(seq 32))        # a 64-hex cgroup without a root id: not netctl's
rid=                                     # this root's id, the prefix of its leaves (set below)
foreign=$P-foreign
sleeper=
running() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = S ]; }  # PID: asleep, not a zombie
cleanup_strays() {
  if [ -n "$sleeper" ]; then kill -9 "$sleeper" 2>/dev/null || true; fi
  sleep 0.1
  for h in "${hier[@]}"; do
    rmdir "$h/$P/$rid-$stray" "$h/$P/$bare" "$h/$P/keepme" "$h/$foreign/$stray" "$h/$foreign" \
      2>/dev/null || true
  done
  cleanup_run
  if [ "${hier[0]}" = /sys/fs/cgroup ]; then  # v2: what cleanup_run could not remove
    for d in /sys/fs/cgroup/"$P"/*/; do
      for t in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$t" 2>/dev/null || true; done
    done
    sleep 0.2
    rmdir /sys/fs/cgroup/"$P"/*/ /sys/fs/cgroup/"$P" 2>/dev/null || true
  fi
}
trap cleanup_strays EXIT

nc_ run -d --name keep --rootfs "$ROOTFS" -- sleep 600 >/dev/null
keep=$(inspect 'c["Id"]' keep)
nc_ doctor >/dev/null || fail "doctor reports drift with one running container: $(nc_ doctor 2>&1)"
rid=$(ls "${hier[0]}/$P" | sed -n "s/^\([0-9a-f]\{8\}\)-$keep\$/\1/p")
[ -n "$rid" ] || fail "no leaf <root id>-$keep under ${hier[0]}/$P: $(ls "${hier[0]}/$P")"
for h in "${hier[@]}"; do
  [ -d "$h/$P/$rid-$keep" ] || fail "no cgroup $h/$P/$rid-$keep for the running container"
  mkdir "$h/$P/$rid-$stray" "$h/$P/$bare" "$h/$P/keepme" "$h/$foreign" "$h/$foreign/$stray"
done
sleep 600 & sleeper=$!; disown "$sleeper"
echo "$sleeper" >"${hier[0]}/$P/$rid-$stray/cgroup.procs"
mkdir -p "$NETCTL_ROOT/containers/$stray/upper" "$NETCTL_ROOT/not-containers/$stray"
echo x >"$NETCTL_ROOT/containers/$stray/log"
echo y >"$NETCTL_ROOT/not-containers/$stray/file"

rc=0; out=$(nc_ doctor 2>/dev/null) || rc=$?
[ "$rc" = 1 ] || fail "doctor exited $rc with strays, want 1"
grep -F "cgroup $stray: no container" <<<"$out" >/dev/null || fail "doctor misses the stray cgroup: $out"
grep -F "container directory $stray: no container" <<<"$out" >/dev/null ||
  fail "doctor misses the stray directory: $out"
[ "$(grep -c "$keep\|$bare\|keepme\|$foreign\|not-containers" <<<"$out")" = 0 ] ||
  fail "doctor reports what is not a stray: $out"
for h in "${hier[@]}"; do [ -d "$h/$P/$rid-$stray" ] || fail "doctor removed $h/$P/$rid-$stray"; done
[ -f "$NETCTL_ROOT/containers/$stray/log" ] || fail "doctor removed the stray directory"
running "$sleeper" || fail "doctor killed the stray cgroup's task"

out=$(nc_ gc) || fail "gc failed: $out"
for h in "${hier[@]}"; do
  [ ! -e "$h/$P/$rid-$stray" ] || fail "gc left the stray cgroup $h/$P/$rid-$stray"
  [ -d "$h/$P/$rid-$keep" ] || fail "gc removed the running container's cgroup $h/$P/$rid-$keep"
  [ -d "$h/$P/keepme" ] || fail "gc removed $h/$P/keepme (not a container id)"
  [ -d "$h/$P/$bare" ] || fail "gc removed $h/$P/$bare (no root id: not netctl's)"
  [ -d "$h/$foreign/$stray" ] || fail "gc removed $h/$foreign/$stray outside its parent"
done
for _ in $(seq 20); do running "$sleeper" || break; sleep 0.05; done
running "$sleeper" && fail "the stray cgroup's task survived gc"
[ ! -e "$NETCTL_ROOT/containers/$stray" ] || fail "gc left the stray container directory"
[ "$(cat "$NETCTL_ROOT/not-containers/$stray/file")" = y ] || fail "gc touched a directory outside containers/"
[ "$(inspect 'c["State"]["Status"]' keep)" = running ] || fail "gc stopped the running container"
[ "$(nc_ exec keep -- echo alive)" = alive ] || fail "the running container does not answer after gc"
nc_ doctor >/dev/null || fail "drift after gc: $(nc_ doctor 2>&1)"
nc_ rm -f keep >/dev/null
echo ok
