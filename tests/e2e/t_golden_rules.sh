# The full rule set per scenario, compared with golden files (ids and names normalised, counters
# dropped). Regenerate after an intended change: GOLDEN_UPDATE=1 tests/e2e/run.sh build/netctl
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
golden=$(cd "$(dirname "$0")" && pwd)/golden
# iptables-legacy-save without comments and counters; network/endpoint ids become N1, N2, E1, ...
rules() {
  local ids map="" i=0 id
  ids=$(iptables-legacy-save | grep -oE '(nc-|nv|NETCTL-[A-Z]-)[0-9a-f]{12}' | grep -oE '[0-9a-f]{12}$' | awk '!seen[$0]++' || true)
  for id in $ids; do i=$((i + 1)); map+="s/$id/ID$i/g;"; done
  iptables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//; '"$map"
}
check() { # NAME: compare the current rules with golden/NAME.rules
  if [ -n "${GOLDEN_UPDATE:-}" ]; then rules >"$golden/$1.rules"; return; fi
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
echo ok
