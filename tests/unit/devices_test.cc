// cnm/launcher/devices: Docker's default rules, their v1 lines, and the cgroup device program run
// by a small interpreter of the instructions it uses (the kernel's verdict is checked by
// tests/priv/devices_test.cc and tests/security/t_devices.sh).
#include "cnm/launcher/devices.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>

using cnm::launcher::default_device_rules;
using cnm::launcher::device_program;
using cnm::launcher::DeviceRule;

namespace {

constexpr uint32_t kDevprogChar = BPF_DEVCG_DEV_CHAR, kDevprogBlock = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kDevprogM = BPF_DEVCG_ACC_MKNOD, kDevprogR = BPF_DEVCG_ACC_READ,
                   kDevprogW = BPF_DEVCG_ACC_WRITE;

// Whether every instruction is one the interpreter knows, loads read the context in bounds, jumps
// go forward inside the program and the last instruction exits (what the verifier insists on).
bool devprog_valid(const std::vector<bpf_insn>& prog) {
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        if (i.src_reg != 1 || i.off < 0 || i.off + 4 > int(sizeof(bpf_cgroup_dev_ctx)))
          return false;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
      case BPF_ALU | BPF_MOV | BPF_X:
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
      case BPF_JMP | BPF_EXIT:
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (i.off < 0 || pc + i.off + 1 >= prog.size()) return false;
        break;
      default:
        return false;
    }
  }
  return !prog.empty() && prog.back().code == (BPF_JMP | BPF_EXIT);
}

// Runs a devprog_valid program on one request and returns R0.
int devprog_run(const std::vector<bpf_insn>& prog, uint32_t type, uint32_t access, uint32_t major,
                uint32_t minor) {
  bpf_cgroup_dev_ctx ctx{type | (access << 16), major, minor};
  uint64_t r[11] = {};
  auto u32 = [](uint64_t v) { return v & 0xffffffffu; };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    uint32_t word;
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        std::memcpy(&word, reinterpret_cast<const char*>(&ctx) + i.off, sizeof word);
        r[i.dst_reg] = word;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        r[i.dst_reg] = u32(i.imm);
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        r[i.dst_reg] = u32(r[i.src_reg]);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        r[i.dst_reg] = u32(r[i.dst_reg] & u32(i.imm));
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[i.dst_reg] = u32(r[i.dst_reg]) >> i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(r[0]);
    }
  }
  return -1;
}

// What the rules say, matched directly.
int devprog_reference(uint32_t type, uint32_t access, uint32_t major, uint32_t minor) {
  for (const DeviceRule& r : default_device_rules()) {
    bool t = type == (r.type == 'b' ? kDevprogBlock : kDevprogChar);
    bool a = (access & ~r.access) == 0;
    bool ma = r.major == cnm::launcher::kAnyNumber || static_cast<uint32_t>(r.major) == major;
    bool mi = r.minor == cnm::launcher::kAnyNumber || static_cast<uint32_t>(r.minor) == minor;
    if (t && a && ma && mi) return 1;
  }
  return 0;
}

}  // namespace

TEST_CASE("device rules: Docker's default list in devices.allow syntax") {
  std::string lines;
  for (const auto& r : default_device_rules()) lines += cnm::launcher::device_rule_line(r) + ",";
  CHECK(lines ==
        "c *:* m,b *:* m,c 1:3 rwm,c 1:5 rwm,c 1:7 rwm,c 1:8 rwm,c 1:9 rwm,c 5:0 rwm,c 5:1 rwm,"
        "c 5:2 rwm,c 136:* rwm,");
  auto writes = cnm::launcher::device_writes_v1();
  REQUIRE(writes.size() == default_device_rules().size() + 1);
  CHECK(writes[0] == std::pair<std::string, std::string>{"devices.deny", "a\n"});
  CHECK(writes[1] == std::pair<std::string, std::string>{"devices.allow", "c *:* m\n"});
}

TEST_CASE("device program: the standard nodes open, others only mknod") {
  auto p = device_program(default_device_rules());
  REQUIRE(devprog_valid(p));
  REQUIRE(devprog_valid(device_program({})));
  const uint32_t rw = kDevprogR | kDevprogW;
  CHECK(devprog_run(p, kDevprogChar, rw, 1, 3) == 1);         // /dev/null
  CHECK(devprog_run(p, kDevprogChar, kDevprogR, 1, 9) == 1);  // /dev/urandom
  CHECK(devprog_run(p, kDevprogChar, rw, 136, 42) == 1);      // a pts
  CHECK(devprog_run(p, kDevprogChar, rw, 5, 2) == 1);         // ptmx
  CHECK(devprog_run(p, kDevprogChar, kDevprogM, 1, 1) == 1);  // mknod of /dev/mem ...
  CHECK(devprog_run(p, kDevprogChar, kDevprogR, 1, 1) == 0);  // ... but no open
  CHECK(devprog_run(p, kDevprogChar, kDevprogW, 1, 1) == 0);
  CHECK(devprog_run(p, kDevprogBlock, kDevprogM, 8, 0) == 1);  // mknod of sda ...
  CHECK(devprog_run(p, kDevprogBlock, kDevprogR, 8, 0) == 0);  // ... but no open
  CHECK(devprog_run(p, kDevprogBlock, rw, 1, 3) == 0);         // block 1:3 is not /dev/null
  CHECK(devprog_run(p, kDevprogChar, kDevprogR, 5, 3) == 0);
  CHECK(devprog_run(p, kDevprogChar, kDevprogR, 137, 0) == 0);
  CHECK(devprog_run(p, kDevprogChar, kDevprogR, 10, 200) == 0);   // no tun by default
  CHECK(devprog_run(p, kDevprogChar, kDevprogR | 8, 1, 3) == 0);  // an unknown access bit
  CHECK(devprog_run(p, 0, kDevprogM, 1, 3) == 0);                 // an unknown type
  CHECK(devprog_run(device_program({}), kDevprogChar, kDevprogR, 1, 3) == 0);
}

TEST_CASE("device program: agrees with the rules on every combination tried") {
  auto p = device_program(default_device_rules());
  REQUIRE(devprog_valid(p));
  for (uint32_t type : {0u, kDevprogBlock, kDevprogChar, 3u})
    for (uint32_t access = 0; access < 16; ++access)
      for (uint32_t major : {0u, 1u, 5u, 8u, 10u, 136u, 137u, 0xffffffffu})
        for (uint32_t minor : {0u, 1u, 2u, 3u, 5u, 7u, 8u, 9u, 200u}) {
          INFO(type << " " << access << " " << major << ":" << minor);
          CHECK(devprog_run(p, type, access, major, minor) ==
                devprog_reference(type, access, major, minor));
        }
}
