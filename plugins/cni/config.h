// netctl-cni's input: the network configuration on stdin and CNI_ARGS, parsed without touching the
// system (pure functions, so a fuzzer can drive them). CNI spec 1.1.0; 1.0.0, 0.4.0, 0.3.x
// accepted.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cnm/controller.h"

namespace cni {

// The spec's error codes (and netctl-cni's own, 100 and up).
enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  kNotAvailableDamaged = 51,
  kFailed = 101,    // the operation failed and was rolled back (netctl exit 1)
  kConflict = 104,  // address, port or attachment in use (netctl exit 4)
};

struct Error {
  int code = kFailed;
  std::string msg;
  std::string details = {};
};

template <class T>
using Result = std::expected<T, Error>;

inline constexpr const char* kLatestVersion = "1.1.0";
// Every cniVersion this plugin reads and writes, oldest first (the VERSION answer).
const std::vector<std::string>& supported_versions();
// -1, 0, 1 as a is older, equal, newer than b (semantic versions "x.y.z"; bad text sorts first).
int compare_versions(std::string_view a, std::string_view b);

struct CniConfig {
  std::string cni_version;
  std::string name;                  // the network configuration's name
  std::string network;               // the netctl network: "network", else `name`
  bool define = false;               // the configuration defines the network (created on first ADD)
  cnm::NetworkCreateRequest create;  // the definition, when `define`
  std::string state_root;            // "stateRoot", "" when absent
  // runtimeConfig capabilities
  std::vector<std::string> publish;  // portMappings as netctl -p specs
  std::string ip, ip6, mac;          // ips and mac (also args.cni.ips / args.cni.mac)
  std::vector<std::string> aliases;
  std::optional<nlohmann::json> prev_result;
  // GC: (container id, ifname) of cni.dev/valid-attachments (or cni.dev/attachments)
  std::optional<std::vector<std::pair<std::string, std::string>>> valid_attachments;
};

// Parses the configuration a runtime writes on stdin. Malformed JSON is kDecodeFailure; an
// unsupported cniVersion kIncompatibleVersion; bad values of known keys kInvalidConfig; keys this
// plugin cannot honour (an "ipam" section, isGateway false) kUnsupportedField. Unknown keys pass.
Result<CniConfig> parse_config(std::string_view stdin_json);

struct CniArgs {
  std::string ip, ip6, mac;
  std::string pod_name;  // K8S_POD_NAME: the attachment's DNS name (Podman: the container's name)
};
// Parses CNI_ARGS ("K=V;K=V"): IP= (comma-separated, one per family), MAC=, K8S_POD_NAME=,
// IgnoreUnknown=1|true. Another key without IgnoreUnknown is kInvalidEnvironment.
Result<CniArgs> parse_cni_args(std::string_view args);

}  // namespace cni
