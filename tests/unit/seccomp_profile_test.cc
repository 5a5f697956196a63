// cnm/launcher/seccomp: Docker's JSON profile format, the default profile's shape, and the cache of
// compiled programs.
#include <doctest/doctest.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cnm/launcher/seccomp.h"
#include "cnm/launcher/spawn.h"

namespace sc = cnm::launcher::seccomp;
using cnm::Code;
using cnm::launcher::compile;
using cnm::launcher::kDefaultCaps;
using cnm::launcher::seccomp_for;

namespace {

constexpr const char* kSmallProfile = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 13,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64",
               "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
              {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}],
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "ignored", "args": null},
    {"name": "getcwd", "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 1, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
     "includes": {"arches": ["s390x"]}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_LOG", "includes": {"minKernel": "4.8"},
     "excludes": {}},
    {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"},
    {"names": ["tkill"], "action": "SCMP_ACT_KILL"},
    {"names": ["tgkill"], "action": "SCMP_ACT_TRAP"},
    {"names": ["uname"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}
  ]
})";

sc::Profile sc_parse_ok(std::string_view text) {
  auto p = sc::parse_profile(text);
  if (!p) FAIL(p.error().message);
  return *p;
}

// The error of a profile that must be refused.
std::string sc_parse_bad(std::string_view text) {
  auto p = sc::parse_profile(text);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == Code::kInvalid);
  CHECK(p.error().message.find('\n') == std::string::npos);
  return p.error().message;
}

std::string sc_with_rule(std::string_view rule) {
  return fmt::format(R"({{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{}]}})", rule);
}

}  // namespace

TEST_CASE("seccomp: parse a Docker-format profile") {
  sc::Profile p = sc_parse_ok(kSmallProfile);
  CHECK(p.default_action == sc::Action::kErrno);
  CHECK(p.default_errno == 13u);
  REQUIRE(p.arch_map.size() == 2);
  CHECK(p.arch_map[0].arch == "SCMP_ARCH_X86_64");
  CHECK(p.arch_map[0].subs == std::vector<std::string>{"SCMP_ARCH_X86", "SCMP_ARCH_X32"});
  CHECK(p.arch_map[1].subs.empty());
  REQUIRE(p.rules.size() == 9);
  CHECK(p.rules[0].names == std::vector<std::string>{"read", "write"});
  CHECK(p.rules[0].action == sc::Action::kAllow);
  CHECK(p.rules[1].names == std::vector<std::string>{"getcwd"});  // the old "name"
  CHECK(p.rules[1].errno_ret == 42u);
  REQUIRE(p.rules[2].args.size() == 1);
  CHECK(p.rules[2].args[0].value == 8);
  CHECK(p.rules[2].args[0].op == sc::Op::kEq);
  const auto& clone = p.rules[3];
  CHECK(clone.args[0].index == 1);
  CHECK(clone.args[0].value == 0x7E020000);
  CHECK(clone.args[0].op == sc::Op::kMaskedEq);
  CHECK(clone.includes.arches == std::vector<std::string>{"s390x"});
  CHECK(clone.excludes.caps == std::vector<std::string>{"CAP_SYS_ADMIN"});
  CHECK(p.rules[4].includes.min_kernel == std::pair{4u, 8u});
  CHECK(p.rules[4].action == sc::Action::kLog);
  CHECK(p.rules[5].action == sc::Action::kKillProcess);
  CHECK(p.rules[6].action == sc::Action::kKillThread);
  CHECK(p.rules[7].action == sc::Action::kTrap);
  CHECK(p.rules[8].action == sc::Action::kTrace);
  // It compiles, and the fingerprint tells profiles apart.
  CHECK(compile(p, kDefaultCaps));
  sc::Profile q = p;
  q.rules[1].errno_ret = 43;
  CHECK(sc::fingerprint(p) != sc::fingerprint(q));
  CHECK(sc::fingerprint(p) == sc::fingerprint(sc_parse_ok(kSmallProfile)));
}

TEST_CASE("seccomp: malformed profiles are refused with the field named") {
  CHECK(sc_parse_bad("{").starts_with("seccomp profile: invalid JSON: "));
  CHECK(sc_parse_bad("").starts_with("seccomp profile: invalid JSON: "));
  CHECK(sc_parse_bad("[]") == "seccomp profile: not a JSON object");
  CHECK(sc_parse_bad("{}") == "seccomp profile: defaultAction is missing");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_NOPE"})") ==
        "seccomp profile: defaultAction: unknown action 'SCMP_ACT_NOPE'");
  // Names from the profile are shown with control characters escaped.
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_\nX\u001b[2J"})") ==
        "seccomp profile: defaultAction: unknown action 'SCMP_ACT_\\nX\\x1b[2J'");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_NOTIFY"})") ==
        "seccomp profile: defaultAction: unknown action 'SCMP_ACT_NOTIFY'");
  CHECK(sc_parse_bad(R"({"defaultAction": 1})") == "seccomp profile: defaultAction: not a string");
  CHECK(sc_parse_bad(sc_with_rule(R"({"names": ["read"], "action": "ALLOW"})")) ==
        "seccomp profile: syscalls[0].action: unknown action 'ALLOW'");
  CHECK(sc_parse_bad(sc_with_rule(R"({"names": ["read"]})")) ==
        "seccomp profile: syscalls[0]: action is missing");
  CHECK(sc_parse_bad(sc_with_rule(R"({"action": "SCMP_ACT_ALLOW"})")) ==
        "seccomp profile: syscalls[0]: no system call names");
  CHECK(sc_parse_bad(
            sc_with_rule(R"({"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"})")) ==
        "seccomp profile: syscalls[0]: both name and names");
  CHECK(sc_parse_bad(sc_with_rule(R"({"names": "read", "action": "SCMP_ACT_ALLOW"})")) ==
        "seccomp profile: syscalls[0].names: not an array");
  CHECK(sc_parse_bad(sc_with_rule(
            R"({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SORTA"}]})")) ==
        "seccomp profile: syscalls[0].args[0].op: unknown op 'SCMP_CMP_SORTA'");
  CHECK(sc_parse_bad(sc_with_rule(
            R"({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})")) ==
        "seccomp profile: syscalls[0].args[0].index: 6 is out of range (at most 5)");
  CHECK(sc_parse_bad(sc_with_rule(
            R"({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]})")) ==
        "seccomp profile: syscalls[0].args[0].value: not a non-negative integer");
  CHECK(sc_parse_bad(sc_with_rule(
            R"({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000})")) ==
        "seccomp profile: syscalls[0].errnoRet: 70000 is out of range (at most 65535)");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "1"})") ==
        "seccomp profile: defaultErrnoRet: not a non-negative integer");
  CHECK(sc_parse_bad(sc_with_rule(R"({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                      "includes": {"minKernel": "four"}})")) ==
        "seccomp profile: syscalls[0].includes.minKernel: 'four' is not <major>.<minor>");
  CHECK(
      sc_parse_bad(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})") ==
      "seccomp profile: architectures[0]: unknown architecture 'SCMP_ARCH_Z80'");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})") ==
        "seccomp profile: architectures[0]: unknown architecture 'x86_64'");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
                         "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})") ==
        "seccomp profile: archMap: given with architectures (use one)");
  CHECK(sc_parse_bad(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})") ==
        "seccomp profile: syscalls: not an array");
}

TEST_CASE("seccomp: the default profile's shape") {
  sc::Profile p = sc::default_profile();
  CHECK(p.default_action == sc::Action::kErrno);
  CHECK(p.default_errno == EPERM);
  auto rules_for = [&](const std::string& name) {
    std::vector<const sc::Rule*> out;
    for (const auto& r : p.rules)
      if (std::ranges::find(r.names, name) != r.names.end()) out.push_back(&r);
    return out;
  };
  CHECK(rules_for("read").size() == 1);
  CHECK(rules_for("personality").size() == 5);
  for (const char* denied : {"kexec_load", "keyctl", "add_key", "request_key", "open_by_handle_at",
                             "init_module", "mount", "unshare", "setns", "bpf", "perf_event_open"})
    for (const auto* r : rules_for(denied)) CHECK_FALSE(r->includes.caps.empty());
  auto clone3 = rules_for("clone3");
  REQUIRE(clone3.size() == 2);
  CHECK(clone3[1]->errno_ret == ENOSYS);
  CHECK(clone3[1]->excludes.caps == std::vector<std::string>{"CAP_SYS_ADMIN"});
  // The profile compiles for every capability set, within the kernel's limit.
  for (uint64_t caps : std::initializer_list<uint64_t>{0, kDefaultCaps, (2ULL << 40) - 1}) {
    auto prog = compile(p, caps);
    REQUIRE(prog);
    CHECK_FALSE(prog->unconfined);
    CHECK(prog->insns.size() > 100);
    CHECK(prog->insns.size() <= BPF_MAXINSNS);
  }
}

TEST_CASE("seccomp: the default profile's cache key follows its content") {
  // The cache names the default profile by default_profile_key() (its tables and a revision)
  // without building it. A change to the tables changes the key by itself; a change to how
  // default_profile() turns them into rules must bump kRevision in seccomp_default.cc, or cached
  // programs would go stale. Either way, record the new pair here.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : sc::fingerprint(sc::default_profile())) h = (h ^ c) * 0x100000001b3ULL;
  CHECK(sc::default_profile_key() == "default r1 fd7edda11a1787d8");
  CHECK(h == 0x9d2d96fd79152f7dULL);
}

TEST_CASE("seccomp: seccomp_for reads its cache back and rebuilds a bad file") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("netctl-seccomp-cache-{}", getpid());
  fs::remove_all(dir);
  auto plain = seccomp_for("", kDefaultCaps);
  REQUIRE(plain);
  auto first = seccomp_for("", kDefaultCaps, dir.string());
  REQUIRE(first);
  CHECK(first->insns.size() == plain->insns.size());
  std::vector<fs::path> files(fs::directory_iterator(dir), fs::directory_iterator{});
  REQUIRE(files.size() == 1);
  CHECK(files[0].extension() == ".bpf");
  struct stat st {};
  REQUIRE(stat(files[0].c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK((fs::status(dir).permissions() & fs::perms::all) == fs::perms::owner_all);
  // A hit returns the same instructions.
  auto second = seccomp_for("", kDefaultCaps, dir.string());
  REQUIRE(second);
  CHECK(memcmp(second->insns.data(), plain->insns.data(),
               plain->insns.size() * sizeof(sock_filter)) == 0);
  // Damaged (shorter) or foreign contents: ignored, recompiled, rewritten.
  auto size = fs::file_size(files[0]);
  fs::resize_file(files[0], size - 8);
  auto third = seccomp_for("", kDefaultCaps, dir.string());
  REQUIRE(third);
  CHECK(third->insns.size() == plain->insns.size());
  CHECK(fs::file_size(files[0]) == size);
  std::ofstream(files[0], std::ios::trunc) << "not a program";
  auto fourth = seccomp_for("", kDefaultCaps, dir.string());
  REQUIRE(fourth);
  CHECK(memcmp(fourth->insns.data(), plain->insns.data(),
               plain->insns.size() * sizeof(sock_filter)) == 0);
  CHECK(fs::file_size(files[0]) == size);
  // Other capabilities or another profile: another entry.
  REQUIRE(seccomp_for("", kDefaultCaps | (1ULL << 21), dir.string()));
  REQUIRE(seccomp_for(sc_with_rule(R"({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"})"),
                      kDefaultCaps, dir.string()));
  files.assign(fs::directory_iterator(dir), fs::directory_iterator{});
  CHECK(files.size() == 3);
  // "unconfined" and bad profiles never touch it.
  auto un = seccomp_for("unconfined", kDefaultCaps, dir.string());
  REQUIRE(un);
  CHECK(un->unconfined);
  CHECK(un->insns.empty());
  auto bad = seccomp_for("{", kDefaultCaps, dir.string());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Code::kInvalid);
  files.assign(fs::directory_iterator(dir), fs::directory_iterator{});
  CHECK(files.size() == 3);
  fs::remove_all(dir);
}
