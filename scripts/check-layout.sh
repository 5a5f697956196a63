#!/usr/bin/env bash
# Static checks no compiler makes: the kernel is reached from cnm/kernel (and the launcher) only
# (DESIGN section 1), and sources are clang-format clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.cc' '*.h' | grep -vE '^(cnm/kernel/|cnm/launcher/|tests/|netns-fixtures/)' |
  xargs grep -lE '#include <(netlink|libiptc|linux/netfilter)|\b(setns|unshare|pivot_root|iptc_commit)\s*\(' || true)
if [ -n "$bad" ]; then echo "kernel calls outside cnm/kernel: $bad" >&2; exit 1; fi
if command -v clang-format >/dev/null; then
  unformatted=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c warning || true)
  if [ "$unformatted" != 0 ]; then
    git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep warning | head >&2
    echo "clang-format: $unformatted lines differ (run clang-format -i)" >&2; exit 1
  fi
fi
echo "check-layout: ok"
