# netctl-cni error cases: each gives the spec's code as JSON on stdout, exits non-zero and changes
# nothing (links, addresses, rules, store), for every sample in netns-fixtures/cni/invalid too.
source "$FIXTURES/lib.sh"; source "$FIXTURES/cni/lib.sh"; cni_outside
throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
cni_inside
trap 'umount -l /var/lib 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
ip netns add s1; ip netns add s2
good='{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","someFutureKey":{"x":1}}'
cni_plugin ADD c1 /run/netns/s1 eth0 <<<"$good" >/dev/null || fail "first ADD"
before=$(cni_state)
# expect_cni CODE CMD CID NETNS IFNAME CONF [ENV...]: the call fails with CODE and changes nothing.
expect_cni() {
  local code=$1 cmd=$2 cid=$3 ns=$4 ifn=$5 conf=$6 out rc=0; shift 6
  out=$(env "$@" bash -c 'source "$1"; cni_plugin "$2" "$3" "$4" "$5" <<<"$6"' _ \
    "$FIXTURES/cni/lib.sh" "$cmd" "$cid" "$ns" "$ifn" "$conf") || rc=$?
  [ "$rc" != 0 ] || fail "$cmd ($code expected) succeeded: $out"
  [ "$(cni_code "$out")" = "$code" ] || fail "$cmd: want code $code, got: $out"
  python3 -c 'import json,sys; e=json.loads(sys.argv[1]); assert e["msg"] and e["cniVersion"]' "$out" ||
    fail "not a CNI error object: $out"
  [ "$before" = "$(cni_state)" ] || fail "state changed by failing $cmd (code $code): $(diff <(echo "$before") <(cni_state))"
}
expect_cni 4 ADD "" /run/netns/s2 eth0 "$good"                       # no CNI_CONTAINERID
expect_cni 4 ADD c2 "" eth0 "$good"                                  # no CNI_NETNS
expect_cni 4 ADD c2 /run/netns/s2 "" "$good"                         # no CNI_IFNAME
expect_cni 4 ADD 'c/2' /run/netns/s2 eth0 "$good"                    # malformed container id
expect_cni 4 ADD c2 /run/netns/s2 eth0123456789abc "$good"           # IFNAME of 16 characters
expect_cni 4 ADD c2 /run/netns/s2 'a/b' "$good"                      # IFNAME with a slash
expect_cni 4 BOGUS c2 /run/netns/s2 eth0 "$good"                     # unknown CNI_COMMAND
expect_cni 6 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0",'      # bad JSON
expect_cni 6 ADD c2 /run/netns/s2 eth0 '[1,2]'                       # not an object
expect_cni 1 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"9.9.9","name":"n1","type":"netctl-cni"}'
expect_cni 1 CHECK c1 /run/netns/s1 eth0 '{"cniVersion":"0.3.1","name":"n1","type":"netctl-cni"}'
expect_cni 1 GC "" "" "" '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","cni.dev/valid-attachments":[]}'
expect_cni 3 ADD c2 /run/netns/nonexistent eth0 "$good"              # netns path missing
expect_cni 4 ADD c2 /etc/hostname eth0 "$good"                       # not a network namespace
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","type":"netctl-cni"}'  # no name
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"nosuchnet","type":"netctl-cni"}'
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","mtu":"big"}'
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"bad","type":"netctl-cni","subnet":"10.1.0.0/33"}'
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","runtimeConfig":{"portMappings":[{"hostPort":80}]}}'
expect_cni 7 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","runtimeConfig":{"ips":["10.99.0.5/24"]}}'
expect_cni 2 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni","ipam":{"type":"host-local"}}'
expect_cni 2 ADD c2 /run/netns/s2 eth0 '{"cniVersion":"1.0.0","name":"x2","type":"netctl-cni","subnet":"10.5.0.0/24","isGateway":false}'
expect_cni 4 ADD c2 /run/netns/s2 eth0 "$good" CNI_ARGS='FOO=bar'    # unknown CNI_ARGS key
expect_cni 104 ADD c1 /run/netns/s1 eth0 "$good"                     # duplicate ADD
expect_cni 104 ADD c2 /run/netns/s2 eth0 "$good" CNI_ARGS='IP=10.88.0.2'  # IP held by c1
expect_cni 7 GC "" "" "" '{"cniVersion":"1.1.0","name":"n1","type":"netctl-cni"}'  # no attachment list
# Invalid sample configurations shipped in netns-fixtures/cni/invalid: each is refused, no change.
for f in "$FIXTURES"/cni/invalid/*.json; do
  want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["_expect_code"])' "$f" 2>/dev/null ||
    sed -n 's/.*"_expect_code": *\([0-9]*\).*/\1/p' "$f")
  [ -n "$want" ] || want=6
  expect_cni "$want" ADD c2 /run/netns/s2 eth0 "$(cat "$f")"
done
cni_plugin DEL c1 /run/netns/s1 eth0 <<<"$good" >/dev/null || fail "DEL c1"
[ "$(ip -o link show type veth | grep -c .)" = 0 ] || fail "veths left"
echo ok
