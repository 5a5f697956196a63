#!/usr/bin/env bash
# doctor and gc over sandboxes, endpoints and IPAM rows with the real kernel: drift made behind
# netctl's back (a sandbox's namespace unmounted, an endpoint's veth deleted, an IPAM row without
# owner) is reported with exit 1 and nothing changed (store, and the rules of both firewall
# backends); gc repairs it, removing the lost endpoints' ports from the active backend; the ports
# are usable again. env: NETCTL_FIREWALL_BACKEND=nftables (default) | iptables
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
KEEP_NETNS=nb
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
nc_ network create --subnet 10.93.0.0/24 n1 >/dev/null
for s in a b c; do nc_ sandbox create "$s" >/dev/null; done
nc_ network connect -p 8081:80 n1 a >/dev/null
nc_ network connect -p 8082:80 n1 b >/dev/null
nc_ network connect -p 8083:80 n1 c >/dev/null
nc_ doctor >/dev/null || fail "doctor not clean at the start"
[ "$(fw_port_count 8081)$(fw_port_count 8082)$(fw_port_count 8083)" = 111 ] ||
  fail "want one entry per port in $NETCTL_FIREWALL_BACKEND: $(fw_ports)"

a_veth=$(db "select json_extract(body,'\$.HostIfName') from endpoints where name like
  'sandbox:' || (select id from sandboxes where name = 'a')")
umount /run/netns/a && rm /run/netns/a                             # a's namespace is gone
# The kernel frees a namespace (and so a's veth pair) in a workqueue after the last reference
# drops: under load the host end can outlive the unmount by a moment.
for _ in $(seq 100); do ip link show "$a_veth" >/dev/null 2>&1 || break; sleep 0.05; done
ip link show "$a_veth" >/dev/null 2>&1 && fail "a's veth $a_veth outlived its namespace by 5 s"
ip link del "$(db "select json_extract(body,'\$.HostIfName') from endpoints where name like
  'sandbox:' || (select id from sandboxes where name = 'b')")"      # b's veth is gone
db "insert into ipam_addresses values('ports/tcp','9999','0123456789abcdef')"  # no owner
before=$(db "select count(*) from sandboxes; select count(*) from endpoints;
  select count(*) from ipam_addresses")
rules=$(fw_save)
rc=0; out=$(nc_ doctor 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "doctor exited $rc on drift"
for want in "sandbox without namespace: a (/run/netns/a)" "endpoint without veth: n1 sandbox:" \
  "address without owner: ports/tcp 9999 0123456789abcdef"; do
  echo "$out" | grep -F "$want" >/dev/null || fail "doctor did not report '$want': $out"
done
[ "$(echo "$out" | grep -c 'endpoint without veth')" = 2 ] || fail "want a's and b's endpoints: $out"
[ "$before" = "$(db "select count(*) from sandboxes; select count(*) from endpoints;
  select count(*) from ipam_addresses")" ] || fail "doctor changed the store"
[ "$rules" = "$(fw_save)" ] || fail "doctor changed rules: $(diff <(echo "$rules") <(fw_save))"

nc_ gc >/dev/null
nc_ doctor >/dev/null || fail "drift after gc: $(nc_ doctor 2>&1)"
require_invariants "gc"
[ "$(db "select count(*) from sandboxes")" = 2 ] || fail "want sandboxes b and c"
[ "$(db "select count(*) from endpoints")" = 1 ] || fail "want only c's endpoint"
left=$(fw_ports 8081; fw_ports 8082)
[ -z "$left" ] || fail "a's or b's rules left: $left"
[ "$(fw_port_count 8083)" = 1 ] || fail "c's rule went: $(fw_ports)"
serve c 80 c; pids+=("$SERVED")
[ "$(ask nb 198.51.100.1 8083)" = c ] || fail "c's port stopped answering"
# a's port and b's port are free again; a's name too.
nc_ sandbox create a >/dev/null
nc_ network connect -p 8081:80 n1 a >/dev/null
nc_ network connect -p 8082:80 n1 b >/dev/null
nc_ doctor >/dev/null || fail "drift after reuse"
[ "$(fw_port_count 8081)$(fw_port_count 8082)" = 11 ] || fail "reused ports: $(fw_ports)"
echo "ok ($NETCTL_FIREWALL_BACKEND)"
