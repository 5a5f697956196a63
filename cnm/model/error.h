// Errors and results shared by every layer (docs/architecture.md section 9).
#pragma once

#include <fmt/format.h>

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace cnm {

// Exit codes of the binaries; also the category of every Error.
enum class Code : int {
  kOk = 0,
  kFailed = 1,    // the operation failed and was rolled back
  kInvalid = 2,   // invalid input or usage, nothing changed
  kNotFound = 3,  // an object named by the user does not exist
  kConflict = 4,  // name, subnet, address or port already in use
};

// What an error is about, for a caller that reports some causes apart (the CNI plugin: a
// namespace that cannot be attached is a bad CNI_NETNS, an unusable firewall a damaged network).
// Set where the error is made; kAny otherwise.
enum class Subject : char { kAny, kNetns, kFirewall };

struct Error {
  Code code = Code::kFailed;
  std::string message;  // "doing X: cause"
  Subject subject = Subject::kAny;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// Builds the error side of a Result: `return fail(Code::kInvalid, "bad {}", x);`
template <class... Args>
std::unexpected<Error> fail(Code code, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{code, fmt::format(f, std::forward<Args>(args)...)});
}

// Prefixes an error message with what was being done: "create bridge nc-1: File exists".
inline std::unexpected<Error> context(std::string_view doing, Error e) {
  e.message = fmt::format("{}: {}", doing, e.message);
  return std::unexpected(std::move(e));
}

inline int exit_code(Code c) { return static_cast<int>(c); }

// `text` for an error line: every control character (a byte below 0x20, or 0x7f) escaped as \n,
// \r, \t or \xNN, so a hostile name in a message can neither start a line nor drive a terminal.
inline std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace cnm

// Propagates an error from an expression returning Result<T>/Status; evaluates to nothing.
#define CNM_TRY(expr)                                        \
  do {                                                       \
    if (auto cnm_try_r_ = (expr); !cnm_try_r_)               \
      return std::unexpected(std::move(cnm_try_r_).error()); \
  } while (0)

// Evaluates a Result<T> expression to its value, or returns its error from the enclosing function:
// `auto n = CNM_VALUE(network(name));`. A GNU statement expression, which GCC and Clang compile.
#define CNM_VALUE(expr)                                                         \
  ({                                                                            \
    auto cnm_value_r_ = (expr);                                                 \
    if (!cnm_value_r_) return std::unexpected(std::move(cnm_value_r_).error()); \
    std::move(*cnm_value_r_);                                                   \
  })
