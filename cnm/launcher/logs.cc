// Log limits and the log reader (logs.h).
#include "cnm/launcher/logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

namespace cnm::launcher {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

Result<int64_t> parse_log_size(const std::string& text) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string unit = lower(std::string_view(p, text.data() + text.size()));
  int shift = -1;
  if (unit.empty() || unit == "b") shift = 0;
  if (unit == "k" || unit == "kb" || unit == "kib") shift = 10;
  if (unit == "m" || unit == "mb" || unit == "mib") shift = 20;
  if (unit == "g" || unit == "gb" || unit == "gib") shift = 30;
  if (ec != std::errc{} || p == text.data() || !std::isdigit(static_cast<unsigned char>(text[0])) ||
      shift < 0 || n < 1 || n > (kLogMaxSizeLimit >> shift))
    return fail(Code::kInvalid,
                "invalid --log-opt max-size '{}': use a positive number with k, m or g", text);
  return n << shift;
}

Result<int> parse_log_files(const std::string& text) {
  int n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || p != text.data() + text.size() || text[0] == '-' || n < 1 ||
      n > kLogMaxFileLimit)
    return fail(Code::kInvalid, "invalid --log-opt max-file '{}': use a number from 1 to {}", text,
                kLogMaxFileLimit);
  return n;
}

// Copies `fd` from `at` to its end into `out`; returns the new offset.
off_t copy_out(int fd, off_t at, int out) {
  char buf[65536];
  for (ssize_t n; (n = pread(fd, buf, sizeof buf, at)) > 0; at += n)
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // the output is gone: this chunk counts as copied
      done += w;
    }
  return at;
}

ino_t ino_of(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
}

}  // namespace

Result<LogLimits> parse_log_opts(const std::vector<std::string>& opts) {
  LogLimits l;
  for (const auto& o : opts) {
    auto eq = o.find('=');
    std::string key = o.substr(0, eq), value = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (eq == std::string::npos || value.empty())
      return fail(Code::kInvalid, "invalid --log-opt '{}': use max-size=SIZE or max-file=N", o);
    if (key == "max-size") {
      auto n = CNM_VALUE(parse_log_size(value));
      l.max_size = n;
    } else if (key == "max-file") {
      auto n = CNM_VALUE(parse_log_files(value));
      l.max_file = n;
    } else {
      return fail(Code::kInvalid, "unknown --log-opt '{}': use max-size or max-file", key);
    }
  }
  return l;
}

LogLimits log_limits(int64_t max_size, int max_file) {
  LogLimits l;
  if (max_size > 0) l.max_size = max_size;
  if (max_file > 0) l.max_file = max_file;
  return l;
}

std::string size_text(int64_t bytes) {
  for (auto [shift, unit] : {std::pair{30, "g"}, {20, "m"}, {10, "k"}})
    if (bytes > 0 && bytes % (int64_t{1} << shift) == 0)
      return std::to_string(bytes >> shift) + unit;
  return std::to_string(bytes);
}

LogReader::LogReader(std::string dir, int max_file)
    : dir_(std::move(dir)), max_file_(std::clamp(max_file, 1, kLogMaxFileLimit)) {}

std::string LogReader::path(int i) const {
  return i == 0 ? dir_ + "/log" : dir_ + "/log." + std::to_string(i);
}

LogReader::Snapshot LogReader::snapshot() const {
  Snapshot s;
  // Opened oldest first, then checked against the names again: a rotation in between shows as
  // a name that no longer holds the file opened under it, and the snapshot is taken again.
  for (int tries = 0; tries < 10; ++tries) {
    s.fds.clear();
    s.inos.clear();
    for (int i = max_file_ - 1; i >= 0; --i) {
      s.fds.emplace_back(open(path(i).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      s.inos.push_back(ino_of(s.fds.back().get()));
    }
    bool same = true;
    for (int i = max_file_ - 1, k = 0; i >= 0; --i, ++k) {
      struct stat st;
      same &= (stat(path(i).c_str(), &st) == 0 ? st.st_ino : 0) == s.inos[k];
    }
    if (same) break;
  }
  return s;
}

void LogReader::copy_new(int out) {
  if (live_.valid()) {
    struct stat st;
    if (fstat(live_.get(), &st) == 0 && st.st_size < at_) at_ = 0;  // truncated (max-file=1)
    at_ = copy_out(live_.get(), at_, out);
    if (stat(path(0).c_str(), &st) == 0 && st.st_ino == live_ino_) return;
    at_ = copy_out(live_.get(), at_, out);  // written before the rename
  }
  Snapshot s = snapshot();
  size_t live = s.fds.size() - 1, first = 0;
  // The files rotated after the one read last; all of them on the first call.
  for (size_t k = 0; k < live; ++k)
    if (live_ino_ != 0 && s.inos[k] == live_ino_) first = k + 1;
  // Between the shim's rename and its new file there is no live file: the newest rotated one
  // read here then stands for it, so the next call does not copy it again.
  size_t newest = live;
  off_t newest_at = 0;
  for (size_t k = first; k < live; ++k)
    if (s.fds[k].valid()) {
      newest_at = copy_out(s.fds[k].get(), 0, out);
      newest = k;
    }
  if (s.fds[live].valid()) {
    newest = live;
    newest_at = copy_out(s.fds[live].get(), 0, out);
  }
  if (newest == live && !s.fds[live].valid()) return;  // nothing new
  live_ = std::move(s.fds[newest]);
  live_ino_ = s.inos[newest];
  at_ = newest_at;
}

}  // namespace cnm::launcher
