#!/usr/bin/env bash
# apt-install.sh PKG...: installs those of the Debian packages that are not installed yet
# (apt-get install --no-install-recommends; apt-get update first when one has no candidate), as
# root. No package's maintainer script may start a daemon on this host (docker.io would start
# dockerd and write its iptables rules, etcd-server a member on port 2379): apt runs in a private
# mount namespace where /usr/sbin/policy-rc.d answers 101 ("action forbidden").
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "apt-install: run as root" >&2; exit 2; fi
missing=()
for p in "$@"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "apt-install: installing ${missing[*]}" >&2
deny=$(mktemp /tmp/netctl-policy.XXXXXX)
made=0
cleanup() {
  [ "$made" = 1 ] && rm -f /usr/sbin/policy-rc.d
  rm -f "$deny"
}
trap cleanup EXIT
printf '#!/bin/sh\nexit 101\n' >"$deny"
chmod 755 "$deny"
# A bind mount needs a file to cover; one made here is removed again.
if [ ! -e /usr/sbin/policy-rc.d ]; then touch /usr/sbin/policy-rc.d; made=1; fi
unshare --mount bash -c '
  set -e
  mount --make-rprivate /
  mount --bind "$1" /usr/sbin/policy-rc.d
  shift
  export DEBIAN_FRONTEND=noninteractive
  for p in "$@"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q "Candidate: [0-9]"; then
      apt-get update -qq
      break
    fi
  done
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
' _ "$deny" "${missing[@]}"
