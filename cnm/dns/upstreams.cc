#include "cnm/dns/upstreams.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace cnm::dns {
namespace {

constexpr size_t kMaxServers = 8;
constexpr size_t kMaxFileBytes = 64 * 1024;

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::string text(kMaxFileBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string stamp_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "-;";
  return fmt::format("{}:{}:{}.{}:{};", st.st_dev, st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                     st.st_size);
}

const std::string kResolvConf = "/etc/resolv.conf";
const std::string kSystemdConf = "/run/systemd/resolve/resolv.conf";

}  // namespace

std::vector<IpAddr> parse_resolv_conf(std::string_view text) {
  std::vector<IpAddr> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line) && out.size() < kMaxServers) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    if (auto a = IpAddr::parse(value)) out.push_back(*a);
  }
  return out;
}

std::vector<IpAddr> read_upstreams(const std::string& resolv_conf,
                                   const std::string& systemd_conf) {
  auto servers = parse_resolv_conf(read_small_file(resolv_conf));
  static const IpAddr stub = *IpAddr::parse("127.0.0.53");
  if (servers.size() == 1 && servers[0] == stub) {
    auto real = parse_resolv_conf(read_small_file(systemd_conf));
    if (!real.empty()) return real;
  }
  return servers;
}

const std::vector<IpAddr>& Upstreams::get() {
  std::string stamp = stamp_of(kResolvConf) + stamp_of(kSystemdConf);
  if (stamp != stamp_ || servers_.empty()) {
    stamp_ = stamp;
    servers_ = read_upstreams(kResolvConf, kSystemdConf);
  }
  return servers_;
}

}  // namespace cnm::dns
