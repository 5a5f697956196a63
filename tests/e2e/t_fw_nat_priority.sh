# Living with others: another table's nat prerouting chain that DNATs the host port netctl
# publishes, at netctl's DNAT priority (-100: nftables' chain `prerouting`, the legacy nat table
# alike). The first DNAT of a new connection wins; of two chains at one priority the one made
# LAST runs first (the kernel inserts a new hook before the ones of equal priority), whatever the
# table or family. Checked by who answers the LAN neighbour: the sandbox behind netctl
# ("netctl") or another host the foreign chain points to ("other"); and doctor warns (exit 0,
# not drift) about such a chain at or before netctl's priority, not after it. Publishing each
# port in one table only, both work.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
add_neighbour srv 203.0.113.2/24 203.0.113.1/24  # the foreign DNAT's server: not netctl's
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
sysctl -qw net.ipv4.ip_forward=1  # the foreign DNAT forwards before netctl made anything
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
listening() { # NS PORT: waits until something listens
  for _ in $(seq 50); do
    ip netns exec "$1" ss -ltn | grep ":$2 " >/dev/null && return
    sleep 0.1
  done
  fail "nothing listens on $1:$2"
}
# foreign PRIORITY [PORT]: table ip other, a nat prerouting chain at PRIORITY that DNATs tcp PORT
# (8080) to srv; made anew, so registered after everything already there.
foreign() {
  nft delete table ip other 2>/dev/null || true
  nft -f - <<EOT
table ip other {
  chain pre {
    type nat hook prerouting priority $1; policy accept;
    tcp dport ${2:-8080} dnat to 203.0.113.2:80;
  }
}
EOT
}
# doctor's warnings, one a line; fails unless doctor exits 0 and reports no drift. Call it as
# w=$(warnings) only: set -e then stops the scenario when it fails.
warnings() {
  local j
  j=$(stdout_of 0 nc_ --format json doctor) || exit 1
  python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["Clean"], d
for w in d.get("Warnings") or []: print(w)' <<<"$j" || fail "doctor --format json: $j"
}
ip netns exec srv busybox nc -ll -p 80 -e echo other & pids+=($!)
listening srv 80

# The foreign chain made first, then netctl's (network create makes its DNAT hook): netctl's,
# made last, runs first and takes the port.
foreign -100
[ "$(ask 8080)" = other ] || fail "the foreign DNAT alone does not reach srv"
nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ sandbox create web >/dev/null
nc_ network connect -p 8080:80 n1 web
ip netns exec web busybox nc -ll -p 80 -e echo netctl & pids+=($!)
listening web 80
got=$(ask 8080)
[ "$got" = netctl ] ||
  fail "$(fw_backend): netctl's DNAT made after the foreign one: '$got' answered, want netctl"
# doctor: a warning at the same priority, not drift; it names the table, chain and priority.
w=$(warnings)
grep -F 'table ip other pre: DNAT on the nat prerouting hook at priority -100' <<<"$w" >/dev/null ||
  fail "doctor does not warn about the foreign DNAT at priority -100: '$w'"
[ "$(stdout_of 0 nc_ doctor | grep -c '^warning: ')" = 1 ] || fail "want one warning line"

# The foreign chain made again, now after netctl's: it runs first and takes the port.
foreign -100
got=$(ask 8080)
[ "$got" = other ] || fail "$(fw_backend): the foreign DNAT made last: '$got' answered, want other"
# A publish or gc does not move netctl's hook ahead again: the port stays the foreign one's.
nc_ sandbox create web2 >/dev/null
nc_ network connect -p 8090:80 n1 web2
nc_ gc >/dev/null
[ "$(ask 8080)" = other ] || fail "a publish or gc moved netctl's DNAT ahead of the foreign one"

# A lower priority runs first: at -101 the foreign chain wins; at -99 netctl's wins although the
# foreign chain is newer, and doctor has nothing to warn about.
foreign -101
[ "$(ask 8080)" = other ] || fail "a foreign DNAT at priority -101 does not win"
w=$(warnings)
grep -F 'priority -101, before netctl' <<<"$w" >/dev/null ||
  fail "doctor does not warn about a foreign DNAT at priority -101: '$w'"
foreign -99
[ "$(ask 8080)" = netctl ] || fail "netctl's DNAT does not win over one at priority -99"
w=$(warnings)
[ -z "$w" ] || fail "doctor warns about a foreign DNAT after netctl's: $w"

# Each port published in one table only: both work; doctor still warns (it does not compare
# ports), and reports no drift.
foreign -100 8081
[ "$(ask 8080)" = netctl ] || fail "netctl's port beside a foreign DNAT of another port"
[ "$(ask 8081)" = other ] || fail "the foreign port beside netctl's"
w=$(warnings)
grep -F 'table ip other pre: DNAT on the nat prerouting hook at priority -100' <<<"$w" >/dev/null ||
  fail "doctor does not warn about the foreign DNAT of another port: '$w'"
nft delete table ip other
w=$(warnings)
[ -z "$w" ] || fail "a warning with no foreign table: $w"
[ "$(ask 8080)" = netctl ] || fail "netctl's port after the foreign table went"
echo ok
