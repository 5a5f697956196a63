# shellcheck shell=bash disable=SC2034,SC2016
# Helpers for benchmarks; source this file (bash). Benchmarks run as root, inside a throwaway host
# (netns-fixtures/lib.sh: throwaway_host), and never touch the machine's own network namespace.
#
# Timing: bench_time ARRAY CMD... runs CMD once and appends its wall time in ns to ARRAY, reading
# bash's $EPOCHREALTIME (microseconds, no process started) just before and just after. The window
# holds what a caller of CMD waits for: bash's fork and exec of it, its run, its exit. (Until
# 2026-11-28 it took `date +%s%N` in command substitutions, which added ~2 ms of forks of `date` to
# every figure of every tool.) bench_floor_ms times /bin/true the same way: the cost of starting
# any program at all.

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bench_log() { echo "bench: $*" >&2; }

# bench_time ARRAY CMD...: runs CMD (stdout/stderr to $BENCH_LOG, default /dev/null) and appends
# the elapsed ns to the array named ARRAY. Returns CMD's exit status; a failed op is not recorded.
bench_time() {
  local -n _bt_arr=$1; shift
  local t0 t1 rc=0
  t0=$EPOCHREALTIME
  "$@" >>"${BENCH_LOG:-/dev/null}" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  if [ "$rc" != 0 ]; then
    bench_log "failed (exit $rc): $*"
    return "$rc"
  fi
  # "S.UUUUUU" (the separator follows the locale): microseconds, appended as ns.
  _bt_arr+=($(((10#${t1//[.,]/} - 10#${t0//[.,]/}) * 1000)))
}

# bench_stats DIVISOR NS... : prints "MEDIAN P90 N" in ms (2 decimals) of the ns values, each
# divided by DIVISOR first (e.g. 30 for "ms per network" of a batch of 30). Median: mean of the two
# middle values for even N. P90: nearest rank, the ceil(0.9*N)-th smallest.
bench_stats() {
  local div=$1; shift
  [ $# -gt 0 ] || { echo "- - 0"; return; }
  printf '%s\n' "$@" | sort -n | awk -v d="$div" '
    { v[NR] = $1 / d / 1e6 }
    END {
      n = NR
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      r = int(0.9 * n); if (r < 0.9 * n) r++; if (r < 1) r = 1
      printf "%.2f %.2f %d\n", med, v[r], n
    }'
}
bench_median() { local s; s=$(bench_stats 1 "$@"); echo "${s%% *}"; }
bench_p90() { local s; s=$(bench_stats 1 "$@"); s=${s#* }; echo "${s%% *}"; }

# bench_floor_ms [N]: median ms of timing /bin/true with bench_time (starting any program at all).
bench_floor_ms() {
  local -a _fl=(); local i
  for ((i = 0; i < ${1:-30}; i++)); do bench_time _fl /bin/true; done
  bench_median "${_fl[@]}"
}

bench_machine() {
  echo "machine: $(nproc) CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))," \
    "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
    "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Table output. bench_table_header; bench_row OP NETCTL DOCKER, each cell "MED P90 N" from
# bench_stats, "" (not measured) or "MED design" (a figure quoted from docs/architecture.md
# section 10, not measured).
bench_table_header() {
  printf '| %-44s | %-22s | %-22s | %-13s |\n' operation "netctl median ms (p90)" \
    "docker median ms (p90)" "docker/netctl"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..24})" \
    "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..15})"
}
bench_cell() {  # "MED P90 N" -> "MED (P90)", or "-"
  local m p
  read -r m p _ <<<"${1:-}"
  if [ -z "$m" ] || [ "$m" = - ]; then echo -
  elif [ "$p" = design ]; then echo "$m (docs/architecture.md)"
  else echo "$m ($p)"; fi
}
bench_row() {
  local op=$1 a=${2:-} b=${3:-} ratio=-
  local am bm
  read -r am _ <<<"$a"; read -r bm _ <<<"$b"
  if [ -n "$am" ] && [ -n "$bm" ] && [ "$am" != - ] && [ "$bm" != - ]; then
    ratio=$(awk -v x="$bm" -v y="$am" 'BEGIN { if (y > 0) printf "%.1fx", x / y; else print "-" }')
  fi
  printf '| %-44s | %-22s | %-22s | %-13s |\n' "$op" "$(bench_cell "$a")" "$(bench_cell "$b")" "$ratio"
}

# bench_emit OP NETCTL PEER PEER_CELL [UNIT]: one row for tests/bench/run.sh's combined table,
# appended to $BENCH_TSV when it is set. NETCTL and PEER_CELL are "MED P90 N" cells as above (or
# "" when not measured); UNIT defaults to ms.
bench_emit() {
  [ -n "${BENCH_TSV:-}" ] || return 0
  # Fields split by \x1f: a tab is whitespace to `read`, which would merge empty fields.
  printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$1" "${2:-}" "${3:-}" "${4:-}" "${5:-ms}" >>"$BENCH_TSV"
}

# bench_rerun_in_throwaway "$0" "$@": from outside, re-runs the calling benchmark in a new network +
# mount namespace (NETCTL_THROWAWAY=1) and exits with its status, or 1 if it left something on the
# host: links or the mount count changed; cgroups matching the globs in $BENCH_CGROUPS changed;
# processes whose command line matches $BENCH_PROCS (a pgrep -f pattern) still run.
bench_rerun_in_throwaway() {
  local links mounts cgs procs rc=0 left=""
  bench_links() { ip -o link show | awk -F': ' '{print $2}' | sort; }
  # shellcheck disable=SC2086
  bench_cgroups() { [ -z "${BENCH_CGROUPS:-}" ] || ls -d $BENCH_CGROUPS 2>/dev/null || true; }
  links=$(bench_links) mounts=$(grep -c . /proc/self/mountinfo) cgs=$(bench_cgroups)
  unshare --net --mount env NETCTL_THROWAWAY=1 bash "$@" || rc=$?
  [ "$links" = "$(bench_links)" ] || left+=" host links changed;"
  [ "$mounts" = "$(grep -c . /proc/self/mountinfo)" ] || left+=" mount count changed;"
  [ "$cgs" = "$(bench_cgroups)" ] || left+=" cgroups changed;"
  if [ -n "${BENCH_PROCS:-}" ]; then
    procs=$(pgrep -f "$BENCH_PROCS" || true)
    [ -z "$procs" ] || left+=" processes left: $(tr '\n' ' ' <<<"$procs");"
  fi
  [ -z "$left" ] || { echo "LEFTOVERS:$left" >&2; exit 1; }
  echo "cleanup check: host links, mounts and cgroups unchanged"
  exit "$rc"
}

# bench_private_work NAME: inside the throwaway host, a work dir in $work, tmpfs over /run and
# /var/lib (libcni caches in /var/lib/cni, iptables locks /run/xtables.lock, netavark writes
# /run), and an EXIT trap that deletes the namespaces, the mounts, $work and $NETCTL_ROOT.
MASKS=()
bench_private_work() {
  work=$(mktemp -d "/tmp/bench-$1.XXXXXX")
  trap bench_cleanup EXIT
  local m
  for m in /run /var/lib; do mount -t tmpfs -o mode=755 tmpfs "$m" && MASKS=("$m" "${MASKS[@]}"); done
  mkdir -p /run/netns
}
bench_cleanup() {
  local m
  ip -all netns delete 2>/dev/null || true
  for m in "${MASKS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work" "$NETCTL_ROOT"
}

# wait_port PORT: returns once GET / on 127.0.0.1:PORT answers (bash /dev/tcp: no fork per try);
# 1 after 200000 tries.
wait_port() {
  local line j
  for ((j = 0; j < 200000; j++)); do
    if exec 3<>"/dev/tcp/127.0.0.1/$1"; then
      printf 'GET / HTTP/1.0\r\n\r\n' >&3
      if read -r -t 2 line <&3 && [[ $line == HTTP/* ]]; then exec 3>&-; return 0; fi
      exec 3>&-
    fi
  done 2>/dev/null
  return 1
}

# --- Docker -------------------------------------------------------------------------------------

# ensure_docker: installs docker.io (Docker 20.10 on Debian 12) if dockerd is missing. Run it in the
# machine's namespaces BEFORE throwaway_host (it needs the network).
ensure_docker() {
  command -v dockerd >/dev/null && [ -x /usr/bin/docker ] && return 0
  bench_apt_install docker.io
}

# bench_apt_install PKG...: installs the Debian packages not installed yet, no daemon started on the
# host (scripts/apt-install.sh). Run it in the machine's namespaces BEFORE throwaway_host (it needs
# the network).
bench_apt_install() {
  "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt-install.sh" "$@"
}

# start_dockerd DIR: starts dockerd (and the containerd it spawns) with everything under DIR:
# --data-root, --exec-root, --pidfile, the API socket, an empty daemon.json. Call it only inside a
# throwaway host. On success sets DOCKERD_PID and exports DOCKER_HOST; on failure returns 1 and sets
# DOCKERD_ERR to the reason. Extra dockerd flags: $DOCKERD_FLAGS.
DOCKERD_PID=
DOCKERD_DIR=
DOCKERD_ERR=
DOCKERD_MASKS=()
start_dockerd() {
  local dir=$1 i
  [ -n "${NETCTL_THROWAWAY:-}" ] || { DOCKERD_ERR="refusing to start dockerd outside a throwaway host"; return 1; }
  command -v dockerd >/dev/null || { DOCKERD_ERR="dockerd is not installed"; return 1; }
  DOCKERD_DIR=$dir
  mkdir -p "$dir/data" "$dir/exec" "$dir/cli"
  echo '{}' >"$dir/daemon.json"
  # dockerd and its containerd also write outside their dirs: /etc/docker/key.json,
  # /run/docker/plugins, /opt/containerd/{bin,lib}. Hide those places behind tmpfs mounts in this
  # (private) mount namespace so nothing lands on the machine's disk. Masking /run also hides the
  # host's D-Bus socket, so dockerd does not look for firewalld.
  DOCKERD_MASKS=()
  local m
  for m in /etc/docker /run /opt; do
    if [ -d "$m" ] && mount -t tmpfs -o mode=755 tmpfs "$m"; then DOCKERD_MASKS+=("$m"); fi
  done
  mkdir -p /run/netns
  export DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/cli
  # shellcheck disable=SC2086
  dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/docker.pid" -H "$DOCKER_HOST" --log-level warn ${DOCKERD_FLAGS:-} \
    >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      DOCKERD_ERR="dockerd exited: $(grep -v '^$' "$dir/dockerd.log" | tail -n 3 | tr '\n' ' ')"
      wait "$DOCKERD_PID" 2>/dev/null; DOCKERD_PID=
      return 1
    fi
    if /usr/bin/docker version >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  DOCKERD_ERR="dockerd did not answer within 30 s: $(tail -n 3 "$dir/dockerd.log" | tr '\n' ' ')"
  stop_dockerd
  return 1
}

# stop_dockerd: stops the dockerd started above (TERM, then KILL after 20 s) and the containerd it
# spawned (by the pid in its pidfile), then unmounts whatever they left under DOCKERD_DIR.
stop_dockerd() {
  local cpid="" i m
  if [ -n "$DOCKERD_DIR" ] && [ -f "$DOCKERD_DIR/exec/containerd/containerd.pid" ]; then
    cpid=$(cat "$DOCKERD_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
  fi
  if [ -n "$DOCKERD_PID" ]; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=
  fi
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$cpid" 2>/dev/null || true
  fi
  if [ -n "$DOCKERD_DIR" ]; then
    # Mounts dockerd made under its dirs (overlay2 home, netns files), innermost first.
    awk -v d="$DOCKERD_DIR" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  for m in "${DOCKERD_MASKS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  DOCKERD_MASKS=()
  return 0
}

# docker_ CMD...: the Debian docker.io client (matches the 20.10 daemon; /usr/local/bin may hold
# another docker CLI).
docker_() { /usr/bin/docker "$@"; }

# --- CNI peers (docs/architecture.md section 10; /work/shared/tools) ---------------------------

BENCH_TOOLS=${BENCH_TOOLS:-/work/shared/tools}

# ensure_cnitool OUT: builds the minimal cnitool of $BENCH_TOOLS/cnitool (Debian's packaged upstream
# libcni) into OUT, a cache such as /var/tmp/netctl-bench/cnitool, unless OUT already exists.
# Installs golang-go and golang-github-appc-cni-dev first. The Go build cache and work dirs go into
# a temp dir that is removed afterwards (nothing in ~/.cache). Outside any throwaway host.
ensure_cnitool() {
  local out=$1 tmp rc=0
  [ -x "$out" ] && return 0
  [ -f "$BENCH_TOOLS/cnitool/build.sh" ] || { bench_log "no $BENCH_TOOLS/cnitool/build.sh"; return 1; }
  bench_apt_install golang-go golang-github-appc-cni-dev || return 1
  mkdir -p "$(dirname "$out")"
  tmp=$(mktemp -d /tmp/bench-cnitool.XXXXXX)
  bench_log "building cnitool into $out"
  TMPDIR=$tmp GOTMPDIR=$tmp GOCACHE=$tmp/gocache HOME=$tmp \
    sh "$BENCH_TOOLS/cnitool/build.sh" "$out.tmp.$$" >/dev/null || rc=$?
  if [ "$rc" = 0 ]; then mv -f "$out.tmp.$$" "$out"; else rm -f "$out.tmp.$$"; fi
  rm -rf --one-file-system "$tmp"
  return "$rc"
}

# bench_export_cni_versions: LIBCNI_VERSION and REF_VERSION (the CNI reference plugins), from
# dpkg, exported for the throwaway host ("?" when missing). Outside it: the throwaway host covers
# /var/lib, and with it dpkg's database, with a tmpfs.
bench_export_cni_versions() {
  LIBCNI_VERSION=$(dpkg-query -W -f='${Version}' golang-github-appc-cni-dev 2>/dev/null || echo "?")
  REF_VERSION=$(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo "?")
  export LIBCNI_VERSION REF_VERSION
}
