#!/usr/bin/env bash
# Per folder of the C++ tree: file count, largest file, longest function (a line-based estimate:
# a definition starts at column 0 and ends at the next "}" at column 0).
# Usage: scripts/layout-stats.sh [REPO_DIR] (default: this checkout)
cd "${1:-$(dirname "$0")/..}"
for d in $(git ls-files '*.cc' '*.h' | grep -E '^(cnm|drivers|ipam|cli|plugins)/' | xargs -n1 dirname | sort -u); do
  files=$(git ls-files "$d/*.cc" "$d/*.h" | grep -E "^$d/[^/]+$")
  [ -z "$files" ] && continue
  n=$(echo "$files" | wc -l)
  big=$(wc -l $files | grep -v total | sort -rn | head -1 | awk '{print $2" ("$1")"}')
  fn=$(for f in $files; do awk -v F="$f" '
    /^[A-Za-z].*[)]( const)?( override)?( noexcept)? *\{ *$/ && !/^(namespace|struct|class|enum|union)/ && !/=|constexpr|CREATE/ {start=NR; name=$0; next}
    /^[A-Za-z].*[(,] *$/ && !/;|=|constexpr|CREATE/ {pending=NR; pname=$0; next}
    pending && /^ .*[)]( const)?( override)? *\{ *$/ {start=pending; name=pname; pending=0; next}
    /^}/ && start {len=NR-start+1; sub(/\(.*/,"",name); n2=split(name,a," "); print len" "F":"a[n2]; start=0}
  ' "$f"; done | sort -rn | head -1)
  printf '%-20s %3s files  largest %-40s longest fn %s\n' "$d" "$n" "$big" "$fn"
done
