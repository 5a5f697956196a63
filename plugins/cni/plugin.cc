// CNI command dispatch: decode, check the environment, then one controller call per command.
#include "plugins/cni/plugin.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cnm/model/validate.h"
#include "cnm/runtime.h"
#include "plugins/cni/config.h"
#include "plugins/cni/result.h"

namespace cni {
namespace {

std::unexpected<Error> bad(int code, std::string msg) {
  return std::unexpected(Error{code, std::move(msg)});
}

// netctl's error categories as CNI codes. A busy store is "try again later".
Error from_cnm(const cnm::Error& e, int not_found = kInvalidConfig) {
  if (e.message.find("database is locked") != std::string::npos ||
      e.message.find("database is busy") != std::string::npos)
    return {kTryAgainLater, e.message};
  switch (e.code) {
    case cnm::Code::kInvalid:
      return {kInvalidConfig, e.message};
    case cnm::Code::kNotFound:
      return {not_found, e.message};
    case cnm::Code::kConflict:
      return {kConflict, e.message};
    default:
      return {kFailed, e.message};
  }
}

// The variables a command needs (the spec's list), each checked: kInvalidEnvironment otherwise.
Result<void> check_env(const Env& env, bool needs_netns) {
  if (!env.has_container_id) return bad(kInvalidEnvironment, "CNI_CONTAINERID is not set");
  if (!cnm::validate_container_id(env.container_id))
    return bad(kInvalidEnvironment,
               fmt::format("CNI_CONTAINERID '{}' is invalid", env.container_id));
  if (!env.has_ifname) return bad(kInvalidEnvironment, "CNI_IFNAME is not set");
  // An empty name is left to the controller: ADD rejects it as bad configuration before attaching
  // anything; DEL and CHECK match every interface of the container.
  if (!env.ifname.empty() && !cnm::validate_ifname(env.ifname))
    return bad(kInvalidEnvironment,
               fmt::format("CNI_IFNAME '{}' is not a valid interface name (1-15 characters, no "
                           "'/', ':' or spaces)",
                           env.ifname));
  if (!needs_netns) return {};
  if (!env.has_netns) return bad(kInvalidEnvironment, "CNI_NETNS is not set");
  if (env.netns[0] != '/')
    return bad(kInvalidEnvironment,
               fmt::format("CNI_NETNS '{}' is not an absolute path", env.netns));
  struct statfs fs {};
  if (statfs(env.netns.c_str(), &fs) != 0) {
    if (errno == ENOENT)
      return bad(kUnknownContainer, fmt::format("CNI_NETNS {} does not exist", env.netns));
    return bad(kInvalidEnvironment,
               fmt::format("CNI_NETNS {}: {}", env.netns, std::strerror(errno)));
  }
  if (fs.f_type != NSFS_MAGIC)
    return bad(kInvalidEnvironment,
               fmt::format("CNI_NETNS {} is not a network namespace", env.netns));
  return {};
}

struct Session {
  CniConfig conf;
  std::unique_ptr<cnm::Runtime> rt;
  cnm::Controller& c() { return rt->controller(); }
};

Result<Session> open_session(CniConfig conf, int unavailable) {
  auto cfg = cnm::load_config(cnm::kDefaultConfigPath, false);
  if (!cfg) return bad(kInvalidConfig, cfg.error().message);
  auto rt = cnm::Runtime::open(*cfg, cnm::resolve_root(conf.state_root, *cfg));
  if (!rt) {
    auto e = from_cnm(rt.error());
    if (unavailable) e.code = unavailable;
    return std::unexpected(e);
  }
  return Session{std::move(conf), std::move(*rt)};
}

Result<cnm::Network> the_network(Session& s, bool create) {
  // parse_config names the definition after the network even when it defines nothing.
  auto n = s.c().cni_network(s.conf.create, create && s.conf.define);
  if (n) return *n;
  if (n.error().code == cnm::Code::kNotFound)
    return bad(kInvalidConfig,
               fmt::format("network {} does not exist: create it with `netctl network create {}` "
                           "or define it in the configuration (subnet, bridge, ...)",
                           s.conf.network, s.conf.network));
  return std::unexpected(from_cnm(n.error()));
}

Result<std::string> cmd_add(Session& s, const Env& env) {
  auto args = CNM_VALUE(parse_cni_args(env.args));
  auto n = CNM_VALUE(the_network(s, true));
  cnm::ConnectRequest r;
  r.network = n.name;
  r.target = env.netns;
  r.ifname = env.ifname;
  r.ip = s.conf.ip.empty() ? args.ip : s.conf.ip;
  r.ip6 = s.conf.ip6.empty() ? args.ip6 : s.conf.ip6;
  r.mac = s.conf.mac.empty() ? args.mac : s.conf.mac;
  r.aliases = s.conf.aliases;
  r.publish = s.conf.publish;
  auto ep = s.c().cni_add(r, env.container_id, args.pod_name);
  if (!ep) {
    auto e = from_cnm(ep.error(), kUnknownContainer);
    // A namespace that may not be attached (netctl's own, ...) is a bad CNI_NETNS, not bad config.
    if (ep.error().subject == cnm::Subject::kNetns) e.code = kInvalidEnvironment;
    return std::unexpected(e);
  }
  return make_result(s.conf.cni_version, n, *ep).dump() + "\n";
}

Result<std::string> cmd_del(Session& s, const Env& env) {
  if (auto st = s.c().cni_del(s.conf.network, env.container_id, env.ifname); !st)
    return std::unexpected(from_cnm(st.error()));
  return std::string();
}

Result<std::string> cmd_check(Session& s, const Env& env) {
  auto ep = s.c().cni_check(s.conf.network, env.container_id, env.ifname, env.netns);
  if (!ep) return std::unexpected(from_cnm(ep.error(), kUnknownContainer));
  if (s.conf.prev_result) {
    if (auto why = compare_prev_result(*s.conf.prev_result, *ep); !why.empty())
      return bad(kFailed, "check " + env.container_id + ": " + why);
  }
  return std::string();
}

Result<std::string> cmd_gc(Session& s) {
  if (!s.conf.valid_attachments)
    return bad(kInvalidConfig, "GC: no cni.dev/valid-attachments in the configuration");
  auto gone = s.c().cni_gc(s.conf.network, *s.conf.valid_attachments);
  if (!gone) return std::unexpected(from_cnm(gone.error()));
  return std::string();
}

Result<std::string> cmd_status(Session& s) {
  if (!s.conf.define) {
    if (auto n = s.c().network(s.conf.network); !n)
      return bad(kNotAvailable, fmt::format("network {}: {}", s.conf.network, n.error().message));
  }
  if (auto st = s.c().cni_status(); !st) {
    bool fw = st.error().subject == cnm::Subject::kFirewall;
    return bad(fw ? kNotAvailableDamaged : kNotAvailable, st.error().message);
  }
  return std::string();
}

std::string version_answer(std::string_view in) {
  std::string v = kLatestVersion;
  try {
    auto j = nlohmann::json::parse(in);
    if (j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()) {
      auto asked = j["cniVersion"].get<std::string>();
      const auto& sv = supported_versions();
      if (std::find(sv.begin(), sv.end(), asked) != sv.end()) v = asked;
    }
  } catch (const std::exception&) {
  }
  return nlohmann::json{{"cniVersion", v}, {"supportedVersions", supported_versions()}}.dump() +
         "\n";
}

Result<std::string> dispatch(const Env& env, std::string_view in, std::string& version,
                             std::unique_ptr<cnm::Runtime>* keep) {
  const std::string& cmd = env.command;
  if (cmd == "VERSION") return version_answer(in);
  if (cmd != "ADD" && cmd != "DEL" && cmd != "CHECK" && cmd != "GC" && cmd != "STATUS")
    return bad(kInvalidEnvironment, fmt::format("CNI_COMMAND '{}' is not ADD, DEL, CHECK, GC, "
                                                "STATUS or VERSION",
                                                cmd));
  auto conf = CNM_VALUE(parse_config(in));
  version = conf.cni_version;
  const char* min = cmd == "CHECK" ? "0.4.0" : (cmd == "GC" || cmd == "STATUS") ? "1.1.0" : "0.1.0";
  if (compare_versions(version, min) < 0)
    return bad(kIncompatibleVersion, fmt::format("{} needs cniVersion {} or later", cmd, min));
  if (cmd == "ADD" || cmd == "DEL" || cmd == "CHECK") CNM_TRY(check_env(env, cmd != "DEL"));
  auto s = CNM_VALUE(open_session(std::move(conf), cmd == "STATUS" ? kNotAvailable : 0));
  auto r = cmd == "ADD"     ? cmd_add(s, env)
           : cmd == "DEL"   ? cmd_del(s, env)
           : cmd == "CHECK" ? cmd_check(s, env)
           : cmd == "GC"    ? cmd_gc(s)
                            : cmd_status(s);
  if (keep != nullptr) *keep = std::move(s.rt);
  return r;
}

}  // namespace

int run(const Env& env, std::string_view stdin_text, std::string& out,
        std::unique_ptr<cnm::Runtime>* keep) {
  std::string version = kLatestVersion;
  auto r = stdin_text.size() > kMaxStdin
               ? bad(kDecodeFailure, fmt::format("stdin: the configuration is over 1 MiB ({} "
                                                 "bytes), the most netctl-cni reads",
                                                 kMaxStdin))
               : dispatch(env, stdin_text, version, keep);
  if (r) {
    out = std::move(*r);
    return 0;
  }
  // Messages quote CNI_* values and names: control characters escaped (one line, nothing a
  // terminal acts on), bytes that are not UTF-8 replaced (dump() would throw on them).
  nlohmann::json e = {
      {"cniVersion", version}, {"code", r.error().code}, {"msg", cnm::printable(r.error().msg)}};
  if (!r.error().details.empty()) e["details"] = cnm::printable(r.error().details);
  out = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return 1;
}

}  // namespace cni
