#!/usr/bin/env bash
# Static checks no compiler makes (docs/architecture.md section 2): the kernel is reached from
# cnm/kernel (and the launcher) only, driver names are known in drivers/ only, and sources are
# clang-format clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.cc' '*.h' | grep -vE '^(cnm/kernel/|cnm/launcher/|tests/|netns-fixtures/)' |
  xargs grep -lE '#include <(netlink|libiptc|linux/netfilter)|\b(setns|unshare|pivot_root|iptc_commit)\s*\(' || true)
if [ -n "$bad" ]; then echo "kernel calls outside cnm/kernel: $bad" >&2; exit 1; fi
# Only drivers/ knows driver names: elsewhere a driver is asked (cnm::Driver, cnm::Registry::ask),
# never compared by name ("bridge", "host", "null") against a `driver` field.
named=$(grep -rnE --include='*.cc' --include='*.h' \
  'driver(\(\))? *[!=]= *"|"[^"]*" *[!=]= *[A-Za-z0-9_.>()-]*driver\b' cnm cli plugins || true)
if [ -n "$named" ]; then
  echo "$named" >&2
  echo "driver names compared outside drivers/ (ask the driver instead, cnm/driver.h)" >&2; exit 1
fi
if command -v clang-format >/dev/null; then
  unformatted=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c warning || true)
  if [ "$unformatted" != 0 ]; then
    git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep warning | head >&2
    echo "clang-format: $unformatted lines differ (run clang-format -i)" >&2; exit 1
  fi
fi
echo "check-layout: ok"
