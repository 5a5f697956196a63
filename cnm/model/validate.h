// Checks of names a caller or a container controls, shared by the CLI, the controller and the CNI
// plugin so that each rule exists once.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

#include "cnm/model/error.h"

namespace cnm {

// A unicast MAC address written as six hex pairs: "02:42:0a:00:00:02".
inline Status validate_mac(const std::string& mac) {
  unsigned b[6];
  char extra;
  if (mac.size() != 17 || std::sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
                                      &b[3], &b[4], &b[5], &extra) != 6)
    return fail(Code::kInvalid, "invalid MAC address '{}'", mac);
  if (b[0] & 1) return fail(Code::kInvalid, "MAC address {} is multicast", mac);
  return {};
}

// An interface name the kernel takes: 1 to 15 characters, no '/', ':' or white space, not a
// directory name ("." or "..").
inline Status validate_ifname(const std::string& name) {
  if (name.empty() || name.size() > 15)
    return fail(Code::kInvalid, "interface name '{}': must be 1 to 15 characters", name);
  if (name.find_first_of("/: \t\n") != std::string::npos || name == "." || name == "..")
    return fail(Code::kInvalid, "interface name '{}': invalid character", name);
  return {};
}

// The CNI spec's container id: 1 to 1024 of letters, digits, '_', '.' and '-'.
inline Status validate_container_id(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 1024 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
  if (!ok) return fail(Code::kInvalid, "invalid container id '{}'", id);
  return {};
}

// An object name: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ without "..", else Code::kInvalid naming
// `kind`. By hand: compiling a std::regex cost a tenth of a whole `network connect`.
inline Status validate_name(std::string_view kind, std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= 64 && alnum(name[0]) &&
            std::all_of(name.begin(), name.end(),
                        [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
  if (!ok || name.find("..") != std::string_view::npos)
    return fail(Code::kInvalid,
                "invalid {} name '{}': use 1-64 of [A-Za-z0-9_.-], starting with a letter or digit",
                kind, name);
  return {};
}

// Whether `name` is one DNS label netctl's DNS server answers for: 1 to 63 of letters, digits,
// '-' and '_', neither first nor last a '-' (RFC 1123 host names; '_' as Docker's and Podman's
// container names have it). No '.': NAME.NETWORK is the qualified form.
inline bool is_dns_label(std::string_view name) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  return !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-' &&
         std::all_of(name.begin(), name.end(), ok);
}

// is_dns_label, else Code::kInvalid naming `kind` ("alias").
inline Status validate_dns_label(std::string_view kind, std::string_view name) {
  if (is_dns_label(name)) return {};
  return fail(Code::kInvalid,
              "invalid {} '{}': a DNS name is 1-63 of [A-Za-z0-9_-], not starting or ending "
              "with '-', without dots",
              kind, name);
}

}  // namespace cnm
