#!/usr/bin/env bash
# Benchmark (issue 26): netctl's Docker remote network + IPAM driver (plugins/docker,
# `netctl plugin serve`) against Docker's built-in bridge driver, both under the real dockerd 20.10
# in one run, on the same dockerd, in alternating order each round:
#   docker network create / rm (a --subnet network, nothing attached);
#   docker network connect / disconnect of a running container (a second network);
#   docker run -d -p PORT:80 (busybox httpd) until GET / on 127.0.0.1:PORT answers (and until the
#   command exits), then rm -f; once per round docker run -d --network none as the baseline;
#   resident memory (VmRSS) of what serves the published ports: the one netctl-docker process
#   against the bridge driver's docker-proxy processes (one per published port and address
#   family: 0.0.0.0 and ::), with 1 and with NPORTS containers publishing a port each.
# Usage (root): tests/bench/docker.sh            (about 75 s on a 2 vCPU VM)
# Env: NETCTL (build/netctl; netctl-docker and netctl-shim beside it), N rounds (20), NPORTS (10),
# PROFILE=1 (a recording proxy between dockerd and the plugin: per op, the time spent inside the
# plugin by method; adds ~0.3 ms per plugin call, so the timed figures are not comparable then).
# Everything runs inside a throwaway network + mount namespace; nothing is left behind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} N=${N:-20} NPORTS=${NPORTS:-10} PROFILE=${PROFILE:-}

if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  for b in netctl netctl-docker netctl-shim; do
    [ -x "$(dirname "$NETCTL")/$b" ] || { echo "no $b beside $NETCTL (build it)" >&2; exit 2; }
  done
  for v in N NPORTS; do
    if ! [ "${!v}" -ge 1 ] 2>/dev/null || [ "${!v}" -gt 90 ]; then echo "$v must be 1..90" >&2; exit 2; fi
  done
  ensure_docker || { echo "docker.io could not be installed" >&2; exit 1; }
  bench_apt_install busybox-static || { echo "busybox-static could not be installed" >&2; exit 1; }
  # Everything started here names the work dir /tmp/bench-docker.* (the plugin runs from it,
  # dockerd and containerd keep their state in it), except docker-proxy, named by the bench's
  # container subnet. dockerd's cgroup parent is netctl-bench-docker-PID, relative to dockerd's own
  # cgroup: the root of most v1 hierarchies, a nested one in some (memory inside a sandbox).
  BENCH_CGROUPS="/sys/fs/cgroup/*/netctl-bench-docker-* /sys/fs/cgroup/*/*/netctl-bench-docker-*
    /sys/fs/cgroup/*/*/*/netctl-bench-docker-*" \
    BENCH_PROCS='/tmp/bench-docker[.]|docker-proxy .*-container-ip 198[.]51[.]100[.]' \
    bench_rerun_in_throwaway "$0" "$@"
fi

throwaway_host "$0" "$@"
work=$(mktemp -d /tmp/bench-docker.XXXXXX)
cg_parent=netctl-bench-docker-$$
PLUGIN_PID="" PROXY_PID=""
stop_pid() {  # PID: TERM, then KILL after 5 s
  local i
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  if [ "$rc" != 0 ]; then
    kill -0 "$PLUGIN_PID" 2>/dev/null || echo "the plugin is gone: $(tail -n 5 "$work/plugin.log")" >&2
    echo "last ops: $(tail -n 5 "$work/ops.log" 2>/dev/null)" >&2
  fi
  if [ -n "$DOCKERD_PID" ]; then
    # shellcheck disable=SC2046
    docker_ rm -f $(docker_ ps -aq) >/dev/null 2>&1
    # shellcheck disable=SC2046
    docker_ network rm $(docker_ network ls -q --filter driver=netctl) >/dev/null 2>&1
    docker_ network prune -f >/dev/null 2>&1
  fi
  stop_pid "$PLUGIN_PID"; stop_pid "$PROXY_PID"
  stop_dockerd
  find /sys/fs/cgroup -maxdepth 4 -type d -name "$cg_parent" | while read -r d; do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  ip -all netns delete 2>/dev/null
  awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$work" "$NETCTL_ROOT"
}
trap cleanup EXIT
set -E
trap 'echo "bench: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

"$repo/netns-fixtures/rootfs.sh" "$work/rootfs"
# A private copy (netctl plugin serve execs netctl-docker beside it), so a rebuild during the run
# swaps nothing and every process of netctl's runs from $work.
mkdir "$work/bin"
for b in netctl netctl-docker netctl-shim netctl-dns; do
  [ ! -e "$(dirname "$NETCTL")/$b" ] || cp "$(dirname "$NETCTL")/$b" "$work/bin/$b"
done
NETCTL=$work/bin/netctl
bench_machine

# Addresses: TEST-NET ranges only. docker0 (unused) on 203.0.113.192/26; the networks below.
sysctl -qw net.ipv4.ip_forward=1  # before dockerd: it then leaves the FORWARD policy alone
DOCKERD_FLAGS="--bip 203.0.113.193/26 --cgroup-parent $cg_parent"
start_dockerd "$work/docker" || { echo "dockerd did not start: $DOCKERD_ERR" >&2; exit 1; }
echo "docker: $(docker_ version -f '{{.Server.Version}}'), userland-proxy on (the default)"

# PROFILE=1: a proxy between dockerd and the plugin that logs "START END METHOD" per plugin call
# (START: the request's first bytes in, END: the answer's first bytes back; Docker's client sends
# one request at a time per connection).
PROXY_PY='
import asyncio, sys, time
listen, upstream, log = sys.argv[1:4]
out = open(log, "a", buffering=1)
async def up(cr, uw, st):
    while data := await cr.read(65536):
        if data.startswith(b"POST "):
            st["m"], st["t0"] = data.split(b" ", 2)[1].decode(), time.time()
        uw.write(data)
        await uw.drain()
    uw.close()
async def down(ur, cw, st):
    while data := await ur.read(65536):
        if "t0" in st:
            out.write("%.6f %.6f %s\n" % (st.pop("t0"), time.time(), st.pop("m")))
        cw.write(data)
        await cw.drain()
    cw.close()
async def conn(cr, cw):
    ur, uw = await asyncio.open_unix_connection(upstream)
    st = {}
    await asyncio.gather(up(cr, uw, st), down(ur, cw, st), return_exceptions=True)
async def main():
    srv = await asyncio.start_unix_server(conn, listen)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
'
# The profile: per op of netctl's driver, its median time, the plugin's time in it (mean over the
# rounds), and per plugin method called during it the calls per op and the median ms per call.
REPORT_PY='
import sys, statistics as st
calls = [l.split() for l in open(sys.argv[1])]
marks = [l.split() for l in open(sys.argv[2])]
ops, per = {}, {}
for (t, op, d), (t2, _, _) in zip(marks, marks[1:]):
    if d != "nc" or op == "end":
        continue
    t, t2 = float(t), float(t2)
    ops.setdefault(op, []).append(t2 - t)
    for c0, c1, m in calls:
        if t <= float(c0) < t2:
            per.setdefault(op, {}).setdefault(m.lstrip("/"), []).append(float(c1) - float(c0))
print("PROFILE (netctl driver; a proxy in the path, so slower than the table): per op, its median,"
      " the time inside the plugin (mean per op), and per method: calls per op x median ms")
for op, ts in ops.items():
    n = len(ts)
    ms = per.get(op, {})
    inside = sum(sum(v) for v in ms.values()) / n * 1e3
    print("%-10s op %7.2f ms, plugin %6.2f ms:" % (op, st.median(ts) * 1e3, inside),
          ", ".join("%s %gx%.2f" % (m, len(v) / n, st.median(v) * 1e3) for m, v in ms.items()))
'

# The plugin, on the socket dockerd finds (start_dockerd put a tmpfs on /run). With PROFILE=1 it
# serves $work/plugin.sock and a recording proxy serves netctl.sock.
sock=/run/docker/plugins/netctl.sock
start_plugin() {
  local at=$sock i
  [ -z "$PROFILE" ] || at=$work/plugin.sock
  "$NETCTL" plugin serve --socket "$at" >"$work/plugin.log" 2>&1 &
  PLUGIN_PID=$!
  if [ -n "$PROFILE" ]; then
    python3 -c "$PROXY_PY" "$sock" "$at" "$work/calls.log" >"$work/proxy.log" 2>&1 &
    PROXY_PID=$!
  fi
  for ((i = 0; i < 100; i++)); do
    [ -S "$sock" ] && [ -S "$at" ] && return 0
    sleep 0.05
  done
  echo "plugin socket missing: $(cat "$work/plugin.log")" >&2
  exit 1
}
start_plugin

tar -C "$work/rootfs" -c . | docker_ import - netctl-bench-bb >/dev/null
HTTPD=(httpd -f -p 80 -h /var/www)
# Per driver: its docker network create flags and its subnets (home network of the connected
# container, the network it is connected to, the create/rm network).
declare -A DRV=([br]="-d bridge" [nc]="-d netctl --ipam-driver netctl")
declare -A HOME_NET=([br]=198.51.100.0/27 [nc]=198.51.100.32/27)
declare -A CONN_NET=([br]=198.51.100.64/27 [nc]=198.51.100.96/27)
declare -A CRT_NET=([br]=198.51.100.128/27 [nc]=198.51.100.160/27)
declare -A PORT0=([br]=8100 [nc]=8300)
for d in br nc; do
  # shellcheck disable=SC2086
  docker_ network create ${DRV[$d]} --subnet "${HOME_NET[$d]}" home-$d >/dev/null
  # shellcheck disable=SC2086
  docker_ network create ${DRV[$d]} --subnet "${CONN_NET[$d]}" conn-$d >/dev/null
  docker_ run -d --name idle-$d --network home-$d netctl-bench-bb sleep 3600 >/dev/null
done

# run_to_port ARRAY PORT CMD...: appends two ns values, from the start of CMD to GET / on the port
# answering, and from the start of CMD to its exit.
run_to_port() {
  local -n _rp=$1; local port=$2 t0 t1 t2; shift 2
  t0=$EPOCHREALTIME
  "$@" >/dev/null || return 1
  t1=$EPOCHREALTIME
  wait_port "$port" || return 1
  t2=$EPOCHREALTIME
  _rp+=($(((10#${t2//[.,]/} - 10#${t0//[.,]/}) * 1000)) $(((10#${t1//[.,]/} - 10#${t0//[.,]/}) * 1000)))
}
# mark OP DRIVER: with PROFILE=1, the start of an op in the profile's timeline.
mark() { [ -z "$PROFILE" ] || echo "$EPOCHREALTIME $1 $2" >>"$work/marks.log"; }

# One round of every op for driver $1 (round $2).
declare -A T=()  # T[op.driver]: space-separated ns values
declare -a base=()  # docker run -d --network none, ns
round() {
  local d=$1 i=$2 port=$((PORT0[$1] + $2)) op
  local -a t=()
  mark create "$d"
  # shellcheck disable=SC2086
  bench_time t docker_ network create ${DRV[$d]} --subnet "${CRT_NET[$d]}" "crt-$d"
  mark rm "$d"; bench_time t docker_ network rm "crt-$d"
  mark connect "$d"; bench_time t docker_ network connect "conn-$d" "idle-$d"
  mark disconnect "$d"; bench_time t docker_ network disconnect "conn-$d" "idle-$d"
  mark run "$d"
  run_to_port t "$port" docker_ run -d --name "web-$d" --network "home-$d" -p "$port:80" \
    netctl-bench-bb "${HTTPD[@]}" || { echo "run -p $port ($d) did not answer" >&2; exit 1; }
  mark rmf "$d"; bench_time t docker_ rm -f "web-$d"
  mark end "$d"
  if [ "$d" = br ]; then  # once per round: the same run without any network, the baseline
    bench_time base docker_ run -d --name base --network none netctl-bench-bb "${HTTPD[@]}"
    docker_ rm -f base >/dev/null
  fi
  [ ${#t[@]} = 7 ] || { echo "round $i of $d failed (BENCH_LOG=$work/ops.log)" >&2; exit 1; }
  for op in create rm connect disconnect run runret rmf; do T[$op.$d]+=" ${t[0]}"; t=("${t[@]:1}"); done
}
export BENCH_LOG=$work/ops.log
for d in br nc; do  # warm-up, not counted
  round "$d" 0 >/dev/null
  T=() base=()
done
: >"$work/marks.log"; : >"$work/calls.log"
bench_log "$N rounds, both drivers each round, alternating which goes first"
for ((i = 1; i <= N; i++)); do
  if ((i % 2)); then round br "$i"; round nc "$i"; else round nc "$i"; round br "$i"; fi
done

# --- Resident memory: the plugin process against docker-proxy, per published port -------------
rss() {  # PID...: summed VmRSS in KiB
  local s=0 p v
  for p in "$@"; do
    v=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
# The processes that stay to serve published ports besides dockerd and containerd-shim: the
# bridge driver's docker-proxy (children of dockerd); netctl's plugin and any netctl helper.
proxies() { pgrep -P "$DOCKERD_PID" -x docker-proxy || true; }
nc_procs() { echo "$PLUGIN_PID"; pgrep -f "^$work/bin/netctl-(dns|shim)" || true; }
declare -A MEM=()
mem_snapshot() {  # K: MEM[DRIVER.K] (KiB) and MEM[DRIVER.nK] (processes) with K ports published
  local -a br nc
  mapfile -t br < <(proxies); mapfile -t nc < <(nc_procs)
  MEM[br.$1]=$(rss "${br[@]}") MEM[br.n$1]=${#br[@]} MEM[nc.$1]=$(rss "${nc[@]}") MEM[nc.n$1]=${#nc[@]}
}
mem_snapshot 0
for ((k = 1; k <= NPORTS; k++)); do
  for d in br nc; do
    port=$((PORT0[$d] + 100 + k))
    docker_ run -d --name "mem-$d-$k" --network "home-$d" -p "$port:80" netctl-bench-bb \
      "${HTTPD[@]}" >/dev/null || { echo "run for the RSS of $d failed" >&2; exit 1; }
    wait_port "$port" || { echo "port $port ($d) did not answer" >&2; exit 1; }
  done
  if [ "$k" = 1 ] || [ "$k" = "$NPORTS" ]; then mem_snapshot "$k"; fi
done
plugin_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PLUGIN_PID/status")

# --- Table ----------------------------------------------------------------------------------------
declare -A OPNAME=([create]="docker network create --subnet" [rm]="docker network rm"
  [connect]="docker network connect (running container)"
  [disconnect]="docker network disconnect (running container)"
  [run]="docker run -d -p until 127.0.0.1:PORT answers" [runret]="  of which: until docker run exits"
  [rmf]="docker rm -f (published port)")
echo
echo "Docker 20.10: netctl's remote driver against the built-in bridge driver, $N rounds each:" \
  "median ms (p90), the ratio of the medians, and the median of the per-round ratios with the" \
  "rounds netctl was faster in"
# paired NC BR: the rounds' ns in round order (the two drivers ran back to back in each round):
# "MEDIAN-RATIO, W/N", the median of the per-round ratios netctl/bridge and in how many rounds
# netctl was the faster one. Less sensitive than the ratio of medians to load that drifts.
paired() {
  paste <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
    awk '{ print $1 / $2, ($1 < $2) }' | sort -n |
    awk '{ r[NR] = $1; w += $2 }
      END { m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
            printf "%.2fx, %d/%d", m, w, NR }'
}
printf '| %-46s | %-16s | %-16s | %-13s | %-22s |\n' operation "bridge" "netctl" "netctl/bridge" \
  "per round, netctl won"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..18})" \
  "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..24})"
for op in create rm connect disconnect run runret rmf; do
  # shellcheck disable=SC2086
  read -r bm bp _ <<<"$(bench_stats 1 ${T[$op.br]})"
  # shellcheck disable=SC2086
  read -r nm np _ <<<"$(bench_stats 1 ${T[$op.nc]})"
  printf '| %-46s | %-16s | %-16s | %-13s | %-22s |\n' "${OPNAME[$op]}" "$bm ($bp)" "$nm ($np)" \
    "$(awk -v a="$nm" -v b="$bm" 'BEGIN { printf "%.2fx", a / b }')" \
    "$(paired "${T[$op.nc]}" "${T[$op.br]}")"
  bench_emit "docker 20.10: ${OPNAME[$op]} (netctl driver)" "$nm $np $N" \
    "docker 20.10 bridge driver" "$bm $bp $N"
done
# What the network adds to docker run -d: per round, run (until exit) minus the baseline.
net_share() {  # RUNRET_NS: "MEDIAN P90" ms of the per-round differences
  local -a diff
  mapfile -t diff < <(paste <(tr ' ' '\n' <<<"$1" | grep .) <(printf '%s\n' "${base[@]}") |
    awk '{ print $1 - $2 }')
  bench_stats 1 "${diff[@]}" | awk '{ printf "%s (%s)", $1, $2 }'
}
read -r zm zp _ <<<"$(bench_stats 1 "${base[@]}")"
echo "baseline docker run -d --network none (until it exits): $zm ($zp) ms; the network's share of" \
  "docker run -d -p (per round, run minus baseline; median (p90) ms):" \
  "bridge $(net_share "${T[runret.br]}"), netctl $(net_share "${T[runret.nc]}")"
echo
echo "Resident memory (VmRSS, KiB) of what serves published ports, beside dockerd and the shims:"
printf '| %-22s | %-34s | %-34s |\n' "published ports" "bridge: docker-proxy processes" \
  "netctl: the plugin process"
for k in 0 1 $([ "$NPORTS" = 1 ] || echo "$NPORTS"); do
  printf '| %-22s | %-34s | %-34s |\n' "$k" "${MEM[br.$k]} (${MEM[br.n$k]} processes)" \
    "${MEM[nc.$k]} (${MEM[nc.n$k]} process$([ "${MEM[nc.n$k]}" = 1 ] || echo es))"
done
echo "plugin peak RSS (VmHWM) over the run: $plugin_hwm KiB"
bench_emit "docker 20.10: RSS serving $NPORTS published ports" "${MEM[nc.$NPORTS]} - 1" \
  "docker-proxy x${MEM[br.n$NPORTS]}" "${MEM[br.$NPORTS]} - 1" KiB
if [ -n "$PROFILE" ]; then
  echo
  python3 -c "$REPORT_PY" "$work/calls.log" "$work/marks.log"
fi
