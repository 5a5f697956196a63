// fmt's implementation compiled into netctl-cni from Debian's libfmt-dev headers, so the plugin
// needs neither libfmt.so nor libstdc++.so: a CNI call is a process start, and loading and
// relocating those two cost ~0.8 ms of CPU per call (VERSION: 2.5 -> 1.6 ms task-clock, 238 -> 200
// page faults, perf stat -r 50 on this machine). Not built in sanitizer builds (CMakeLists.txt).
#include <fmt/format.h>
// format.h without FMT_HEADER_ONLY declares these functions; including the -inl file defines them
// here, out of line.
#include <fmt/format-inl.h>

namespace fmt {
inline namespace v9 {
namespace detail {
// The templates the other objects use without defining them (locale-aware formatting).
template std::locale locale_ref::get<std::locale>() const;
template char decimal_point_impl<char>(locale_ref);
template thousands_sep_result<char> thousands_sep_impl<char>(locale_ref);
}  // namespace detail
}  // namespace v9
}  // namespace fmt
