# Helpers for the stress harnesses; source after netns-fixtures/lib.sh and throwaway_host.
# Everything runs inside the throwaway host: no link, rule or mount outside it is touched.
set -euo pipefail
# The firewall backend under test: nftables (what netctl picks in a throwaway host) unless told
# otherwise; scripts/stress.sh runs every harness under both. The e2e helpers read the active
# backend's objects (fw_ports, fw_drop_port, fw_network_objects) or both backends' (fw_save);
# kernel_snapshot reads both.
export NETCTL_FIREWALL_BACKEND=${NETCTL_FIREWALL_BACKEND:-nftables}
case $NETCTL_FIREWALL_BACKEND in
  nftables | iptables) ;;
  *) echo "stress: NETCTL_FIREWALL_BACKEND=$NETCTL_FIREWALL_BACKEND: want nftables or iptables" >&2
     exit 2 ;;
esac
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
log() { echo "[$(date +%T)] $*"; }
# What is left of this root's per-network and per-port objects in EITHER backend, one a line
# (nothing once every network and port is gone): iptables: the root's chains (published ports:
# one rule each in NETCTL-D-<root id>), the network chains and per-bridge rules; nftables: the
# N-, I-, M- chains and jumps, rules naming a bridge, and port map elements.
fw_left() {
  { iptables-legacy-save; ip6tables-legacy-save; } |
    grep -E 'NETCTL-(N|M|I)-|NETCTL-[STFDP]-[0-9a-f]{8}| nc-' || true
  local t
  for t in $(nft_tables); do
    nft list table inet "$t" | grep -E '(chain|jump|goto) [NIM]-|"nc-' || true
  done
  nft_ports
}
# Published IPv4 host ports in the active backend (a DNAT rule each, an element of ports4 or
# ports4h each): equal to the store's count of published ports (no ranges in the harnesses).
fw_port_count4() {
  if is_nft; then nft_ports | grep -c '^ports4' || true
  else iptables-legacy-save -t nat | grep -c -- '-j DNAT' || true; fi
}
db_port_count() { db "select count(*) from endpoints, json_each(endpoints.body,'\$.Ports')"; }
db() { sqlite3 -batch -noheader -separator " " "$NETCTL_ROOT/netctl.db" "$1"; }

# Prints every broken invariant between the kernel and the store (nothing when they agree):
# - no intent left (the last command recovered everything),
# - `netctl doctor` clean (rules, bridges, unknown nc-/nv links),
# - every endpoint record has its host veth; every sandbox record its netns bind mount, and every
#   netns mount under /run/netns a record (or one of the namespaces the test made: $KEEP_NETNS),
# - every IPAM row (address, MAC, host port) has an owner record; no address twice in the store,
#   no IPv4 or global IPv6 address twice on the host's bridges and the sandboxes' interfaces.
check_invariants() {
  local n out
  n=$(db "select count(*) from intents")
  [ "$n" = 0 ] && : || echo "intents left: $n"
  out=$("$NETCTL" doctor 2>&1) || echo "doctor: $out"
  local eps
  eps=$(db "select json_extract(body,'\$.HostIfName') from endpoints")
  for l in $eps; do ip link show "$l" >/dev/null 2>&1 || echo "endpoint veth $l missing"; done
  local want have
  want=$(db "select json_extract(body,'\$.Netns') from sandboxes" | sort)
  have=$( (ls /run/netns; for k in ${KEEP_NETNS:-}; do echo "$k"; done) | sort | uniq -u |
    sed 's|^|/run/netns/|')
  [ "$want" = "$have" ] || echo "netns mounts differ: store [$want] kernel [$have]"
  local mounts
  mounts=$(awk '$2 ~ "^/run/netns/" {print $2}' /proc/self/mounts | sort -u)
  have=$(ls /run/netns | sed 's|^|/run/netns/|' | sort)
  [ "$mounts" = "$have" ] || echo "netns files and mounts differ: files [$have] mounts [$mounts]"
  n=$(db "select count(*) from ipam_addresses where owner not in
           (select id from endpoints union select id from containers)")
  [ "$n" = 0 ] || echo "IPAM rows without owner: $n"
  n=$(db "select count(*) from (select json_extract(body,'\$.Addresses[0]') a from endpoints
           group by a having count(*) > 1)")
  [ "$n" = 0 ] || echo "an address recorded twice"
  local fam
  for fam in 4 6; do
    n=$( (ip -o -"$fam" addr show scope global | awk '$2 ~ /^nc-/ {print $4}'
      for ns in /run/netns/*; do
        ip -n "${ns##*/}" -o -"$fam" addr show scope global 2>/dev/null | awk '$2 != "lo" {print $4}'
      done) | sort | uniq -d | wc -l)
    [ "$n" = 0 ] || echo "an IPv$fam address configured twice"
  done
  gateway_invariants
  [ -z "${NETCTL_CGROUP_PARENT:-}" ] || container_invariants
}

# Docker's gateway rule, per address family, store and kernel, for every sandbox's namespace (all
# its endpoints: CLI ones, CNI attachments, those reached by path): at most one endpoint records the
# family's default route (DefaultRoute for IPv4, DefaultRoute6 for IPv6) and the kernel's default
# route of that family leaves by its interface; with none recorded there is no default route of
# that family, and then no CLI endpoint of the namespace is on a network that is not internal and
# has that family.
gateway_invariants() {
  local fam ns outside gw route key has
  for fam in 4 6; do
    key=DefaultRoute has=1
    [ "$fam" = 4 ] || key=DefaultRoute6 has="json_extract(n.body,'\$.EnableIPv6') = 1"
    while read -r ns outside gw; do
      [ -n "$ns" ] && [ -e "$ns" ] || continue
      route=$(ip -n "${ns##*/}" -"$fam" route show default 2>/dev/null | awk '{print $5}')
      if [ "$gw" != "${gw/,/}" ]; then echo "$ns: IPv$fam default route recorded on [$gw]"
      elif [ "$route" != "$gw" ]; then
        echo "$ns: IPv$fam default route out of [$route], recorded on [$gw]"
      elif [ -z "$gw" ] && [ "$outside" -gt 0 ]; then
        echo "$ns: no IPv$fam default route, $outside outside"
      fi
    done < <(db "select json_extract(s.body,'\$.Netns'),
        (select count(*) from endpoints e join networks n on e.parent = n.id
          where e.ref = json_extract(s.body,'\$.NetnsKey') and json_extract(n.body,'\$.Internal') = 0
          and $has and json_extract(e.body,'\$.ContainerId') is null),
        (select group_concat(json_extract(e.body,'\$.IfName')) from endpoints e
          where e.ref = json_extract(s.body,'\$.NetnsKey') and json_extract(e.body,'\$.$key') = 1)
        from sandboxes s")
  done
}

# Containers (when the harness runs them under its own NETCTL_CGROUP_PARENT): every record has its
# directory and its cgroup, and no cgroup or directory lacks a record (doctor sees those too); a
# running container's cgroup has its workload, an exited one's is empty; every supervisor (shim)
# of this state root belongs to a running container.
# The cgroup directory of container ID (pids hierarchy on cgroup v1, the unified one on v2): its
# leaf `<root id>-ID`.
ctr_cgroup() {
  ls -d /sys/fs/cgroup/{pids,unified,memory,}/"$NETCTL_CGROUP_PARENT"/*-"$1" 2>/dev/null |
    grep -E "/[0-9a-f]{8}-$1\$" | head -n 1 || true
}
container_invariants() {
  local id st dir cg
  while read -r id st; do
    [ -n "$id" ] || continue
    dir=$NETCTL_ROOT/containers/$id
    [ -d "$dir" ] || echo "container $id: no directory"
    cg=$(ctr_cgroup "$id")
    [ -n "$cg" ] || { echo "container $id ($st): no cgroup"; continue; }
    case $st in
      running) [ -n "$(cat "$cg/cgroup.procs")" ] || echo "container $id runs with an empty cgroup" ;;
      *) [ -z "$(cat "$cg/cgroup.procs")" ] || echo "container $id is $st with processes in its cgroup" ;;
    esac
  done < <(db "select id, ref from containers")
  local known; known=$(db "select id from containers" | sort)
  # This root's leaves only: another root may share the parent (crash.sh runs one beside).
  local rid; rid=$(db "select value from meta where key = 'root_id'")
  local cgs; cgs=$(ls /sys/fs/cgroup/{pids,unified,memory,}/"$NETCTL_CGROUP_PARENT" 2>/dev/null |
    sed -nE "s/^$rid-([0-9a-f]{64})\$/\1/p" | sort -u || true)
  [ "$cgs" = "$known" ] || echo "cgroups [$cgs] differ from containers [$known]"
  local dirs; dirs=$(ls "$NETCTL_ROOT/containers" 2>/dev/null | sort || true)
  [ "$dirs" = "$known" ] || echo "container directories [$dirs] differ from containers [$known]"
  local shims running
  shims=$(pgrep -f -- "netctl-shim .*--root $NETCTL_ROOT " | wc -l || true)
  running=$(db "select count(*) from containers where ref = 'running'")
  [ "$shims" = "$running" ] || echo "$shims supervisors for $running running containers"
}

# cni_conf NET HOSTPORT: a netctl-cni network configuration for NET in this state root, as a
# runtime passes it on stdin, with one port mapping HOSTPORT -> 80/tcp.
cni_conf() {
  printf '{"cniVersion":"1.0.0","name":"%s","type":"netctl-cni","network":"%s","stateRoot":"%s","runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}' \
    "$1" "$1" "$NETCTL_ROOT" "$2"
}

# Fails with the broken invariants, if any.
require_invariants() {
  local bad
  bad=$(check_invariants)
  [ -z "$bad" ] || fail "after $1: $bad"
}

# ask NS ADDR PORT: one TCP request from namespace NS, prints the answer ("" if none).
ask() { ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; }

# serve NS PORT WORD: answers WORD to every TCP connection; the server's PID goes to $SERVED.
# Callers add it to their `pids` (killed by their EXIT trap) and take it out once they killed it,
# so the trap never signals a PID that may have been reused.
serve() {
  ip netns exec "$1" busybox nc -ll -p "$2" -e echo "$3" &
  SERVED=$!
  # With many namespaces mounted, `ip netns exec` alone takes a while: wait up to 10 s.
  local until=$(( $(date +%s) + 10 ))
  while [ "$(date +%s)" -le "$until" ]; do
    ip netns exec "$1" ss -ltn | grep ":$2 " >/dev/null && return
    sleep 0.05
  done
  echo "serve: nothing listens on $1:$2" >&2
}

# The IPv4 address of an endpoint of network NET in sandbox SB, "" if none.
ep_ip() {
  db "select json_extract(e.body,'\$.Addresses[0]') from endpoints e join networks n on
      e.parent = n.id join sandboxes s on e.name = 'sandbox:' || s.id
      where n.name = '$1' and s.name = '$2'" | cut -d/ -f1
}

# The kernel state netctl may change, read from the kernel itself (not through netctl), normalised
# only where it legitimately varies between two equal states:
# - iptables/ip6tables (legacy, the tables the iptables backend writes): packet/byte counters
#   zeroed; the per-bridge rules of the root's isolation chains NETCTL-S-<root id> and
#   NETCTL-T-<root id> sorted where they stand (they are independent of one another: their order
#   follows the order a command listed the bridges in);
# - nftables (`nft -s list ruleset`, every table: the nftables backend's and anyone else's): the
#   elements of a set or map one per line, sorted (nft prints them in hash order), and the
#   per-bridge rules of the isolation chains sorted where they stand, as above;
# - `ip -o link` without carrier (NO-CARRIER, LOWER_UP, the operational state: a bridge's follows
#   its ports, a while after the last one went), `ip -o addr`, the files of /run/netns;
# - the container cgroups under $NETCTL_CGROUP_PARENT (v1: memory, cpu, pids; v2: the unified
#   tree) with their tasks' command names (the parent directory itself is made on first use);
# - processes in the harness's network namespace (command names and lines), but for the
#   harness's shell and the snapshot's own subshells;
# - conntrack (`conntrack -L`; the tool is required: scripts/install-deps.sh installs it): timeouts and states dropped, and the harness's own
#   probe flows (ICMP, and TCP from the addresses in $SNAP_PROBE_SRC: by default the LAN
#   neighbour's) left out: they come and go with every trial's checks, not with netctl.
kernel_snapshot() {
  command -v conntrack >/dev/null || { echo "kernel_snapshot: conntrack is not installed" >&2; return 1; }
  local me=$BASHPID procs
  procs=$(SNAP_CALLER=$me snapshot_processes)
  {
    echo "== iptables"; iptables-legacy-save
    echo "== ip6tables"; ip6tables-legacy-save
    echo "== nftables"; nft -s list ruleset
    echo "== links"; ip -o link show
    echo "== addresses"; ip -o addr show
    echo "== netns"; ls -A /run/netns
    echo "== cgroups"; snapshot_cgroups
    echo "== processes"; [ -z "$procs" ] || echo "$procs"
    echo "== conntrack"; conntrack -L 2>/dev/null
  } | awk -v probes=" ${SNAP_PROBE_SRC:-198.51.100.2} " "$SNAPSHOT_NORMALISE"
}
# One awk over all sections (a process less per section: the harness takes a snapshot per trial).
# Lines of a sorted group are buffered and printed sorted when the group ends.
SNAPSHOT_NORMALISE='
function flush(  i, j, t) {
  for (i = 2; i <= n; i++) {
    t = buf[i]
    for (j = i - 1; j >= 1 && buf[j] > t; j--) buf[j + 1] = buf[j]
    buf[j + 1] = t
  }
  for (i = 1; i <= n; i++) print buf[i]
  n = 0
}
function elements(  s, k, parts, i) {
  s = elem; sub(/^[^{]*\{/, "", s); sub(/\}[^}]*$/, "", s)
  k = split(s, parts, ",")
  for (i = 1; i <= k; i++) {
    gsub(/^[ \t]+|[ \t]+$/, "", parts[i])
    if (parts[i] != "") buf[++n] = "\t\telement " parts[i]
  }
  flush(); inelem = 0
}
/^== / { flush(); sec = $2; print; next }
sec == "nftables" {
  if (inelem) { elem = elem " " $0; if (/\}/) elements(); next }
  if (/elements = \{/) { elem = $0; if (/\}/) elements(); else inelem = 1; next }
  if (/^\tchain /) { flush(); chain = $2 }
  if (chain ~ /^isolation/ && /ifname/) { buf[++n] = $0; next }
  flush(); print; next
}
sec ~ /tables$/ {
  if (/^#/) next
  gsub(/\[[0-9]+:[0-9]+\]/, "[0:0]")
  if (/^-A NETCTL-[ST]-[0-9a-f]+ -[io] /) {
    if (n && $2 != chain) flush()
    chain = $2; buf[++n] = $0; next
  }
  flush(); print; next
}
sec == "links" {
  sub(/NO-CARRIER,/, ""); sub(/,LOWER_UP/, ""); sub(/ state [A-Z]+ /, " "); print; next
}
sec == "processes" { buf[++n] = $0; next }
sec == "conntrack" {
  if ($1 ~ /^(icmp|icmpv6|ipv6-icmp)$/) next
  if ($1 == "tcp" && index(probes, " " substr($5, 5) " ")) next
  $3 = ""; if ($4 !~ /=/) $4 = ""; gsub(/ +/, " "); buf[++n] = $0; next
}
{ print }
END { flush() }'
snapshot_cgroups() {
  [ -n "${NETCTL_CGROUP_PARENT:-}" ] || return 0
  local root=/sys/fs/cgroup d p c hs=(memory cpu pids)
  [ -e "$root/cgroup.controllers" ] && hs=(.)  # v2: one unified tree
  for h in "${hs[@]}"; do
    [ -d "$root/$h/$NETCTL_CGROUP_PARENT" ] || continue
    while read -r d; do
      echo "$d"
      while read -r p; do
        read -r c <"/proc/$p/comm" 2>/dev/null && echo "  task $c"
      done <"$d/cgroup.procs"
    done < <(find "$root/$h/$NETCTL_CGROUP_PARENT" -mindepth 1 -type d | sort)
  done
}
snapshot_processes() {
  local d pid comm args out=() self=" $$ ${SNAP_CALLER:-} $BASHPID "
  for d in /proc/[0-9]*; do  # builtins only: no process of this loop shows up in the list
    pid=${d#/proc/}
    [[ $self == *" $pid "* ]] && continue
    [ "$d/ns/net" -ef /proc/self/ns/net ] 2>/dev/null || continue
    read -r comm <"$d/comm" 2>/dev/null || continue
    mapfile -d '' args <"$d/cmdline" 2>/dev/null || continue
    out+=("$comm: ${args[*]}")
  done
  [ ${#out[@]} = 0 ] || printf '%s\n' "${out[@]}"
}
