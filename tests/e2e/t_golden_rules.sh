# The full rule set per scenario, compared with golden files (ids and names normalised, counters
# dropped): golden/*.rules for iptables, golden/nft/*.rules for nftables (`nft list table inet
# netctl-<root id>`). Regenerate after an intended change, run alone, once per backend:
#   GOLDEN_UPDATE=1 NETCTL=build/netctl FIXTURES=netns-fixtures bash tests/e2e/t_golden_rules.sh
#   NETCTL_FIREWALL_BACKEND=iptables GOLDEN_UPDATE=1 NETCTL=build/netctl ... (the same)
# That mode only writes: it compares nothing, so it always ends in failure (exit 3) after writing,
# and refuses to run under CI. Review the diff, then run again without it.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
golden=$(cd "$(dirname "$0")" && pwd)/golden
is_nft && golden=$golden/nft
update=${GOLDEN_UPDATE:-}
case "${CI:-}" in 1 | true) [ -z "$update" ] || fail "GOLDEN_UPDATE is not allowed under CI" ;; esac
# iptables-legacy-save without comments and counters; network/endpoint ids become ID1, ID2, ...,
# the state root's id (per-root chains NETCTL-<kind>-<8 hex>) ROOT.
# nftables: netctl's table, the root id (in its name and every rule's comment) ROOT, the ids as
# above, and map elements one a line, sorted (nft_sorted_elements, lib.sh).
nft_rules() {
  local ids map="s/(netctl[-:])[0-9a-f]{8}\b/\1ROOT/g;" i=0 id t
  t=$(nft_tables)
  [ -n "$t" ] || return 0
  ids=$(nft list table inet "$t" | grep -oE '(nc-|nv|[NIM]-)[0-9a-f]{12}' | grep -oE '[0-9a-f]{12}$' | awk '!seen[$0]++' || true)
  for id in $ids; do i=$((i + 1)); map+="s/$id/ID$i/g;"; done
  nft list table inet "$t" | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; '"$map" |
    nft_sorted_elements
}
rules() {
  if is_nft; then nft_rules; return; fi
  local ids map="s/(NETCTL-[A-Z]-)[0-9a-f]{8}\b/\1ROOT/g;" i=0 id
  ids=$({ iptables-legacy-save; ip6tables-legacy-save; } | grep -oE '(nc-|nv|NETCTL-[A-Z]-)[0-9a-f]{12}' | grep -oE '[0-9a-f]{12}$' | awk '!seen[$0]++' || true)
  for id in $ids; do i=$((i + 1)); map+="s/$id/ID$i/g;"; done
  iptables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//; '"$map"
  # The IPv6 tables once netctl has written there (dual-stack networks).
  if ip6tables-legacy-save | grep NETCTL >/dev/null; then
    echo "# ip6tables"
    ip6tables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//; '"$map"
  fi
}
check() { # NAME: compare the current rules with golden/NAME.rules
  if [ -n "$update" ]; then rules >"$golden/$1.rules" || fail "writing golden/$1.rules"; return; fi
  diff -u "$golden/$1.rules" <(rules) >&2 || fail "rules differ from golden/$1.rules"
}
nc_ network create --subnet 10.88.0.0/24 plain >/dev/null
check network
nc_ network rm plain >/dev/null
nc_ network create --internal --subnet 10.89.0.0/24 inner >/dev/null
check internal
nc_ network rm inner >/dev/null
nc_ network create -o com.docker.network.bridge.enable_icc=false --subnet 10.90.0.0/24 noicc >/dev/null
check icc_off
nc_ network rm noicc >/dev/null
nc_ network create --subnet 10.91.0.0/24 pub >/dev/null
nc_ sandbox create s1 >/dev/null

nc_ network connect --ip 10.91.0.2 -p 8080:80 -p 9000-9001:90-91/udp pub s1
check published_port
nc_ network disconnect pub s1
nc_ network connect --ip 10.91.0.2 -p 127.0.0.1:8081:81 pub s1
check host_ip_port
nc_ sandbox rm --force s1
nc_ network rm pub >/dev/null
check empty

# Dual stack: the same layout in ip6tables; ports map in the family of their host address, both
# without one. doctor sees no drift with it, nor after it is gone (top-level chains stay).
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ip addr add 2001:db8:100::1/64 dev nb-nb nodad
nc_ network create --ipv6 --subnet 10.92.0.0/24 --subnet fd00:92::/64 dual >/dev/null
nc_ sandbox create s2 >/dev/null
nc_ network connect --ip 10.92.0.2 --ip6 fd00:92::2 -p 8080:80 -p '[2001:db8:100::1]:8443:443' \
  -p 198.51.100.1:5353:53/udp dual s2
check dual_stack
nc_ doctor >/dev/null || { nc_ doctor; fail "doctor: drift with a dual-stack network"; }
nc_ sandbox rm --force s2
nc_ network rm dual >/dev/null
fw_save | grep -E 'fd00:92' >/dev/null && fail "IPv6 rules left behind"
[ -z "$(fw_network_objects)" ] || fail "network rules left behind: $(fw_network_objects)"
nc_ doctor >/dev/null || { nc_ doctor; fail "doctor: drift after the dual-stack network went"; }
if [ -n "$update" ]; then
  echo "GOLDEN_UPDATE: rewrote $golden/*.rules and compared nothing; review the diff" >&2
  exit 3
fi
echo ok
