#!/usr/bin/env bash
# Benchmark: from `run -d -p PORT:80` of a busybox httpd to the published port answering an HTTP
# request on 127.0.0.1, for netctl beside `docker run -d -p` and `podman run -d -p` in the same
# run when they start (else beside docs/architecture.md section 10). All three run the same busybox-static
# rootfs (netns-fixtures/rootfs.sh, imported as an image for Docker and Podman).
# Usage (root): sudo tests/bench/run_to_port.sh
# Env: NETCTL (build/netctl), N runs per tool (20), NO_PEERS=1 (netctl only), DOCKERD_FLAGS.
# Everything runs inside a throwaway network + mount namespace; nothing is left behind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} N=${N:-20}

if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL" >&2; exit 2; }
  [ "$N" -ge 1 ] 2>/dev/null || { echo "N must be a number >= 1" >&2; exit 2; }
  if [ -z "${NO_PEERS:-}" ]; then
    bench_apt_install docker.io podman runc containernetworking-plugins ||
      bench_log "docker.io/podman could not be installed; their rows fall back to docs/architecture.md"
  fi
  BENCH_CGROUPS="/sys/fs/cgroup/*/netctl-bench-* /sys/fs/cgroup/*/docker /sys/fs/cgroup/*/libpod_parent" \
    bench_rerun_in_throwaway "$0" "$@"
fi

throwaway_host "$0" "$@"
work=$(mktemp -d /tmp/bench-run.XXXXXX)
export NETCTL_CGROUP_PARENT=netctl-bench-$$
cleanup() {
  set +e
  "$NETCTL" rm -f $("$NETCTL" --format json ps -a | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))') >/dev/null 2>&1
  [ -n "$DOCKERD_PID" ] && { /usr/bin/docker rm -f $(/usr/bin/docker ps -aq) >/dev/null 2>&1; stop_dockerd; rm_docker_cgroups; }
  if [ -n "${PODMAN_OK:-}" ]; then pm rm -af >/dev/null 2>&1; pm system reset -f >/dev/null 2>&1; fi
  for d in /sys/fs/cgroup/*/"$NETCTL_CGROUP_PARENT"; do rmdir "$d"/* "$d" 2>/dev/null; done
  awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$work" "$NETCTL_ROOT"
}
# cgroupfs is not namespaced: the "docker" parent dockerd makes (cgroupfs driver) goes with it,
# unless it was there before this run.
docker_cg_before=$(ls -d /sys/fs/cgroup/*/docker 2>/dev/null || true)
rm_docker_cgroups() {
  [ -z "$docker_cg_before" ] || return 0
  local d
  for d in /sys/fs/cgroup/*/docker; do
    [ -d "$d" ] || continue
    find "$d" -mindepth 1 -type d | sort -r | xargs -r rmdir 2>/dev/null
    rmdir "$d" 2>/dev/null || true
  done
}
trap cleanup EXIT
"$repo/netns-fixtures/rootfs.sh" "$work/rootfs"
# A private copy (netctl finds netctl-shim beside itself), so a rebuild during the run swaps nothing.
mkdir "$work/bin"
cp "$NETCTL" "$work/bin/netctl"; cp "$(dirname "$NETCTL")/netctl-shim" "$work/bin/netctl-shim"
NETCTL=$work/bin/netctl
bench_machine

# measure ARRAY PORT CMD...: ns from the start of CMD to the port answering.
measure() {
  local -n _m=$1; local port=$2; shift 2
  local t0=$EPOCHREALTIME
  "$@" >/dev/null || return 1
  wait_port "$port" || return 1
  local t1=$EPOCHREALTIME
  _m+=($(( (${t1/./} - ${t0/./}) * 1000 )))
}

declare -a NC=() DK=() PM=()
declare -A MEM=()  # resident memory (VmHWM, KiB) of what stays behind a detached container
hwm() { local s=0 p v; for p in "$@"; do v=$(awk '/^VmHWM/ {print $2}' /proc/"$p"/status 2>/dev/null); s=$((s + ${v:-0})); done; echo "$s"; }
HTTPD=(/bin/httpd -f -p 80 -h /var/www)
"$NETCTL" network create netctl0 >/dev/null  # the default network exists, as Docker's docker0 does
"$NETCTL" run --rm --rootfs "$work/rootfs" -- /bin/true  # warm-up, not counted
for ((i = 1; i <= N; i++)); do
  measure NC $((8000 + i)) "$NETCTL" run -d --name b$i -p $((8000 + i)):80 --rootfs "$work/rootfs" -- "${HTTPD[@]}" ||
    { echo "netctl run $i failed" >&2; exit 1; }
  "$NETCTL" rm -f b$i
done
# What stays resident per detached container: netctl-shim, the supervisor (no daemon).
"$NETCTL" run -d --name m0 -p 8099:80 --rootfs "$work/rootfs" -- "${HTTPD[@]}" >/dev/null
MEM[nc]=$(hwm "$("$NETCTL" inspect m0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["SupervisorPid"])')")
"$NETCTL" rm -f m0 >/dev/null

why_docker="NO_PEERS set"; why_podman="NO_PEERS set"
if [ -z "${NO_PEERS:-}" ]; then
  if start_dockerd "$work/docker"; then
    tar -C "$work/rootfs" -c . | /usr/bin/docker import - netctl-bench-bb >/dev/null
    /usr/bin/docker run --rm netctl-bench-bb /bin/true >/dev/null 2>&1 || true  # warm-up
    for ((i = 1; i <= N; i++)); do
      measure DK $((8100 + i)) /usr/bin/docker run -d --name b$i -p $((8100 + i)):80 netctl-bench-bb "${HTTPD[@]}" ||
        { why_docker="docker run failed: $(/usr/bin/docker logs b$i 2>&1 | tail -1)"; DK=(); break; }
      /usr/bin/docker rm -f b$i >/dev/null
    done
    [ ${#DK[@]} = 0 ] || why_docker=""
    # Per detached container with one port: containerd's shim and docker-proxy (one per family);
    # and the daemon itself.
    if /usr/bin/docker run -d --name m0 -p 8199:80 netctl-bench-bb "${HTTPD[@]}" >/dev/null 2>&1; then
      wait_port 8199 || true
      MEM[dk]=$(hwm $(pgrep -f containerd-shim) $(pgrep -x docker-proxy))
      MEM[dockerd]=$(hwm "$DOCKERD_PID")
    fi
    /usr/bin/docker rm -f $(/usr/bin/docker ps -aq) >/dev/null 2>&1 || true
    stop_dockerd
    rm_docker_cgroups
  else
    why_docker=$DOCKERD_ERR
  fi
  # Podman 4.3 with CNI, runc and no default rlimits (docs/architecture.md section 10), all under $work.
  mkdir -p "$work/podman/cni" "$work/podman/tmp"
  cat >"$work/podman/containers.conf" <<CONF
[containers]
default_ulimits = []
[network]
network_backend = "cni"
network_config_dir = "$work/podman/cni"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/podman/events.log"
tmp_dir = "$work/podman/tmp"
CONF
  unset DOCKER_HOST DOCKER_CONFIG
  pm() { CONTAINERS_CONF=$work/podman/containers.conf podman --root "$work/podman/root" \
    --runroot "$work/podman/run" --storage-driver vfs --cgroup-manager cgroupfs "$@"; }
  if command -v podman >/dev/null && tar -C "$work/rootfs" -c . | pm import - netctl-bench-bb >/dev/null 2>"$work/podman/err"; then
    PODMAN_OK=1
    pm run --rm netctl-bench-bb /bin/true >/dev/null 2>>"$work/podman/err" || true
    for ((i = 1; i <= N; i++)); do
      measure PM $((8200 + i)) pm run -d --name b$i -p $((8200 + i)):80 netctl-bench-bb "${HTTPD[@]}" 2>>"$work/podman/err" ||
        { why_podman="podman run failed: $(tail -1 "$work/podman/err")"; PM=(); break; }
      pm rm -f b$i >/dev/null 2>&1
    done
    [ ${#PM[@]} = 0 ] || why_podman=""
    if pm run -d --name m0 -p 8299:80 netctl-bench-bb "${HTTPD[@]}" >/dev/null 2>>"$work/podman/err"; then
      wait_port 8299 || true
      MEM[pm]=$(hwm $(pgrep -x conmon))
      pm rm -f m0 >/dev/null 2>&1
    fi
  else
    why_podman="podman import failed: $(tail -1 "$work/podman/err" 2>/dev/null)"
  fi
fi

echo
echo "run -d -p PORT:80 (busybox httpd) until GET / on 127.0.0.1:PORT answers, N=$N per tool"
nc=$(bench_stats 1 "${NC[@]}")
row() { # NAME STATS QUOTED_MS WHY
  local m p
  if [ -n "$2" ]; then read -r m p _ <<<"$2"; echo "| $1 | $m ($p) | $(awk -v a="$m" -v b="${nc%% *}" 'BEGIN{printf "%.1fx", a/b}') |"
  else echo "| $1 | ~$3 (docs/architecture.md, not measured: $4) | $(awk -v a="$3" -v b="${nc%% *}" 'BEGIN{printf "%.1fx", a/b}') |"; fi
}
echo "| tool | median ms (p90) | peer/netctl |"
echo "|------|-----------------|-------------|"
read -r m p _ <<<"$nc"; echo "| netctl run -d | $m ($p) | 1.0x |"
row "docker run -d" "$([ ${#DK[@]} -gt 0 ] && bench_stats 1 "${DK[@]}")" 870 "$why_docker"
row "podman run -d" "$([ ${#PM[@]} -gt 0 ] && bench_stats 1 "${PM[@]}")" 600 "$why_podman"
echo "target: netctl under 50 ms"
echo "resident per detached container (VmHWM, KiB): netctl-shim ${MEM[nc]:-?}; docker: containerd-shim +" \
  "docker-proxy ${MEM[dk]:-?} (and dockerd ${MEM[dockerd]:-?}); podman: conmon ${MEM[pm]:-?}"
cell() { [ $# -gt 0 ] && bench_stats 1 "$@" || true; }
bench_emit "run -d -p until the published port answers" "$nc" "docker 20.10 run -d -p" "$(cell "${DK[@]}")"
bench_emit "run -d -p until the published port answers" "$nc" "podman 4.3 run -d -p (runc, CNI)" "$(cell "${PM[@]}")"
kib() { [ -n "${1:-}" ] && [ "$1" != 0 ] && echo "$1 - 1"; }
bench_emit "resident memory per detached container (supervisor)" "$(kib "${MEM[nc]:-}")" \
  "docker: containerd-shim + docker-proxy" "$(kib "${MEM[dk]:-}")" KiB
bench_emit "resident memory per detached container (supervisor)" "$(kib "${MEM[nc]:-}")" \
  "podman: conmon" "$(kib "${MEM[pm]:-}")" KiB
bench_emit "resident memory of a daemon (netctl has none)" "" "dockerd" "$(kib "${MEM[dockerd]:-}")" KiB
