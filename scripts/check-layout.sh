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
  echo "driver names compared outside drivers/ (ask the driver instead, cnm/core/driver.h)" >&2; exit 1
fi
# The dependency direction of docs/architecture.md section 2: a folder includes only itself and
# the layers below it. Layers, bottom first; folders on one line are peers and never include each
# other. Drivers are reached through cnm/core/driver.h: only the assembly (cnm/runtime.cc) and
# tests include drivers/.
layers=(
  "cnm/model"
  "cnm/store cnm/kernel ipam cnm/cluster"
  "cnm/launcher cnm/dns"
  "cnm/core"
  "drivers"
  "cnm/network"
  "cnm/endpoint"
  "cnm/containers"
  "cnm/recovery cnm/cni"
  "cnm"
  "cli plugins"
)
folder_of() {  # the layer folder of a path: cnm/endpoint/x.cc -> cnm/endpoint, drivers/b/x -> drivers
  case "$1" in
    cnm/*/*) echo "${1%%/*}/$(cut -d/ -f2 <<<"$1")" ;;
    cnm/*) echo cnm ;;
    *) echo "${1%%/*}" ;;
  esac
}
declare -A rank
for i in "${!layers[@]}"; do for f in ${layers[$i]}; do rank[$f]=$i; done; done
wrong=""
while IFS=: read -r file inc; do
  from=$(folder_of "$file"); to=$(folder_of "$inc")
  [ "$from" = "$to" ] && continue
  [ -n "${rank[$from]:-}" ] && [ -n "${rank[$to]:-}" ] || continue
  if [ "$to" = drivers ] && [ "$file" != cnm/runtime.cc ]; then
    wrong+="$file includes $inc (drivers are reached through cnm/core/driver.h)"$'\n'
  elif [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
    wrong+="$file includes $inc ($to is not below $from)"$'\n'
  fi
done < <(git ls-files '*.cc' '*.h' | grep -E '^(cnm|drivers|ipam|cli|plugins)/' |
  xargs grep -HoE '^#include "[^"]+"' | sed -E 's/#include "([^"]+)"/\1/')
if [ -n "$wrong" ]; then printf '%s' "$wrong" >&2; echo "layering: includes against the direction" >&2; exit 1; fi
if command -v clang-format >/dev/null; then
  unformatted=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c warning || true)
  if [ "$unformatted" != 0 ]; then
    git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep warning | head >&2
    echo "clang-format: $unformatted lines differ (run clang-format -i)" >&2; exit 1
  fi
fi
echo "check-layout: ok"
