// Docker's default device rules as v1 devices-controller writes and as a cgroup device program
// (devices.h). The program is loaded with the raw bpf(2) system call: libbpf links statically but
// adds ~550 kB to netctl and probes the kernel with two extra program loads on every call.
#include "cnm/launcher/devices.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "cnm/kernel/fd.h"

namespace cnm::launcher {
namespace {

constexpr DeviceRule kDefaultRules[] = {
    {'c', kAnyNumber, kAnyNumber, kDevMknod},  // mknod of any node; opening it is another rule
    {'b', kAnyNumber, kAnyNumber, kDevMknod},
    {'c', 1, 3, kDevAll},             // null
    {'c', 1, 5, kDevAll},             // zero
    {'c', 1, 7, kDevAll},             // full
    {'c', 1, 8, kDevAll},             // random
    {'c', 1, 9, kDevAll},             // urandom
    {'c', 5, 0, kDevAll},             // tty
    {'c', 5, 1, kDevAll},             // console
    {'c', 5, 2, kDevAll},             // ptmx
    {'c', 136, kAnyNumber, kDevAll},  // pts
};

// Registers: R1 holds the context on entry, R0 the verdict on exit; R2-R6 are ours.
enum Reg : uint8_t { kR0 = 0, kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kTmp = 6 };

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
// dst = *(u32*)(src + off), zero-extended.
constexpr bpf_insn load_u32(Reg dst, Reg src, size_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, static_cast<int16_t>(off), 0);
}
// 32-bit operations clear the upper half of dst.
constexpr bpf_insn mov32_imm(Reg dst, int32_t imm) {
  return insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov32_reg(Reg dst, Reg src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn and32_imm(Reg dst, uint32_t imm) {
  return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
}
constexpr bpf_insn rsh32_imm(Reg dst, int32_t imm) {
  return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
// if dst != imm: skip `off` instructions.
constexpr bpf_insn jne_imm(Reg dst, int32_t imm, int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
constexpr bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// One rule: every mismatch jumps past the rule's "return 1".
void append_rule(std::vector<bpf_insn>& p, const DeviceRule& r) {
  std::vector<size_t> skips;  // jumps to the next rule, patched once its position is known
  auto skip_unless = [&](Reg reg, int32_t value) {
    skips.push_back(p.size());
    p.push_back(jne_imm(reg, value, 0));
  };
  skip_unless(kType, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  // Requested bits outside the rule's (unknown bits too) make it not match.
  p.push_back(mov32_reg(kTmp, kAccess));
  p.push_back(and32_imm(kTmp, ~r.access));
  skip_unless(kTmp, 0);
  if (r.major != kAnyNumber) skip_unless(kMajor, r.major);
  if (r.minor != kAnyNumber) skip_unless(kMinor, r.minor);
  p.push_back(mov32_imm(kR0, 1));
  p.push_back(exit_insn());
  for (size_t at : skips) p[at].off = static_cast<int16_t>(p.size() - at - 1);
}

int bpf(int cmd, bpf_attr& attr) {
  return static_cast<int>(syscall(SYS_bpf, cmd, &attr, sizeof attr));
}

}  // namespace

std::span<const DeviceRule> default_device_rules() { return kDefaultRules; }

std::string device_rule_line(const DeviceRule& r) {
  auto number = [](int n) { return n == kAnyNumber ? std::string("*") : std::to_string(n); };
  std::string access;
  if (r.access & kDevRead) access += 'r';
  if (r.access & kDevWrite) access += 'w';
  if (r.access & kDevMknod) access += 'm';
  return std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " + access;
}

std::vector<std::pair<std::string, std::string>> device_writes_v1() {
  std::vector<std::pair<std::string, std::string>> out{{"devices.deny", "a\n"}};
  for (const auto& r : default_device_rules())
    out.emplace_back("devices.allow", device_rule_line(r) + "\n");
  return out;
}

std::vector<bpf_insn> device_program(std::span<const DeviceRule> rules) {
  // access_type: the device type in the low 16 bits, the access bits in the high 16.
  std::vector<bpf_insn> p = {
      load_u32(kType, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
      mov32_reg(kAccess, kType),
      and32_imm(kType, 0xffff),
      rsh32_imm(kAccess, 16),
      load_u32(kMajor, kCtx, offsetof(bpf_cgroup_dev_ctx, major)),
      load_u32(kMinor, kCtx, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (const auto& r : rules) append_rule(p, r);
  p.push_back(mov32_imm(kR0, 0));
  p.push_back(exit_insn());
  return p;
}

Status attach_device_program(const std::string& cgroup_dir) {
  kernel::Fd dir(open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid())
    return fail(Code::kFailed, "open cgroup {}: {}", cgroup_dir, std::strerror(errno));
  auto insns = device_program(default_device_rules());
  static constexpr char kLicense[] = "Apache-2.0";  // the program calls no GPL-only helper
  bpf_attr load;
  std::memset(&load, 0, sizeof load);  // the kernel rejects non-zero bytes it does not know
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uintptr_t>(insns.data());
  load.insn_cnt = static_cast<uint32_t>(insns.size());
  load.license = reinterpret_cast<uintptr_t>(kLicense);
  std::strcpy(load.prog_name, "netctl_devices");  // bpftool shows it; 15 characters at most
  kernel::Fd prog(bpf(BPF_PROG_LOAD, load));
  if (!prog.valid())
    return fail(Code::kFailed, "load the device program for {}: {}", cgroup_dir,
                std::strerror(errno));
  bpf_attr attach;
  std::memset(&attach, 0, sizeof attach);
  attach.target_fd = static_cast<uint32_t>(dir.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  if (bpf(BPF_PROG_ATTACH, attach) != 0)
    return fail(Code::kFailed, "attach the device program to {}: {}", cgroup_dir,
                std::strerror(errno));
  return {};
}

}  // namespace cnm::launcher
