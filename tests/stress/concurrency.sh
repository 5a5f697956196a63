#!/usr/bin/env bash
# Concurrency harness (issue 7.2): WRITERS processes run OPS mixed operations each at once
# (network create/rm with automatic subnets, every third network also IPv6, connect with an
# automatic and a contested fixed host port, disconnect, sandbox create/rm, CNI ADD/DEL of
# netctl-cni into a sandbox's namespace with a published port, run -d with a published port and
# rm -f), against one shared network and their own ones. Then: no command failed (only 0, or 3/4
# for a lost race of netctl commands), no IP, MAC, subnet or host port given twice, doctor clean,
# the kernel and the store agree (lib.sh: check_invariants, with the containers' cgroups,
# directories and supervisors), sampled published ports of sandboxes, CNI attachments and
# containers answer, the active firewall backend holds one IPv4 DNAT entry per published port,
# and removing everything leaves no link, rule or map element (either backend, IPv4 or IPv6),
# mount, cgroup, process or row.
# Usage: NETCTL=build/netctl FIXTURES=netns-fixtures tests/stress/concurrency.sh [WRITERS] [OPS]
# env: NETCTL_FIREWALL_BACKEND=nftables (default) | iptables
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
# Containers: an own cgroup parent and the busybox rootfs; cleanup_run (EXIT) kills what is left
# in that cgroup parent and removes it and the state root.
source "$(dirname "$0")/../e2e/lib_run.sh"
[ -n "${STRESS_TRACE:-}" ] && set -x
WRITERS=${1:-8}
OPS=${2:-50}
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
KEEP_NETNS=nb
out=$NETCTL_ROOT/stress
mkdir -p "$out"
nc_ network create --subnet 10.91.0.0/22 shared >/dev/null
# CNI attachments go to their own network: a namespace joins a network once, by either path.
nc_ network create --subnet 10.92.0.0/22 cninet >/dev/null

# cni CMD SB HOSTPORT: netctl-cni called as a runtime calls it, attachment "<SB>" on eth9 of SB
# in network cninet; the CNI error object goes to stderr.
cni() {
  local res=$out/cni.$BASHPID
  cni_conf cninet "$3" |
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth9 CNI_PATH=${NETCTL%/*} \
      "${NETCTL%/*}/netctl-cni" >"$res" || { local rc=$?; echo "cni $1 $2: $(cat "$res")" >&2; return $rc; }
}

# writer W: OPS random operations on its own objects (names w<W>-...), logging "op rc" lines.
writer() {
  local w=$1 i op rc sb net port v6
  local -a sbs=() nets=() conns=() cnis=() ctrs=()  # conns: "net sb"; cnis: CNI namespaces
  RANDOM=$((w * 7919 + ${SEED:-1}))
  for i in $(seq 1 "$OPS"); do
    op=$(pick_op)
    # An operation without an object to work on creates one instead: every writer runs OPS.
    case $op in
      sb_rm | connect) [ ${#sbs[@]} -gt 0 ] || op=sb_create ;;
      net_rm) [ ${#nets[@]} -gt 0 ] || op=net_create ;;
      disconnect) [ ${#conns[@]} -gt 0 ] || op=sb_create ;;
      cni_del) [ ${#cnis[@]} -gt 0 ] || op=run ;;
      rm) [ ${#ctrs[@]} -gt 0 ] || op=run ;;
    esac
    rc=0
    case $op in
      sb_create) sb=w$w-s$i; nc_ sandbox create "$sb" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || sbs+=("$sb") ;;
      sb_rm)
        sb=${sbs[$((RANDOM % ${#sbs[@]}))]}
        nc_ sandbox rm --force "$sb" >/dev/null 2>>"$out/w$w.err" || rc=$?
        if [ "$rc" = 0 ]; then
          without sbs "$sb"
          local -a keep=(); for c in "${conns[@]}"; do [ "${c#* }" = "$sb" ] || keep+=("$c"); done
          conns=("${keep[@]}")
        fi ;;
      net_create)  # automatic IPv4 subnet; every third network dual-stack, IPv6 default routes too
        net=w$w-n$i v6=()
        [ $((i % 3)) = 0 ] && v6=(--ipv6 --subnet "fd00:91:$w:$i::/64")
        nc_ network create "${v6[@]}" "$net" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || nets+=("$net") ;;
      net_rm)
        net=${nets[$((RANDOM % ${#nets[@]}))]}
        nc_ network rm "$net" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || without nets "$net" ;;
      connect)
        sb=${sbs[$((RANDOM % ${#sbs[@]}))]}
        net=shared; [ ${#nets[@]} -gt 0 ] && [ $((RANDOM % 3)) = 0 ] && net=${nets[$((RANDOM % ${#nets[@]}))]}
        port=$((8000 + RANDOM % 40))  # contested between writers: 4 when taken
        nc_ network connect -p 0:80 -p "$port:81" "$net" "$sb" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || conns+=("$net $sb") ;;
      disconnect)
        local c=${conns[$((RANDOM % ${#conns[@]}))]}
        nc_ network disconnect "${c% *}" "${c#* }" >/dev/null 2>>"$out/w$w.err" || rc=$?
        if [ "$rc" = 0 ]; then
          local -a keep=(); for x in "${conns[@]}"; do [ "$x" = "$c" ] || keep+=("$x"); done
          conns=("${keep[@]}")
        fi ;;
      cni_add)  # as a runtime: a namespace of its own (a sandbox no netctl endpoint joins), then ADD
        sb=w$w-k$i
        nc_ sandbox create "$sb" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || cni ADD "$sb" $((20000 + w * 100 + i)) >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || cnis+=("$sb") ;;
      cni_del)  # DEL, then the namespace goes
        sb=${cnis[$((RANDOM % ${#cnis[@]}))]}
        cni DEL "$sb" 0 >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || nc_ sandbox rm "$sb" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || without cnis "$sb" ;;
      run)
        net=shared; [ ${#nets[@]} -gt 0 ] && [ $((RANDOM % 3)) = 0 ] && net=${nets[$((RANDOM % ${#nets[@]}))]}
        nc_ run -d --name "w$w-c$i" --network "$net" -p 0:80 --rootfs "$ROOTFS" -- \
          /bin/nc -ll -p 80 -e /bin/echo "w$w-c$i" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || ctrs+=("w$w-c$i") ;;
      rm)
        local c=${ctrs[$((RANDOM % ${#ctrs[@]}))]}
        nc_ rm -f "$c" >/dev/null 2>>"$out/w$w.err" || rc=$?
        [ "$rc" != 0 ] || without ctrs "$c" ;;
    esac
    echo "$op $rc" >>"$out/w$w.log"
  done
}
# without ARRAY ITEM: removes every element equal to ITEM from the caller's ARRAY.
without() {
  local -n arr=$1
  local -a keep=()
  for x in "${arr[@]}"; do [ "$x" = "$2" ] || keep+=("$x"); done
  arr=("${keep[@]}")
}
pick_op() {
  local r=$((RANDOM % 100))
  if [ $r -lt 16 ]; then echo sb_create; elif [ $r -lt 22 ]; then echo sb_rm
  elif [ $r -lt 29 ]; then echo net_create; elif [ $r -lt 34 ]; then echo net_rm
  elif [ $r -lt 58 ]; then echo connect; elif [ $r -lt 68 ]; then echo disconnect
  elif [ $r -lt 78 ]; then echo cni_add; elif [ $r -lt 84 ]; then echo cni_del
  elif [ $r -lt 94 ]; then echo run; else echo rm; fi
}

log "$WRITERS writers x $OPS operations"
t0=$(date +%s%N)
wpids=()
for w in $(seq 1 "$WRITERS"); do writer "$w" & wpids+=($!); done
for p in "${wpids[@]}"; do wait "$p" || fail "writer exited $?"; done
t1=$(date +%s%N)
total=$(cat "$out"/w*.log | wc -l)
bad=$(cat "$out"/w*.log | awk '$2 != 0 && $2 != 3 && $2 != 4' | sort | uniq -c)
[ -z "$bad" ] || fail "commands failed: $bad; $(cat "$out"/w*.err | grep -v 'is already published' | sort | uniq -c | head)"
log "$total operations in $(( (t1 - t0) / 1000000 )) ms: $(cat "$out"/w*.log | sort | uniq -c | awk '{printf "%s %s rc%s, ", $1, $2, $3}')"

# Invariants over the final state.
require_invariants "the concurrent writers"
dups=$(db "select json_extract(p.value,'\$.Proto') || '/' || json_extract(p.value,'\$.HostPort')
           from endpoints, json_each(endpoints.body,'\$.Ports') p" | sort | uniq -d)
[ -z "$dups" ] || fail "host ports given twice: $dups"
dups=$(db "select json_extract(body,'\$.MacAddress') || json_extract(body,'\$.NetworkId')
           from endpoints" | sort | uniq -d)
[ -z "$dups" ] || fail "MAC given twice on a network: $dups"
nv=$(ip -o link show | awk -F': ' '$2 ~ /^nv/' | wc -l)
[ "$nv" = "$(db 'select count(*) from endpoints')" ] || fail "$nv veths, $(db 'select count(*) from endpoints') endpoints"
nb=$(ip -o link show type bridge | awk -F': ' '$2 ~ /^nc-/' | wc -l)
[ "$nb" = "$(db 'select count(*) from networks')" ] || fail "$nb bridges, $(db 'select count(*) from networks') networks"
subnets=$(db "select json_extract(c.value,'\$.Subnet') from networks, json_each(networks.body,'\$.IPAM.Config') c" |
  sort | uniq -d)
[ -z "$subnets" ] || fail "a subnet given twice: $subnets"
# Read from the active backend's own objects, not through netctl: one IPv4 entry per port.
ports=$(db_port_count)
[ "$ports" -gt 0 ] || fail "no published port survived the writers"
[ "$(fw_port_count4)" = "$ports" ] ||
  fail "$(fw_port_count4) IPv4 DNAT entries in $NETCTL_FIREWALL_BACKEND for $ports published ports"

# What the kernel holds for a sampled port that did not answer: the sandbox's addresses and routes,
# the port's DNAT rule, the host's neighbours. (Seen once in CI: a sandbox that had lost its default
# route with the network that held it could not answer the neighbour; now the route moves.)
why() {  # NS HOSTPORT
  echo "; in $1: $(ip netns exec "$1" ip -br addr | tr '\n' ' ')| routes: $(ip netns exec "$1" ip route |
    tr '\n' ';') | $NETCTL_FIREWALL_BACKEND: $(fw_ports "$2" | tr '\n' ';')" \
    "| neighbours: $(ip neigh show | grep -v FAILED -c) reachable, $(ip neigh show | grep -c FAILED) failed"
}
# Sampled published ports answer from the neighbour (up to 6 endpoints on the shared network).
sampled=0
while read -r sb hp; do
  serve "$sb" 80 "$sb"; pids+=("$SERVED")
  [ "$(ask nb 198.51.100.1 "$hp")" = "$sb" ] || fail "port $hp of $sb does not answer$(why "$sb" "$hp")"
  kill "$SERVED"; wait "$SERVED" 2>/dev/null || true; unset "pids[-1]"
  sampled=$((sampled + 1))
done < <(db "select s.name, json_extract(e.body,'\$.Ports[0].HostPort') from endpoints e join
             sandboxes s on e.name = 'sandbox:' || s.id join networks n on e.parent = n.id
             where n.name = 'shared' limit 6")
# ... and up to 4 CNI attachments (served by their sandbox) and 4 containers (serving their name).
while read -r sb hp; do
  serve "$sb" 80 "$sb"; pids+=("$SERVED")
  [ "$(ask nb 198.51.100.1 "$hp")" = "$sb" ] || fail "port $hp of CNI attachment $sb does not answer$(why "$sb" "$hp")"
  kill "$SERVED"; wait "$SERVED" 2>/dev/null || true; unset "pids[-1]"
  sampled=$((sampled + 1))
done < <(db "select json_extract(body,'\$.ContainerId'), json_extract(body,'\$.Ports[0].HostPort')
             from endpoints where json_extract(body,'\$.ContainerId') is not null limit 4")
while read -r name hp; do
  [ "$(ask nb 198.51.100.1 "$hp")" = "$name" ] || fail "port $hp of container $name does not answer"
  sampled=$((sampled + 1))
done < <(db "select c.name, json_extract(e.body,'\$.Ports[0].HostPort') from endpoints e join
             containers c on e.name = 'container:' || c.id where c.ref = 'running' limit 4")
log "$NETCTL_FIREWALL_BACKEND backend: $(db 'select count(*) from networks') networks, $(db 'select count(*) from sandboxes') sandboxes, $(db 'select count(*) from containers') containers, $(db 'select count(*) from endpoints') endpoints agree with the kernel; $sampled sampled ports answered"

# Everything removed: nothing left anywhere.
ctrs=$(db "select name from containers")
[ -z "$ctrs" ] || nc_ rm -f $ctrs >/dev/null
for sb in $(db "select json_extract(body,'\$.ContainerId') from endpoints where json_extract(body,'\$.ContainerId') is not null"); do
  cni DEL "$sb" 0 >/dev/null
done
sbs=$(db "select name from sandboxes")
[ -z "$sbs" ] || nc_ sandbox rm --force $sbs >/dev/null
nc_ network prune >/dev/null
require_invariants "removing everything"
[ -z "$(ip -o link show | awk -F': ' '$2 ~ /^(nv|nc-)/')" ] || fail "links left: $(ip -o link show)"
[ "$(db 'select count(*) from ipam_addresses')" = 0 ] || fail "IPAM rows left"
left=$(fw_left)
[ -z "$left" ] || fail "rules left: $left"
[ -z "$(ls /sys/fs/cgroup/{pids,unified,memory,}/"$NETCTL_CGROUP_PARENT" 2>/dev/null | grep -E '(^|-)[0-9a-f]{64}$')" ] ||
  fail "container cgroups left"
# The DNS server notices within its 2 s store poll that no endpoint is left, and exits.
for _ in $(seq 50); do pgrep -f -- "netctl-dns --root $NETCTL_ROOT " >/dev/null || break; sleep 0.1; done
! pgrep -f -- "--root $NETCTL_ROOT " >/dev/null || fail "processes left: $(pgrep -af -- "--root $NETCTL_ROOT ")"
echo ok
