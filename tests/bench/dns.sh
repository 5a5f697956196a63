#!/usr/bin/env bash
# Benchmark: container name resolution (issue 24). netctl's server (netctl-dns, started by the
# attach of `netctl run -d` and listening on the network's gateway), aardvark-dns 1.4 (Podman's;
# run here on a bridge this script makes, with a config dir it writes) and Docker 20.10's
# embedded DNS (127.0.0.11 inside a container on a user network), side by side in one run, with
# the same dnsperf query mixes from a client inside each server's network:
#   local: A queries for the names of 8 containers of the client's network (c1..c8);
#   forwarded: A queries for f1..f8.example.test, which every server forwards to one upstream,
#     dnsmasq in a neighbour namespace (198.51.100.2), named in the throwaway host's resolv.conf.
# Reported per server and mix: queries per second at saturation (dnsperf -l SECS, median over
# ROUNDS; then the same from dnsload, tests/bench/dnsload.c, a client light enough that the server
# rather than the client saturates: on 2 vCPUs dnsperf costs as much CPU per query as a server),
# p50/p99 latency of a second, rate-limited dnsperf run (-Q LAT_QPS, every answer's latency from
# dnsperf -v, pooled over the rounds), the servers' RSS before the first query and
# after the runs; for netctl and Docker, whether a name resolves at once after `run -d` returns
# (and is gone at once after `rm -f`). netctl-dns limits each source to 500 q/s, so after one run
# against it as netctl started it, the bench restarts it with --rate 0 (no limit) for the rest.
# Usage (root): sudo tests/bench/dns.sh         (about 5 minutes on a 2 vCPU VM)
# Env: NETCTL (build/netctl), ROUNDS (3), SECS (5), LAT_QPS (2000), LAT_SECS (3), CLIENTS (4),
# OUTSTANDING (100), RUNS (20), WINDOW (256: dnsload's queries in flight), NO_DOCKER=1,
# AARDVARK (/usr/lib/podman/aardvark-dns).
# Everything runs inside a throwaway network + mount namespace; nothing is left behind and no
# query leaves it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} ROUNDS=${ROUNDS:-3} SECS=${SECS:-5}
export LAT_QPS=${LAT_QPS:-2000} LAT_SECS=${LAT_SECS:-3} CLIENTS=${CLIENTS:-4}
export OUTSTANDING=${OUTSTANDING:-100} RUNS=${RUNS:-20} WINDOW=${WINDOW:-256}
export AARDVARK=${AARDVARK:-/usr/lib/podman/aardvark-dns}

if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
  for v in ROUNDS SECS LAT_QPS LAT_SECS CLIENTS OUTSTANDING RUNS WINDOW; do
    [ "${!v}" -ge 1 ] 2>/dev/null || { echo "$v must be a number >= 1" >&2; exit 2; }
  done
  pkgs=(dnsperf dnsmasq-base aardvark-dns busybox-static libldns-dev)
  [ -n "${NO_DOCKER:-}" ] || pkgs+=(docker.io)
  bench_apt_install "${pkgs[@]}" || bench_log "some of ${pkgs[*]} could not be installed"
  # Every server and client it starts runs from or names its work dir /tmp/bench-dns.*.
  BENCH_CGROUPS="/sys/fs/cgroup/*/netctl-bench-* /sys/fs/cgroup/*/docker" \
    BENCH_PROCS='/tmp/bench-dns[.]' bench_rerun_in_throwaway "$0" "$@"
fi

throwaway_host "$0" "$@"
work=$(mktemp -d /tmp/bench-dns.XXXXXX)
export NETCTL_CGROUP_PARENT=netctl-bench-$$
UP_PID="" AA_PID="" NC_DNS_PID=""
docker_cg_before=$(ls -d /sys/fs/cgroup/*/docker 2>/dev/null || true)
rm_docker_cgroups() {  # cgroupfs is not namespaced: dockerd's "docker" parent goes with it
  [ -z "$docker_cg_before" ] || return 0
  local d
  for d in /sys/fs/cgroup/*/docker; do
    [ -d "$d" ] || continue
    find "$d" -mindepth 1 -type d | sort -r | xargs -r rmdir 2>/dev/null
    rmdir "$d" 2>/dev/null || true
  done
}
stop_pid() {  # PID: TERM, then KILL after 5 s
  local i
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  local ids d
  ids=$("$NETCTL" --format json ps -a 2>/dev/null | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || "$NETCTL" rm -f $ids >/dev/null 2>&1
  "$NETCTL" network rm bn >/dev/null 2>&1
  NC_DNS_PID=$(nc_dns_pid); stop_pid "$NC_DNS_PID"  # it exits by itself once bn is empty
  stop_pid "$AA_PID"; stop_pid "$UP_PID"
  ip -all netns delete 2>/dev/null
  if [ -n "$DOCKERD_PID" ]; then
    # shellcheck disable=SC2046
    docker_ rm -f $(docker_ ps -aq) >/dev/null 2>&1; docker_ network rm dn >/dev/null 2>&1
    stop_dockerd; rm_docker_cgroups
  fi
  for d in /sys/fs/cgroup/*/"$NETCTL_CGROUP_PARENT"; do rmdir "$d"/* "$d" 2>/dev/null; done
  awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  umount /etc/resolv.conf 2>/dev/null
  rm -rf --one-file-system "$work" "$NETCTL_ROOT"
}
trap cleanup EXIT
# netctl-dns of this root: the pid its lock file holds, if that process is a netctl-dns.
nc_dns_pid() {
  local p
  p=$(head -n 1 "$NETCTL_ROOT/dns/lock" 2>/dev/null || true)
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = netctl-dns ] && echo "$p"
  return 0
}
rss_kib() { [ -z "${1:-}" ] || ps -o rss= -p "$1" 2>/dev/null | tr -d ' ' || true; }

"$repo/netns-fixtures/rootfs.sh" "$work/rootfs"
# A private copy of the binaries (netctl finds netctl-shim and netctl-dns beside itself).
mkdir "$work/bin"
for b in netctl netctl-shim netctl-dns; do
  [ ! -e "$(dirname "$NETCTL")/$b" ] || cp "$(dirname "$NETCTL")/$b" "$work/bin/$b"
done
NETCTL=$work/bin/netctl
DNSLOAD=$work/bin/dnsload
cc -O2 -o "$DNSLOAD" "$here/dnsload.c" -lldns 2>>"$work/cc.log" ||
  { bench_log "dnsload not built (no C compiler or libldns-dev): dnsperf rows only"; DNSLOAD=""; }
bench_machine

# --- the upstream and the query files --------------------------------------------------------
printf 'nameserver 198.51.100.2\n' >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf  # this mount namespace only
for i in 1 2 3 4 5 6 7 8; do echo "c$i A" >>"$work/q.local"; echo "f$i.example.test A" >>"$work/q.fwd"; done
MIXES=(local fwd)
declare -A MIX_NAME=([local]="local names" [fwd]="forwarded names")
declare -A SERVER=() CLIENT=() WHY=() RSS0=() RSS1=() PID=()
SERVERS=(nc aa dk)
SETUP_ORDER=(dk aa nc)  # dockerd covers /run with a tmpfs: before anything that lives there
declare -A LABEL=([nc]="netctl-dns" [aa]="aardvark-dns 1.4" [dk]="docker 20.10")

# check_server S: the server answers c1 (its address) and f1.example.test (the upstream's).
check_server() {
  local s=$1 out
  # shellcheck disable=SC2086
  out=$(${CLIENT[$s]} busybox nslookup -type=a c1 "${SERVER[$s]}" 2>&1) || { WHY[$s]="c1 does not resolve: $(tail -n 1 <<<"$out")"; return 1; }
  # shellcheck disable=SC2086
  out=$(${CLIENT[$s]} busybox nslookup -type=a f1.example.test "${SERVER[$s]}" 2>&1) || true
  grep -q 198.51.100.77 <<<"$out" || { WHY[$s]="f1.example.test not forwarded: $(tail -n 1 <<<"$out")"; return 1; }
}

# --- aardvark-dns: a bridge, a client namespace, one config file for the network ------------------
setup_aardvark() {
  [ -x "$AARDVARK" ] || { WHY[aa]="no $AARDVARK"; return 1; }
  ip link add aabr type bridge && ip addr add 10.99.0.1/24 dev aabr && ip link set aabr up
  ip netns add aac
  ip link add aav0 type veth peer name eth0 netns aac
  ip link set aav0 master aabr up
  ip -n aac addr add 10.99.0.2/24 dev eth0; ip -n aac link set eth0 up; ip -n aac link set lo up
  mkdir "$work/aardvark"
  # First line: the gateway it listens on; then "ID IPV4S IPV6S NAMES" per container (the client
  # too: aardvark answers local names only to sources it knows).
  { echo 10.99.0.1; printf '%064d 10.99.0.2  a0\n' 0
    for i in 1 2 3 4 5 6 7 8; do printf '%064d 10.99.0.%d  c%d\n' "$i" $((10 + i)) "$i"; done
  } >"$work/aardvark/an"
  # `run` forks the server and returns once it serves; the server writes its pid beside the config.
  "$AARDVARK" --config "$work/aardvark" -p 53 run >/dev/null 2>&1 || { WHY[aa]="aardvark-dns run failed"; return 1; }
  AA_PID=$(cat "$work/aardvark/aardvark.pid")
  PID[aa]=$AA_PID SERVER[aa]=10.99.0.1 CLIENT[aa]="ip netns exec aac"
}

# --- Docker: dockerd in this throwaway host, 8 containers and a client on a user network ----------
setup_docker() {
  [ -z "${NO_DOCKER:-}" ] || { WHY[dk]="NO_DOCKER set"; return 1; }
  start_dockerd "$work/docker" || { WHY[dk]=$DOCKERD_ERR; return 1; }
  tar -C "$work/rootfs" -c . | docker_ import - netctl-bench-bb >/dev/null
  docker_ network create --subnet 10.98.0.0/24 dn >/dev/null
  local i
  for i in 0 1 2 3 4 5 6 7 8; do
    docker_ run -d --name "c$i" --network dn netctl-bench-bb sleep 3600 >/dev/null ||
      { WHY[dk]="docker run failed"; return 1; }
  done
  PID[dk]=$DOCKERD_PID SERVER[dk]=127.0.0.11
  CLIENT[dk]="nsenter -t $(docker_ inspect -f '{{.State.Pid}}' c0) -n"
}

# --- netctl: a network, 8 containers and a client; the server starts with the first attach -------
nc_pid_of() { "$NETCTL" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])'; }
nc_run() { "$NETCTL" run -d --name "$1" --network bn --rootfs "$work/rootfs" -- sleep 3600; }
setup_netctl() {
  "$NETCTL" network create --subnet 10.97.0.0/24 bn >/dev/null || { WHY[nc]="network create failed"; return 1; }
  local i
  for i in 0 1 2 3 4 5 6 7 8; do nc_run "c$i" >/dev/null || { WHY[nc]="netctl run failed"; return 1; }; done
  NC_DNS_PID=$(nc_dns_pid)
  [ -n "$NC_DNS_PID" ] || { WHY[nc]="no netctl-dns runs for this root after run -d"; return 1; }
  PID[nc]=$NC_DNS_PID SERVER[nc]=10.97.0.1 CLIENT[nc]="nsenter -t $(nc_pid_of c0) -n"
}

for s in "${SETUP_ORDER[@]}"; do
  case $s in nc) f=setup_netctl ;; aa) f=setup_aardvark ;; dk) f=setup_docker ;; esac
  $f || { bench_log "${LABEL[$s]}: not measured: ${WHY[$s]:-setup failed}"; SERVER[$s]=""; }
done
# The upstream: dnsmasq in a neighbour namespace, answering every name under example.test.
add_neighbour up 198.51.100.2/24 198.51.100.1/24
ip netns exec up dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address=198.51.100.2 --address=/example.test/198.51.100.77 \
  --user=root --group=root --pid-file="$work/dnsmasq.pid" >"$work/dnsmasq.log" 2>&1 &
UP_PID=$!
sleep 1
for s in "${SERVERS[@]}"; do RSS0[$s]=$(rss_kib "${PID[$s]:-}"); done  # no query served yet
for s in "${SERVERS[@]}"; do
  [ -n "${SERVER[$s]}" ] || continue
  if check_server "$s"; then bench_log "${LABEL[$s]}: ready on ${SERVER[$s]}"
  else bench_log "${LABEL[$s]}: not measured: ${WHY[$s]}"; SERVER[$s]=""; fi
done

# --- throughput and latency, ROUNDS rounds, every server and mix in each round -------------------
declare -A QPS=() BAD=()
# Each forward is a new UDP flow (a new source port) for every server here: ~15k conntrack entries
# a second, which live 30 s. Every run starts with empty conntrack tables (the throwaway host's,
# the client's), as on a fresh host, so no run pays for the flows of the runs before it.
ct_flush() {
  conntrack -F >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  [ -z "${CLIENT[$1]}" ] || ${CLIENT[$1]} conntrack -F >/dev/null 2>&1 || true
}
# cpu_ticks PID: user + system time of PID, every thread, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)
declare -A CPUQ=() QPSL=() CPUL=()
# perf S MIX: one saturating run; appends its qps to QPS[S.MIX] and the server's CPU time per
# answered query (us, all its threads) to CPUQ[S.MIX]; notes lost or failed answers.
perf() {
  local s=$1 m=$2 out q lost ok c0 c1 sent answered
  ct_flush "$s"
  c0=$(cpu_ticks "${PID[$s]}")
  # shellcheck disable=SC2086
  out=$(${CLIENT[$s]} dnsperf -s "${SERVER[$s]}" -d "$work/q.$m" -l "$SECS" -c "$CLIENTS" \
    -q "$OUTSTANDING" -T 1 -t 5 2>&1) || true
  c1=$(cpu_ticks "${PID[$s]}")
  q=$(awk '/Queries per second:/ {printf "%d", $4}' <<<"$out")
  CPUQ[$s.$m]+="$(awk -v a="${c0:-0}" -v b="${c1:-0}" -v hz="$HZ" '/Queries completed:/ && $3 > 0 {
    printf "%.2f", (b - a) * 1e6 / hz / $3 }' <<<"$out") "
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  ok=$(awk '/Response codes:/ {print ($3 == "NOERROR" && NF == 5) ? 1 : 0}' <<<"$out")
  QPS[$s.$m]+="${q:-0} "
  if [ "${lost:-0}" -gt "$OUTSTANDING" ] || [ "$ok" != 1 ]; then
    BAD[$s.$m]="lost ${lost:-?}; $(grep 'Response codes' <<<"$out" | sed 's/^ *Response codes: *//' || tail -n 1 <<<"$out")"
  fi
  [ -n "$DNSLOAD" ] || return 0
  # The same mix from dnsload (tests/bench/dnsload.c), whose own CPU cost is a fraction of
  # dnsperf's: the server, not the client, is what saturates.
  ct_flush "$s"
  c0=$(cpu_ticks "${PID[$s]}")
  # shellcheck disable=SC2086
  out=$(${CLIENT[$s]} "$DNSLOAD" -s "${SERVER[$s]}" -d "$work/q.$m" -l "$SECS" -w "$WINDOW" 2>&1) || true
  c1=$(cpu_ticks "${PID[$s]}")
  read -r _ sent _ answered _ lost _ ok _ q <<<"$out" || true
  QPSL[$s.$m]+="${q:-0} "
  CPUL[$s.$m]+="$(awk -v a="${c0:-0}" -v b="${c1:-0}" -v hz="$HZ" -v n="${answered:-0}" 'BEGIN {
    if (n > 0) printf "%.2f", (b - a) * 1e6 / hz / n }') "
  # Under overload a server may drop a few queries or answer SERVFAIL (netctl-dns: more than 256
  # forwards in flight); more than 1% of either is flagged.
  if [ -z "${answered:-}" ] || [ $((${lost:-0} * 100)) -gt "${sent:-0}" ] ||
    [ $(((answered - ${ok:-0}) * 100)) -gt "$answered" ]; then
    BAD[$s.$m]+="${BAD[$s.$m]:+; }dnsload: ${out:-no output}"
  fi
}
# lat S MIX: a run at LAT_QPS; every answer's latency (s) appended to $work/lat.S.MIX, one
# "lost" line per query without an answer.
lat() {
  local s=$1 m=$2
  ct_flush "$s"
  # shellcheck disable=SC2086
  ${CLIENT[$s]} dnsperf -s "${SERVER[$s]}" -d "$work/q.$m" -l "$LAT_SECS" -c "$CLIENTS" \
    -q "$OUTSTANDING" -Q "$LAT_QPS" -T 1 -t 2 -v 2>&1 |
    awk '$1 == ">" {print $NF} /Queries lost:/ {for (i = 0; i < $3; i++) print "lost"}' \
      >>"$work/lat.$s.$m" || true
}
# The server as netctl starts it limits each source to 500 q/s (burst 1000): one dnsperf client
# measures that limit, not the server. So one run against it as it is (one source sending LAT_QPS
# q/s for SECS s: what it answers, what it drops), then the server restarted by hand with --rate 0
# (no per-source limit) for every other measurement.
LIMITED=""
if [ -n "${SERVER[nc]}" ]; then
  # shellcheck disable=SC2086
  out=$(${CLIENT[nc]} dnsperf -s "${SERVER[nc]}" -d "$work/q.local" -l "$SECS" -c "$CLIENTS" \
    -q 10000 -Q "$LAT_QPS" -T 1 -t 1 2>&1) || true
  LIMITED="$(awk '/Queries sent:/ {s = $3} /Queries completed:/ {c = $3} /Queries lost:/ {l = $3}
    END {printf "%d sent, %d answered, %d dropped", s, c, l}' <<<"$out")"
  stop_pid "${PID[nc]}"
  setsid "$work/bin/netctl-dns" --root "$NETCTL_ROOT" --rate 0 </dev/null >>"$work/netctl-dns.log" 2>&1 &
  PID[nc]=$!
  for ((i = 0; i < 100; i++)); do [ "$(nc_dns_pid)" = "${PID[nc]}" ] && break; sleep 0.05; done
  check_server nc || { bench_log "netctl-dns --rate 0: ${WHY[nc]}"; SERVER[nc]=""; }
fi
# The floor of the path: the upstream itself, queried from the throwaway host over its veth.
SERVER[up]=198.51.100.2 CLIENT[up]="" PID[up]=$UP_PID
for ((r = 1; r <= ROUNDS; r++)); do
  bench_log "round $r of $ROUNDS"
  lat up fwd; perf up fwd  # what any forwarder's queries/s is bounded by: the upstream alone
  order=("${SERVERS[@]:$((r % 3))}" "${SERVERS[@]:0:$((r % 3))}")  # each first in turn
  for m in "${MIXES[@]}"; do
    for s in "${order[@]}"; do
      [ -n "${SERVER[$s]}" ] || continue
      perf "$s" "$m"; lat "$s" "$m"
    done
  done
done
for s in "${SERVERS[@]}"; do RSS1[$s]=$(rss_kib "${PID[$s]:-}"); done

# --- from `run -d` returning to the name resolving --------------------------------------------
# resolves S NAME: one query from the client (busybox nslookup: one try, 1 s); 0 if NAME has an A.
resolves() {
  # shellcheck disable=SC2086
  ${CLIENT[$1]} busybox nslookup -type=a -retry=1 -timeout=1 "$2" "${SERVER[$1]}" 2>/dev/null | grep -q '^Address: [0-9]'
}
declare -A FIRST_FAIL=() GONE_FAIL=() WAIT=()
declare -a AGAIN_nc=() AGAIN_dk=()
# fresh S RUN_CMD RM_CMD: RUNS times: run -d rN, query rN at once (and until it resolves: ns
# from run -d returning to the answer), rm -f rN, query rN at once (it must be gone).
fresh() {
  local s=$1 run=$2 rm=$3 i t0 t1 j ff=0 gf=0
  local -a waits=()
  for ((i = 1; i <= RUNS; i++)); do
    $run "r$i" >/dev/null || { bench_log "${LABEL[$s]}: run r$i failed"; ff=$((ff + 1)); continue; }
    t0=$EPOCHREALTIME
    resolves "$s" "r$i" || {
      ff=$((ff + 1))
      for ((j = 0; j < 200; j++)); do resolves "$s" "r$i" && break; done
    }
    t1=$EPOCHREALTIME
    waits+=($(((10#${t1//[.,]/} - 10#${t0//[.,]/}) * 1000)))
    bench_time "AGAIN_$s" resolves "$s" "r$i" || true  # the next query: the same name again
    $rm "r$i" >/dev/null 2>&1
    ! resolves "$s" "r$i" || gf=$((gf + 1))
  done
  FIRST_FAIL[$s]=$ff GONE_FAIL[$s]=$gf WAIT[$s]=$(bench_stats 1 "${waits[@]}")
}
dk_run() { docker_ run -d --name "$1" --network dn netctl-bench-bb sleep 3600; }
dk_rm() { docker_ rm -f "$1"; }
nc_rm() { "$NETCTL" rm -f "$1"; }
[ -z "${SERVER[nc]}" ] || fresh nc nc_run nc_rm
[ -z "${SERVER[dk]}" ] || fresh dk dk_run dk_rm
# The same query for a name that exists, timed the same way: what a query costs by itself.
declare -a FLOOR_nc=() FLOOR_dk=()
for ((i = 0; i < RUNS; i++)); do
  for s in nc dk; do [ -z "${SERVER[$s]}" ] || bench_time "FLOOR_$s" resolves "$s" c1 || true; done
done

# --- the table ---------------------------------------------------------------------------------
median_qps() { [ -z "${1:-}" ] || tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {if (NR) printf "%d", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# pct FILE: "P50 P99 N LOST" in ms of the latencies in FILE (nearest rank).
pct() {
  [ -s "$1" ] || return 0
  grep -v lost "$1" | sort -g | awk -v lost="$(grep -c lost "$1")" '{v[NR] = $1 * 1000}
    function r(p) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] }
    END { if (NR) printf "%.3f %.3f %d %d", r(0.5), r(0.99), NR, lost }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() {  # MEASURE NC AA DK RAW_NC RAW_AA RAW_DK
  printf '| %-46s | %-16s | %-16s | %-16s | %-15s | %-15s |\n' "$1" "${2:--}" "${3:--}" "${4:--}" \
    "$(ratio "${5:-}" "${6:-}")" "$(ratio "${5:-}" "${7:-}")"
}
echo
echo "DNS: dnsperf from a client on each server's network; A queries; $SECS s runs at saturation" \
  "(-c $CLIENTS -q $OUTSTANDING -T 1), qps median of $ROUNDS rounds; latency from runs at -Q $LAT_QPS," \
  "p50 / p99 of every answer over the rounds"
printf '| %-46s | %-16s | %-16s | %-16s | %-15s | %-15s |\n' measure netctl "aardvark-dns 1.4" \
  "docker 20.10" "netctl/aardvark" "netctl/docker"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..18})" \
  "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..17})" \
  "$(printf -- '-%.0s' {1..17})"
declare -A P50=() P99=()
for m in "${MIXES[@]}"; do
  declare -A q=() c=() cq=()
  for s in "${SERVERS[@]}"; do
    q[$s]=$(median_qps "${QPS[$s.$m]:-}")
    read -r "P50[$s.$m]" "P99[$s.$m]" _ lost <<<"$(pct "$work/lat.$s.$m")" || true
    c[$s]=${q[$s]:+${q[$s]}${BAD[$s.$m]:+ (!)}}
    [ -z "${lost:-}" ] || [ "$lost" = 0 ] || P99[$s.$m]+=" ($lost lost)"
    [ "$s" != nc ] || continue
    bench_emit "DNS ${MIX_NAME[$m]}: us per query at saturation (1e6/qps)" \
      "$(awk -v x="${q[nc]:-}" 'BEGIN { if (x > 0) printf "%.2f - 1", 1e6 / x }')" "${LABEL[$s]}" \
      "$(awk -v x="${q[$s]:-}" 'BEGIN { if (x > 0) printf "%.2f - 1", 1e6 / x }')" us
  done
  row "${MIX_NAME[$m]}: queries/s" "${c[nc]}" "${c[aa]}" "${c[dk]}" "${q[nc]}" "${q[aa]}" "${q[dk]}"
  for s in "${SERVERS[@]}"; do
    cq[$s]=$(tr ' ' '\n' <<<"${CPUQ[$s.$m]:-}" | grep . | sort -g | awk '{v[NR] = $1}
      END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}' || true)
  done
  row "${MIX_NAME[$m]}: server CPU us per query" "${cq[nc]}" "${cq[aa]}" "${cq[dk]:+${cq[dk]} (dockerd)}" \
    "${cq[nc]}" "${cq[aa]}" "${cq[dk]}"
  if [ -n "$DNSLOAD" ]; then
    for s in "${SERVERS[@]}"; do
      q[$s]=$(median_qps "${QPSL[$s.$m]:-}")
      cq[$s]=$(tr ' ' '\n' <<<"${CPUL[$s.$m]:-}" | grep . | sort -g | awk '{v[NR] = $1}
        END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}' || true)
    done
    row "${MIX_NAME[$m]}: queries/s, dnsload" "${q[nc]}" "${q[aa]}" "${q[dk]}" "${q[nc]}" "${q[aa]}" "${q[dk]}"
    row "${MIX_NAME[$m]}: server CPU us per query, dnsload" "${cq[nc]}" "${cq[aa]}" \
      "${cq[dk]:+${cq[dk]} (dockerd)}" "${cq[nc]}" "${cq[aa]}" "${cq[dk]}"
    for s in aa dk; do
      bench_emit "DNS ${MIX_NAME[$m]}: us per query at saturation, dnsload (1e6/qps)" \
        "$(awk -v x="${q[nc]:-}" 'BEGIN { if (x > 0) printf "%.2f - 1", 1e6 / x }')" "${LABEL[$s]}" \
        "$(awk -v x="${q[$s]:-}" 'BEGIN { if (x > 0) printf "%.2f - 1", 1e6 / x }')" us
    done
  fi
  row "${MIX_NAME[$m]}: p50 ms at $LAT_QPS q/s" "${P50[nc.$m]}" "${P50[aa.$m]}" "${P50[dk.$m]}" \
    "${P50[nc.$m]}" "${P50[aa.$m]}" "${P50[dk.$m]}"
  row "${MIX_NAME[$m]}: p99 ms at $LAT_QPS q/s" "${P99[nc.$m]}" "${P99[aa.$m]}" "${P99[dk.$m]}" \
    "${P99[nc.$m]%% *}" "${P99[aa.$m]%% *}" "${P99[dk.$m]%% *}"
  for s in aa dk; do
    bench_emit "DNS ${MIX_NAME[$m]}: latency p50 (p99) ms at $LAT_QPS q/s" \
      "${P50[nc.$m]:+${P50[nc.$m]} ${P99[nc.$m]%% *} 1}" "${LABEL[$s]}" \
      "${P50[$s.$m]:+${P50[$s.$m]} ${P99[$s.$m]%% *} 1}"
  done
  unset q c cq
done
row "RSS KiB before the first query" "${RSS0[nc]:-}" "${RSS0[aa]:-}" "${RSS0[dk]:+${RSS0[dk]} (dockerd)}" \
  "${RSS0[nc]:-}" "${RSS0[aa]:-}" "${RSS0[dk]:-}"
row "RSS KiB after the runs" "${RSS1[nc]:-}" "${RSS1[aa]:-}" "${RSS1[dk]:+${RSS1[dk]} (dockerd)}" \
  "${RSS1[nc]:-}" "${RSS1[aa]:-}" "${RSS1[dk]:-}"
for s in aa dk; do
  bench_emit "DNS server RSS before the first query" "${RSS0[nc]:+${RSS0[nc]} - 1}" \
    "${LABEL[$s]}$([ $s = dk ] && echo ' (all of dockerd)')" "${RSS0[$s]:+${RSS0[$s]} - 1}" KiB
done
cellw() { [ -z "${WAIT[$1]:-}" ] || { read -r a b _ <<<"${WAIT[$1]}"; echo "$a ($b)"; }; }
row "run -d, then one query: fails of $RUNS" "${FIRST_FAIL[nc]:-}" "n/a" "${FIRST_FAIL[dk]:-}"
row "rm -f, then one query: still resolves, of $RUNS" "${GONE_FAIL[nc]:-}" "n/a" "${GONE_FAIL[dk]:-}"
w_nc=${WAIT[nc]:-} w_dk=${WAIT[dk]:-}
row "run -d returned to answer, ms median (p90)" "$(cellw nc)" "n/a" "$(cellw dk)" \
  "${w_nc%% *}" "" "${w_dk%% *}"
row "  the next query of that name, ms" "$(bench_cell "$(bench_stats 1 "${AGAIN_nc[@]}")")" "n/a" \
  "$(bench_cell "$(bench_stats 1 "${AGAIN_dk[@]}")")"
row "  the same query of an older name (c1), ms" "$(bench_cell "$(bench_stats 1 "${FLOOR_nc[@]}")")" \
  "n/a" "$(bench_cell "$(bench_stats 1 "${FLOOR_dk[@]}")")"
for s in "${SERVERS[@]}"; do
  [ -z "${SERVER[$s]}" ] || echo "q/s per round, ${LABEL[$s]}: local ${QPS[$s.local]:-}; forwarded ${QPS[$s.fwd]:-}${DNSLOAD:+; dnsload: local ${QPSL[$s.local]:-}; forwarded ${QPSL[$s.fwd]:-}}"
done
bench_emit "DNS: from run -d returning to the name answering" "${WAIT[nc]:-}" "docker 20.10" "${WAIT[dk]:-}"
read -r up50 up99 _ <<<"$(pct "$work/lat.up.fwd")" || true
echo "floor: the upstream (dnsmasq, answers from its config) queried the same way from the host" \
  "over one veth: p50 ${up50:-?} ms, p99 ${up99:-?} ms at $LAT_QPS q/s;" \
  "$(median_qps "${QPS[up.fwd]:-}") q/s (dnsperf)${DNSLOAD:+, $(median_qps "${QPSL[up.fwd]:-}") q/s (dnsload)}:" \
  "no forwarder can answer forwarded names faster than its upstream alone"
[ -z "$LIMITED" ] || echo "netctl column: netctl-dns restarted with --rate 0 (no per-source limit)." \
  "As netctl starts it (500 q/s per source, burst 1000), one source sending $LAT_QPS q/s of local" \
  "names for $SECS s: $LIMITED."
for s in "${SERVERS[@]}"; do
  [ -n "${SERVER[$s]}" ] || echo "${LABEL[$s]} not measured: ${WHY[$s]:-?}"
  for m in "${MIXES[@]}"; do
    [ -z "${BAD[$s.$m]:-}" ] || echo "(!) ${LABEL[$s]}, ${MIX_NAME[$m]}: ${BAD[$s.$m]}"
  done
done
echo "netctl/peer: > 1 is better for netctl in queries/s, < 1 in CPU per query, latency and RSS." \
  "Docker's RSS is all of dockerd (its resolver has no process of its own)."
echo "target: netctl at least 2x aardvark-dns's queries/s; p99 under 1 ms for local names;" \
  "RSS at most 5 MB (5120 KiB); 0 fails after run -d"
