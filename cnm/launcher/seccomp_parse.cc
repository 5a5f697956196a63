// Docker's JSON seccomp profile into a seccomp::Profile, and the profile's fingerprint.
#include <seccomp.h>

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cnm/launcher/seccomp.h"

namespace cnm::launcher::seccomp {
namespace {

using nlohmann::json;

constexpr std::pair<std::string_view, Action> kActions[] = {
    {"SCMP_ACT_ALLOW", Action::kAllow},
    {"SCMP_ACT_ERRNO", Action::kErrno},
    {"SCMP_ACT_KILL", Action::kKillThread},
    {"SCMP_ACT_KILL_THREAD", Action::kKillThread},
    {"SCMP_ACT_KILL_PROCESS", Action::kKillProcess},
    {"SCMP_ACT_TRAP", Action::kTrap},
    {"SCMP_ACT_TRACE", Action::kTrace},
    {"SCMP_ACT_LOG", Action::kLog},
};
constexpr std::pair<std::string_view, Op> kOps[] = {
    {"SCMP_CMP_NE", Op::kNe},
    {"SCMP_CMP_LT", Op::kLt},
    {"SCMP_CMP_LE", Op::kLe},
    {"SCMP_CMP_EQ", Op::kEq},
    {"SCMP_CMP_GE", Op::kGe},
    {"SCMP_CMP_GT", Op::kGt},
    {"SCMP_CMP_MASKED_EQ", Op::kMaskedEq},
};

std::unexpected<Error> bad(const std::string& where, std::string_view what) {
  return fail(Code::kInvalid, "seccomp profile: {}: {}", where, what);
}

// A field that may be absent or null (Go's decoder reads null as the zero value).
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

Result<std::string> string_at(const json& j, const std::string& where) {
  if (!j.is_string()) return bad(where, "not a string");
  return j.get<std::string>();
}

Result<uint64_t> number_at(const json& j, const std::string& where, uint64_t max) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0))
    return bad(where, "not a non-negative integer");
  auto v = j.get<uint64_t>();
  if (v > max) return bad(where, fmt::format("{} is out of range (at most {})", v, max));
  return v;
}

}  // namespace

uint32_t arch_token(std::string_view name) {
  if (!name.starts_with("SCMP_ARCH_") || name.size() == 10) return 0;
  std::string token(name.substr(10));
  for (char& c : token) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(token.c_str());
}

namespace {

Result<std::vector<std::string>> strings_at(const json* j, const std::string& where) {
  std::vector<std::string> out;
  if (!j) return out;
  if (!j->is_array()) return bad(where, "not an array");
  for (size_t i = 0; i < j->size(); ++i) {
    auto s = CNM_VALUE(string_at((*j)[i], fmt::format("{}[{}]", where, i)));
    out.push_back(std::move(s));
  }
  return out;
}

Result<Action> action_at(const json& j, const std::string& where) {
  auto s = CNM_VALUE(string_at(j, where));
  for (const auto& [name, a] : kActions)
    if (name == s) return a;
  return bad(where, fmt::format("unknown action '{}'", printable(s)));
}

Status check_arch(const std::string& name, const std::string& where) {
  if (arch_token(name) == 0)
    return bad(where, fmt::format("unknown architecture '{}'", printable(name)));
  return {};
}

Result<Filter> filter_at(const json* j, const std::string& where) {
  Filter f;
  if (!j) return f;
  if (!j->is_object()) return bad(where, "not an object");
  auto caps = CNM_VALUE(strings_at(field(*j, "caps"), where + ".caps"));
  auto arches = CNM_VALUE(strings_at(field(*j, "arches"), where + ".arches"));
  f.caps = std::move(caps);
  f.arches = std::move(arches);
  if (const json* k = field(*j, "minKernel")) {
    auto s = CNM_VALUE(string_at(*k, where + ".minKernel"));
    unsigned major = 0, minor = 0;
    char extra = 0;
    if (s.empty() || sscanf(s.c_str(), "%u.%u%c", &major, &minor, &extra) != 2)
      return bad(where + ".minKernel", fmt::format("'{}' is not <major>.<minor>", printable(s)));
    f.min_kernel = {{major, minor}};
  }
  return f;
}

Result<ArgCond> arg_at(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "not an object");
  ArgCond a;
  const json* index = field(j, "index");
  const json* op = field(j, "op");
  if (!op) return bad(where, "op is missing");
  if (index) {  // absent: argument 0, as Go decodes it
    auto i = CNM_VALUE(number_at(*index, where + ".index", 5));
    a.index = static_cast<unsigned>(i);
  }
  for (auto [key, out] : {std::pair{"value", &a.value}, std::pair{"valueTwo", &a.value_two}}) {
    if (const json* v = field(j, key)) {
      auto n = CNM_VALUE(number_at(*v, fmt::format("{}.{}", where, key), UINT64_MAX));
      *out = n;
    }
  }
  auto name = CNM_VALUE(string_at(*op, where + ".op"));
  for (const auto& [n, o] : kOps)
    if (n == name) {
      a.op = o;
      return a;
    }
  return bad(where + ".op", fmt::format("unknown op '{}'", printable(name)));
}

Result<std::optional<uint32_t>> errno_at(const json& obj, const char* key,
                                         const std::string& where) {
  const json* j = field(obj, key);
  if (!j) return std::optional<uint32_t>();
  auto n = CNM_VALUE(number_at(*j, where.empty() ? key : where + "." + key, 0xffff));
  return std::optional<uint32_t>(static_cast<uint32_t>(n));
}

Result<Rule> rule_at(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "not an object");
  Rule r;
  auto names = CNM_VALUE(strings_at(field(j, "names"), where + ".names"));
  r.names = std::move(names);
  if (const json* name = field(j, "name")) {
    if (!r.names.empty()) return bad(where, "both name and names");
    auto s = CNM_VALUE(string_at(*name, where + ".name"));
    r.names.push_back(std::move(s));
  }
  if (r.names.empty()) return bad(where, "no system call names");
  const json* action = field(j, "action");
  if (!action) return bad(where, "action is missing");
  auto a = CNM_VALUE(action_at(*action, where + ".action"));
  r.action = a;
  auto e = CNM_VALUE(errno_at(j, "errnoRet", where));
  r.errno_ret = e;
  if (const json* args = field(j, "args")) {
    if (!args->is_array()) return bad(where + ".args", "not an array");
    for (size_t i = 0; i < args->size(); ++i) {
      auto c = CNM_VALUE(arg_at((*args)[i], fmt::format("{}.args[{}]", where, i)));
      r.args.push_back(c);
    }
  }
  auto inc = CNM_VALUE(filter_at(field(j, "includes"), where + ".includes"));
  auto exc = CNM_VALUE(filter_at(field(j, "excludes"), where + ".excludes"));
  r.includes = std::move(inc);
  r.excludes = std::move(exc);
  return r;
}

Status arches_at(const json& root, Profile& p) {
  auto list = CNM_VALUE(strings_at(field(root, "architectures"), "architectures"));
  for (size_t i = 0; i < list.size(); ++i)
    CNM_TRY(check_arch(list[i], fmt::format("architectures[{}]", i)));
  p.architectures = std::move(list);
  const json* map = field(root, "archMap");
  if (!map) return {};
  if (!map->is_array()) return bad("archMap", "not an array");
  if (!p.architectures.empty()) return bad("archMap", "given with architectures (use one)");
  for (size_t i = 0; i < map->size(); ++i) {
    std::string where = fmt::format("archMap[{}]", i);
    const json& m = (*map)[i];
    if (!m.is_object() || !field(m, "architecture")) return bad(where, "no architecture");
    auto arch = CNM_VALUE(string_at(m["architecture"], where + ".architecture"));
    auto subs = CNM_VALUE(strings_at(field(m, "subArchitectures"), where + ".subArchitectures"));
    // Only the native entry is used: the others may name architectures this libseccomp predates
    // (Docker's own profile lists SCMP_ARCH_LOONGARCH64).
    if (arch_token(arch) == seccomp_arch_native()) {
      for (size_t k = 0; k < subs.size(); ++k)
        CNM_TRY(check_arch(subs[k], fmt::format("{}.subArchitectures[{}]", where, k)));
    } else if (!arch.starts_with("SCMP_ARCH_")) {
      return bad(where + ".architecture",
                 fmt::format("unknown architecture '{}'", printable(arch)));
    }
    p.arch_map.push_back({std::move(arch), std::move(subs)});
  }
  return {};
}

}  // namespace

Result<Profile> parse_profile(std::string_view text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
    return fail(Code::kInvalid, "seccomp profile: invalid JSON: {}", printable(what));
  }
  if (!root.is_object()) return fail(Code::kInvalid, "seccomp profile: not a JSON object");
  Profile p;
  const json* def = field(root, "defaultAction");
  if (!def) return fail(Code::kInvalid, "seccomp profile: defaultAction is missing");
  auto a = CNM_VALUE(action_at(*def, "defaultAction"));
  p.default_action = a;
  auto e = CNM_VALUE(errno_at(root, "defaultErrnoRet", ""));
  p.default_errno = e;
  CNM_TRY(arches_at(root, p));
  if (const json* calls = field(root, "syscalls")) {
    if (!calls->is_array()) return bad("syscalls", "not an array");
    for (size_t i = 0; i < calls->size(); ++i) {
      auto r = CNM_VALUE(rule_at((*calls)[i], fmt::format("syscalls[{}]", i)));
      p.rules.push_back(std::move(r));
    }
  }
  return p;
}

namespace {

// Length-prefixed, so that no two different profiles give the same text.
void put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void put(std::string& out, uint64_t n) {
  out += std::to_string(n);
  out += ';';
}

void put(std::string& out, const std::vector<std::string>& v) {
  put(out, v.size());
  for (const auto& s : v) put(out, s);
}

void put(std::string& out, std::optional<uint32_t> e) { put(out, e ? *e + 1ULL : 0); }

void put(std::string& out, const Filter& f) {
  put(out, f.caps);
  put(out, f.arches);
  put(out, f.min_kernel ? f.min_kernel->first + 1ULL : 0);
  put(out, f.min_kernel ? f.min_kernel->second : 0);
}

}  // namespace

std::string fingerprint(const Profile& p) {
  std::string out = "profile1;";
  out.reserve(8192);
  put(out, static_cast<uint64_t>(p.default_action));
  put(out, p.default_errno);
  put(out, p.architectures);
  put(out, p.arch_map.size());
  for (const auto& m : p.arch_map) {
    put(out, m.arch);
    put(out, m.subs);
  }
  put(out, p.rules.size());
  for (const auto& r : p.rules) {
    put(out, r.names);
    put(out, static_cast<uint64_t>(r.action));
    put(out, r.errno_ret);
    put(out, r.args.size());
    for (const auto& c : r.args) {
      for (uint64_t n : {uint64_t{c.index}, c.value, c.value_two, static_cast<uint64_t>(c.op)})
        put(out, n);
    }
    put(out, r.includes);
    put(out, r.excludes);
  }
  return out;
}

}  // namespace cnm::launcher::seccomp
