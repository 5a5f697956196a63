#!/usr/bin/env bash
# Builds a busybox-static root filesystem at DIR (sh, httpd, nc, ps and the other applets) for
# `netctl run --rootfs DIR`. Cached: a complete DIR (marker file) is left as it is. Built in a
# temporary sibling and renamed, so concurrent callers never see half a tree.
# Usage: netns-fixtures/rootfs.sh DIR
set -euo pipefail
dir=${1:?usage: rootfs.sh DIR}
[ -f "$dir/.netctl-rootfs" ] && exit 0
bb=$(command -v busybox) || { echo "rootfs.sh: busybox-static is not installed" >&2; exit 1; }
tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/www}
chmod 1777 "$tmp/tmp"
cp "$bb" "$tmp/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tmp/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
echo hello-from-rootfs >"$tmp/var/www/index.html"
touch "$tmp/.netctl-rootfs"
chmod 755 "$tmp"
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
  [ -f "$dir/.netctl-rootfs" ] || { echo "rootfs.sh: cannot create $dir" >&2; exit 1; }
fi
trap - EXIT
