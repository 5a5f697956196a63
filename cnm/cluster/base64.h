// Standard base64 (RFC 4648, with padding), through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock:
// etcd's JSON gateway carries keys and values so.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cnm::cluster {

std::string base64_encode(std::string_view bytes);
// nullopt on a character outside the alphabet, a blank, a bad length or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace cnm::cluster
