#!/usr/bin/env bash
# Benchmark: cnitool ADD (and DEL) of one sandbox with one published port, through netctl-cni beside
# the CNI reference chain (bridge + host-local + portmap, as /work/shared/tools/peers/cni-ref.sh),
# both driven by the same libcni cnitool, in the same run, on the same machine.
# Usage (root): sudo tests/bench/cni.sh
# Env: NETCTL (build/netctl; netctl-cni is taken from the same directory), N (50 sandboxes per
# round), ROUNDS (2), CNITOOL (/var/tmp/netctl-bench/cnitool, built if missing), CNI_REF_PATH
# (/usr/lib/cni). Target: netctl-cni ADD median at least 10x below the reference chain's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
NETCTL=$(realpath "${NETCTL:-$repo/build/netctl}")
NETCTL_CNI=${NETCTL_CNI:-$(dirname "$NETCTL")/netctl-cni}
CNITOOL=${CNITOOL:-/var/tmp/netctl-bench/cnitool}
CNI_REF_PATH=${CNI_REF_PATH:-/usr/lib/cni}
N=${N:-50}
ROUNDS=${ROUNDS:-2}
export NETCTL NETCTL_CNI CNITOOL CNI_REF_PATH N ROUNDS

if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] && [ -x "$NETCTL_CNI" ] || { echo "no netctl / netctl-cni next to $NETCTL" >&2; exit 2; }
  [ "$N" -ge 1 ] 2>/dev/null && [ "$N" -le 1000 ] || { echo "N must be 1..1000" >&2; exit 2; }
  bench_apt_install containernetworking-plugins iptables ||
    bench_log "containernetworking-plugins could not be installed; the reference column stays empty"
  ensure_cnitool "$CNITOOL" || { echo "cnitool could not be built" >&2; exit 1; }
  bench_export_cni_versions
  bench_rerun_in_throwaway "$0" "$@"
fi

# ---- inside the throwaway host ------------------------------------------------------------------
throwaway_host "$0" "$@"
bench_private_work cni
export BENCH_LOG=$work/ops.log
# Private copies: a rebuild in the middle of the run must not swap binaries.
mkdir -p "$work/bin" "$work/conf"
cp "$NETCTL" "$work/bin/netctl"; cp "$NETCTL_CNI" "$work/bin/netctl-cni"
NETCTL=$work/bin/netctl
for p in bridge host-local portmap; do [ -x "$CNI_REF_PATH/$p" ] && ln -s "$CNI_REF_PATH/$p" "$work/bin/$p"; done
# cnitool's own cost, in every tool's figure: the same cnitool with a plugin that does nothing.
cc -O2 -o "$work/bin/noop-cni" "$here/noop_cni.c" 2>>"$BENCH_LOG" || bench_log "no C compiler: no floor row"
export CNI_PATH=$work/bin NETCONFPATH=$work/conf


# Like with like: a bridge with the gateway, a default route inside, masquerade, one port each.
"$NETCTL" network create --subnet 10.70.0.0/16 bn >>"$BENCH_LOG"
cat >"$NETCONFPATH/nc.conflist" <<JSON
{"cniVersion":"1.0.0","name":"nc","plugins":[
 {"type":"netctl-cni","network":"bn","capabilities":{"portMappings":true}}]}
JSON
cat >"$NETCONFPATH/ref.conflist" <<JSON
{"cniVersion":"1.0.0","name":"ref","plugins":[
 {"type":"bridge","bridge":"refbr0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.77.0.0/16"}]],"dataDir":"$work/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
JSON
cat >"$NETCONFPATH/noop.conflist" <<JSON
{"cniVersion":"1.0.0","name":"noop","plugins":[{"type":"noop-cni","capabilities":{"portMappings":true}}]}
JSON
# cli: the same attach through `netctl network connect -p` (context: what the CNI path adds).
TOOLS=(nc cli)
[ -x "$work/bin/bridge" ] && [ -x "$work/bin/portmap" ] && TOOLS+=(ref)
[ -x "$work/bin/noop-cni" ] && TOOLS+=(noop)
declare -A NAME=([nc]=netctl-cni [cli]=netctl-cli [ref]=cni-ref [noop]=noop-cni)
declare -A BASE=([nc]=20000 [cli]=30000 [ref]=40000 [noop]=50000)
cap() { CAP="{\"portMappings\":[{\"hostPort\":$(($2 + $1)),\"containerPort\":80,\"protocol\":\"tcp\"}]}"; }
# TOOL I: namespace TOOL-I (the resident: I=0, namespace r-TOOL), host port BASE+I -> 80.
# No command substitution in a timed op (each would fork a subshell).
ns() { if [ "$2" = 0 ]; then NSP=/run/netns/r-$1; else NSP=/run/netns/$1-$2; fi; }
add() {
  local CAP NSP; cap "$2" "${BASE[$1]}"; ns "$1" "$2"
  if [ "$1" = cli ]; then "$NETCTL" network connect -p "$((${BASE[$1]} + $2)):80" bn "$NSP"
  else CAP_ARGS=$CAP "$CNITOOL" add "$1" "$NSP" "c$2"; fi
}
del() {
  local CAP NSP; cap "$2" "${BASE[$1]}"; ns "$1" "$2"
  if [ "$1" = cli ]; then "$NETCTL" network disconnect bn "$NSP"
  else CAP_ARGS=$CAP "$CNITOOL" del "$1" "$NSP" "c$2"; fi
}
for t in "${TOOLS[@]}"; do for i in $(seq 1 "$N"); do ip netns add "$t-$i"; done; done
# Residents keep both bridges up, so no timed op creates one.
for t in "${TOOLS[@]}"; do
  ip netns add "r-$t"
  add "$t" 0 >>"$BENCH_LOG" 2>&1 || { echo "${NAME[$t]}: resident ADD failed" >&2; tail -n 3 "$BENCH_LOG" >&2; exit 1; }
done

bench_machine
echo "netctl-cni: $NETCTL_CNI; cnitool: $CNITOOL (libcni ${LIBCNI_VERSION:-?})"
echo "cni-ref: containernetworking-plugins ${REF_VERSION:-?} (bridge + host-local + portmap)"
echo "N=$N sandboxes per round, $ROUNDS rounds, the tools alternating op by op; one published TCP port per ADD"
floor=$(bench_floor_ms 30)
declare -A RES=()
FAILS=0
for t in "${TOOLS[@]}"; do declare -a "A_$t=()" "D_$t=()"; done
# Op by op in turn (netctl-cni's ADD of sI, then the reference's), so both see the same load.
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 1; i <= N; i++)); do
    for t in "${TOOLS[@]}"; do bench_time "A_$t" add "$t" "$i" || FAILS=$((FAILS + 1)); done
  done
  for ((i = 1; i <= N; i++)); do
    for t in "${TOOLS[@]}"; do bench_time "D_$t" del "$t" "$i" || FAILS=$((FAILS + 1)); done
  done
done
for t in "${TOOLS[@]}"; do
  declare -n _a="A_$t" _d="D_$t"
  RES[$t,add]=$(bench_stats 1 "${_a[@]}"); RES[$t,del]=$(bench_stats 1 "${_d[@]}")
  unset -n _a _d
done
for t in "${TOOLS[@]}"; do del "$t" 0 >>"$BENCH_LOG" 2>&1 || FAILS=$((FAILS + 1)); done
"$NETCTL" network rm bn >>"$BENCH_LOG" 2>&1 || FAILS=$((FAILS + 1))
ip link del refbr0 2>/dev/null || true  # the bridge plugin never deletes its bridge
[ "$(ip -o link show type veth | grep -c .)" = 0 ] || { echo "veths left" >&2; FAILS=$((FAILS + 1)); }

echo
printf '| %-28s | %-24s | %-24s | %-10s |\n' "cnitool op (1 port)" "netctl-cni median ms (p90)" "cni-ref median ms (p90)" "ref/netctl"
printf '|%s|%s|%s|%s|\n' "------------------------------" "--------------------------" "--------------------------" "------------"
for o in add del; do
  read -r a _ <<<"${RES[nc,$o]}"; b=-; ratio=-
  [ -n "${RES[ref,$o]:-}" ] && read -r b _ <<<"${RES[ref,$o]}"
  [ "$b" != - ] && ratio=$(awk -v x="$b" -v y="$a" 'BEGIN { printf "%.1fx", x / y }')
  printf '| %-28s | %-24s | %-24s | %-10s |\n' "$o" "$(bench_cell "${RES[nc,$o]}")" "$(bench_cell "${RES[ref,$o]:-}")" "$ratio"
done
echo "for context, the same attach / detach by the CLI (netctl network connect -p / disconnect):" \
  "add $(bench_cell "${RES[cli,add]}"), del $(bench_cell "${RES[cli,del]}") ms"
if [ -n "${RES[noop,add]:-}" ]; then
  read -r f _ <<<"${RES[noop,add]}"; read -r a _ <<<"${RES[nc,add]}"; b=${RES[ref,add]:-}; b=${b%% *}
  echo "cnitool floor (the same cnitool, a plugin that does nothing): add $(bench_cell "${RES[noop,add]}")," \
    "del $(bench_cell "${RES[noop,del]}") ms; ADD above that floor: netctl-cni" \
    "$(awk -v a="$a" -v f="$f" 'BEGIN { printf "%.2f", a - f }') ms${b:+, cni-ref $(awk -v b="$b" -v f="$f" 'BEGIN { printf "%.2f", b - f }') ms}"
fi
echo "start floor (timing /bin/true the same way: fork, exec, exit): $floor ms, in every cell of every tool; failures: $FAILS"
bench_emit "cnitool ADD with one port (netctl-cni)" "${RES[nc,add]}" "cni-ref (bridge+host-local+portmap)" "${RES[ref,add]:-}"
bench_emit "cnitool DEL with one port (netctl-cni)" "${RES[nc,del]}" "cni-ref (bridge+host-local+portmap)" "${RES[ref,del]:-}"
if [ -n "${RES[ref,add]:-}" ]; then
  read -r a _ <<<"${RES[nc,add]}"; read -r b _ <<<"${RES[ref,add]}"
  if awk -v x="$b" -v y="$a" 'BEGIN { exit !(x / y >= 10) }'; then echo "target ADD >= 10x faster than cni-ref: met"
  else echo "target ADD >= 10x faster than cni-ref: MISSED"; fi
else
  echo "target ADD >= 10x faster than cni-ref: not measured (no reference plugins)"
fi
[ "$FAILS" = 0 ]
