// The log of a detached container: --log-opt parsing, the shim's capped and rotated writer
// (cnm/launcher/shim/log_writer.h) and the reader `netctl logs` uses, in a temporary directory.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cnm/launcher/logs.h"
#include "cnm/launcher/shim/log_writer.h"

namespace {

namespace fs = std::filesystem;
using cnm::launcher::parse_log_opts;

// A container directory with a live `log` and a writer on it, removed at the end of the test.
struct RotDir {
  std::string dir;
  netctl_shim::LogWriter w;
  RotDir(long long max_size, int max_file) {
    char tmpl[] = "/tmp/netctl-logrot-test.XXXXXX";
    dir = mkdtemp(tmpl);
    w.dir = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    w.name = "log";
    w.max_size = max_size;
    w.max_file = max_file;
    w.start(open((dir + "/log").c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  }
  ~RotDir() {
    w.finish();
    fs::remove_all(dir);
  }
  std::string read(const std::string& name) const {
    std::ifstream f(dir + "/" + name);
    return {std::istreambuf_iterator<char>(f), {}};
  }
  bool has(const std::string& name) const { return fs::exists(dir + "/" + name); }
};

// Numbered lines "00001\n" ... as one stream.
std::string rot_lines(int from, int to) {
  std::string s;
  char line[16];
  for (int i = from; i <= to; ++i) s.append(line, snprintf(line, sizeof line, "%05d\n", i));
  return s;
}

// Everything `reader` copies, through a temporary file.
struct RotSink {
  FILE* f = tmpfile();
  ~RotSink() { fclose(f); }
  int fd() const { return fileno(f); }
  std::string text() const {
    std::string s(static_cast<size_t>(lseek(fd(), 0, SEEK_END)), '\0');
    REQUIRE(pread(fd(), s.data(), s.size(), 0) == static_cast<ssize_t>(s.size()));
    return s;
  }
};

}  // namespace

TEST_CASE("log-opt: Docker's max-size and max-file forms") {
  auto d = parse_log_opts({});
  REQUIRE(d);
  CHECK(d->max_size == 10 << 20);
  CHECK(d->max_file == 2);
  auto l = parse_log_opts({"max-size=100", "max-file=3"});
  REQUIRE(l);
  CHECK(l->max_size == 100);
  CHECK(l->max_file == 3);
  CHECK(parse_log_opts({"max-size=10k"})->max_size == 10240);
  CHECK(parse_log_opts({"max-size=5M"})->max_size == 5 << 20);
  CHECK(parse_log_opts({"max-size=1g"})->max_size == 1 << 30);
  CHECK(parse_log_opts({"max-size=3mb"})->max_size == 3 << 20);
  CHECK(parse_log_opts({"max-size=2KiB"})->max_size == 2048);
  CHECK(parse_log_opts({"max-size=1k", "max-size=2k"})->max_size == 2048);  // the last one wins
  CHECK(parse_log_opts({"max-file=1"})->max_file == 1);
  for (const char* bad :
       {"max-size=10x", "max-size=", "max-size", "max-size=-1", "max-size=0", "max-size=1.5m",
        "max-size=k", "max-size= 1k", "max-size=2048g", "max-file=0", "max-file=101", "max-file=-1",
        "max-file=2x", "max-file=", "compress=true", "labels=a", "=1", ""}) {
    auto r = parse_log_opts({bad});
    CHECK_MESSAGE(!r, bad);
    if (!r) CHECK(r.error().code == cnm::Code::kInvalid);
  }
}

TEST_CASE("log-opt: sizes shown in their shortest exact form") {
  using cnm::launcher::size_text;
  CHECK(size_text(10 << 20) == "10m");
  CHECK(size_text(100 << 10) == "100k");
  CHECK(size_text(int64_t{2} << 30) == "2g");
  CHECK(size_text(100) == "100");
  CHECK(size_text(1536) == "1536");
  CHECK(cnm::launcher::log_limits(0, 0).max_size == 10 << 20);
  CHECK(cnm::launcher::log_limits(5, 4).max_file == 4);
}

TEST_CASE("log writer: files stay under max-size, max-file of them, the newest output kept") {
  RotDir d(100, 3);
  std::string all = rot_lines(1, 200);  // 1200 bytes
  // Chunks of every size, one larger than max-size: split across rotations.
  size_t at = 0;
  for (size_t n : {1, 7, 99, 100, 101, 250, 33, 64}) {
    n = std::min(n, all.size() - at);
    d.w.write_all(all.data() + at, n);
    at += n;
  }
  d.w.write_all(all.data() + at, all.size() - at);
  CHECK(d.w.ok);
  REQUIRE(d.has("log"));
  REQUIRE(d.has("log.1"));
  REQUIRE(d.has("log.2"));
  CHECK_FALSE(d.has("log.3"));
  for (const char* f : {"log", "log.1", "log.2"}) CHECK(d.read(f).size() <= 100);
  std::string kept = d.read("log.2") + d.read("log.1") + d.read("log");
  CHECK(kept.size() <= 300);
  CHECK(kept.size() >= 100);
  CHECK(all.ends_with(kept));  // in order, nothing lost between the files kept

  RotSink out;
  cnm::launcher::LogReader(d.dir, 3).copy_new(out.fd());
  CHECK(out.text() == kept);
}

TEST_CASE("log writer: max-file=1 truncates the live file") {
  RotDir d(64, 1);
  std::string all = rot_lines(1, 50);
  for (size_t at = 0; at < all.size(); at += 10)
    d.w.write_all(all.data() + at, std::min<size_t>(10, all.size() - at));
  CHECK_FALSE(d.has("log.1"));
  std::string live = d.read("log");
  CHECK(live.size() <= 64);
  CHECK(!live.empty());
  CHECK(all.ends_with(live));
}

TEST_CASE("log reader: follows the output across rotations and truncations") {
  for (int files : {1, 2, 4}) {
    CAPTURE(files);
    RotDir d(50, files);
    RotSink out;
    cnm::launcher::LogReader reader(d.dir, files);
    std::string all = rot_lines(1, 300);
    // 12-byte chunks into 50-byte files rotate on every fourth write at most. Between two reads at
    // most max-file - 1 rotations (the file read last is still there), or with max-file=1 one
    // write (a truncation is seen as the file shrinking below what was read).
    size_t step = files == 1 ? 12 : 12 * 4 * static_cast<size_t>(files - 1);
    for (size_t at = 0; at < all.size(); at += 12) {
      if (at % step == 0) reader.copy_new(out.fd());
      d.w.write_all(all.data() + at, 12);
    }
    reader.copy_new(out.fd());
    CHECK(out.text() == all);
  }
}
