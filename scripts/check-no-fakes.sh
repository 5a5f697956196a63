#!/usr/bin/env bash
# Fails if a shipped binary holds a test double: the fakes of tests/fakes/ (FakeLinks,
# FakeFirewall, StepCounter, ...) belong to netctl_unit and netctl_priv only. A fake linked into
# netctl would be code a root process carries and could be made to reach; GCC also devirtualizes
# calls speculatively towards the one subclass it sees, so a fake visible to production code shows
# up in its machine code too.
# Usage: scripts/check-no-fakes.sh BUILD_DIR  (after a build of netctl and netctl-cni there)
set -euo pipefail
dir=${1:?usage: $0 BUILD_DIR}
# Symbols of the cnm namespaces whose name is a fake's: a class Fake*, a fake_* helper or the
# fail-at-step-k counter the fakes share.
pattern='cnm::[A-Za-z0-9_:]*(Fake[A-Z]|fake_|kFake|StepCounter)'
bins=("$dir/netctl" "$dir/netctl-cni")
[ ! -e "$dir/netctl-shim" ] || bins+=("$dir/netctl-shim")
[ ! -e "$dir/netctl-overlay" ] || bins+=("$dir/netctl-overlay")
status=0
for bin in "${bins[@]}"; do
  if [ ! -f "$bin" ]; then
    echo "check-no-fakes: $bin is missing (build netctl and netctl-cni first)" >&2
    exit 1
  fi
  syms=$(nm -C "$bin" 2>&1) || { echo "check-no-fakes: nm $bin failed: $syms" >&2; exit 1; }
  # A stripped binary would pass vacuously: our own code must be visible. The shim is plain C++
  # outside the cnm namespace, so it only has to have symbols at all.
  if [ "$(basename "$bin")" != netctl-shim ] && ! grep -q 'cnm::' <<<"$syms"; then
    echo "check-no-fakes: $bin has no cnm:: symbols (stripped?): cannot check it" >&2
    exit 1
  fi
  found=$(grep -E "$pattern" <<<"$syms" | sed -E 's/^[0-9a-f]* *[A-Za-z] //' | sort -u || true)
  if [ -n "$found" ]; then
    echo "check-no-fakes: $bin contains $(wc -l <<<"$found") test-double symbols (tests/fakes/" \
      "must link only into the test binaries), e.g.:" >&2
    head -n 5 <<<"$found" | sed 's/^/  /' >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "check-no-fakes: ok (${bins[*]##*/})"
exit "$status"
