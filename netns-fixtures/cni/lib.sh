# shellcheck shell=bash
# Helpers for the netctl-cni scenarios (tests/e2e/t_cni*.sh, tests/bench/cni.sh); source after
# netns-fixtures/lib.sh. NETCTL is the netctl binary; netctl-cni is found next to it.
CNI_FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETCTL_CNI=${NETCTL_CNI:-$(dirname "${NETCTL:-build/netctl}")/netctl-cni}
CNITOOL=${CNITOOL:-/var/tmp/netctl-bench/cnitool}
export NETCTL_CNI CNITOOL

# cni_outside: before throwaway_host (it needs the package registry): builds cnitool with
# /work/shared/tools/cnitool/build.sh (Debian's libcni) into $CNITOOL if it is missing.
cni_outside() {
  [ -n "${NETCTL_THROWAWAY:-}" ] && return 0
  [ -x "$CNITOOL" ] && return 0
  # shellcheck source=../../tests/bench/lib.sh
  source "$CNI_FIXTURES/../../tests/bench/lib.sh"
  ensure_cnitool "$CNITOOL" || echo "cni: cnitool could not be built into $CNITOOL" >&2
}

# cni_inside: inside the throwaway host. Hides /var/lib behind a tmpfs (libcni caches results in
# /var/lib/cni), puts netctl-cni into $CNI_PATH and conflists into $NETCONFPATH under the state
# root.
cni_inside() {
  [ -x "$NETCTL_CNI" ] || { echo "no netctl-cni at $NETCTL_CNI" >&2; exit 1; }
  [ -x "$CNITOOL" ] || { echo "no cnitool at $CNITOOL (tests/bench/lib.sh ensure_cnitool)" >&2; exit 1; }
  mount -t tmpfs -o mode=755 tmpfs /var/lib
  export CNI_PATH=$NETCTL_ROOT/cni-bin NETCONFPATH=$NETCTL_ROOT/net.d
  mkdir -p "$CNI_PATH" "$NETCONFPATH"
  ln -s "$NETCTL_CNI" "$CNI_PATH/netctl-cni"
}

# cni_conflist NAME VERSION [PLUGIN-JSON-FIELDS]: writes $NETCONFPATH/NAME.conflist with one
# netctl-cni plugin; the fields (e.g. '"network":"n1"') go into the plugin object.
cni_conflist() {
  local fields=${3:-}
  cat >"$NETCONFPATH/$1.conflist" <<JSON
{"cniVersion":"$2","name":"$1","plugins":[{"type":"netctl-cni"${fields:+,$fields},
  "capabilities":{"portMappings":true,"ips":true,"mac":true,"aliases":true}}]}
JSON
}

# cni_plugin CMD CID NETNS IFNAME: runs netctl-cni directly with the CNI_* variables set (an empty
# value leaves that variable unset); stdin is the network configuration. Prints stdout; returns its
# exit status.
cni_plugin() {
  local -a e=(CNI_COMMAND="$1" CNI_PATH="$CNI_PATH")
  [ -n "$2" ] && e+=(CNI_CONTAINERID="$2")
  [ -n "$3" ] && e+=(CNI_NETNS="$3")
  [ -n "$4" ] && e+=(CNI_IFNAME="$4")
  env -u CNI_CONTAINERID -u CNI_NETNS -u CNI_IFNAME "${e[@]}" "$NETCTL_CNI"
}

# cni_code JSON: the "code" of a CNI error object (empty if none).
cni_code() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("code",""))' "$1" 2>/dev/null; }

# cni_state: everything a failed CNI call must leave unchanged: links, addresses, rules, the
# store's networks and its allocations (addresses, MACs, host ports of every endpoint).
cni_state() {
  ip -o link show | sed 's/^[0-9]*: //' | awk '{print $1}' | sort
  ip -o addr show | awk '{print $2, $4}' | sort
  iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//'
  "$NETCTL" --format json network ls
  "$NETCTL" --format json info | grep -v '"Root"'
}
