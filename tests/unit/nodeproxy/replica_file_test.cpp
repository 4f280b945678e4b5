// The replica file (nodeproxy/replica_file.hpp): its format, every reason a file is refused, the atomic
// 0600 write, and ReplicaFileWriter's debounce and final write, on a real temporary directory.
#include "nodeproxy/replica_file.hpp"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "nodeproxy/replica_file_writer.hpp"

using namespace podid;
using namespace podid::nodeproxy;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kConfirmed = 1'700'000'000'000;

NodeSnapshot sample(core::Seq seq = 42, std::string node = "node-1") {
  NodeSnapshot s;
  s.node = std::move(node);
  s.seq = seq;
  SnapshotPod pod;
  pod.key = {"web", "a"};
  pod.ip = "10.0.0.5";
  pod.phase = "Running";
  // A label named like the file's own trailer key: the checksum is found at the end, not by searching.
  pod.labels = {{"aadpodidbinding", "sel"}, {"checksum", "crc32:00000000"}};
  SnapshotIdentity id;
  id.key = {"web", "demo"};
  id.client_id = "c-1";
  id.resource_id =
      "/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/"
      "userAssignedIdentities/demo";
  id.phase = core::Phase::assigned;
  pod.identities.push_back(id);
  s.pods.push_back(pod);
  return s;
}

ReplicaFileExpectation expect_at(std::int64_t now_ms, std::string node = "node-1") {
  return {std::move(node), now_ms, std::chrono::minutes(10)};
}

ReplicaFileProblem problem_of(const ReplicaFileLoad& load) {
  const auto* refusal = std::get_if<ReplicaFileRefusal>(&load);
  if (refusal == nullptr) {
    FAIL("the file was accepted");
    return ReplicaFileProblem::absent;
  }
  return refusal->problem;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "podid-replica-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("The CRC-32 is zlib's", "[unit]") {
  CHECK(crc32("123456789") == 0xCBF43926u);
  CHECK(crc32("") == 0u);
}

TEST_CASE("A replica file decodes to the snapshot and confirmation time it was written with", "[unit]") {
  const ReplicaFileContents contents{sample(), kConfirmed};
  const auto text = encode_replica_file(contents);
  CHECK(text.ends_with("\"}\n"));
  const auto load = decode_replica_file(text, expect_at(kConfirmed + 1000));
  REQUIRE(std::holds_alternative<ReplicaFileContents>(load));
  CHECK(std::get<ReplicaFileContents>(load) == contents);
  // Exactly max-age old is still served; the clock a little behind the writer's too.
  CHECK(std::holds_alternative<ReplicaFileContents>(
      decode_replica_file(text, expect_at(kConfirmed + std::chrono::milliseconds(10min).count()))));
  CHECK(
      std::holds_alternative<ReplicaFileContents>(decode_replica_file(text, expect_at(kConfirmed - 30'000))));
}

TEST_CASE("A replica file is refused when it is stale, another node's, or of an unknown version", "[unit]") {
  const auto text = encode_replica_file({sample(), kConfirmed});
  CHECK(problem_of(decode_replica_file(text, expect_at(kConfirmed + 10 * 60'000 + 1))) ==
        ReplicaFileProblem::stale);
  CHECK(problem_of(decode_replica_file(text, expect_at(kConfirmed - 61'000))) == ReplicaFileProblem::stale);
  CHECK(problem_of(decode_replica_file(text, expect_at(kConfirmed, "node-2"))) ==
        ReplicaFileProblem::other_node);
  const auto other = encode_replica_file({sample(42, "node-2"), kConfirmed});
  CHECK(problem_of(decode_replica_file(other, expect_at(kConfirmed))) == ReplicaFileProblem::other_node);
  CHECK(problem_of(decode_replica_file(encode_replica_file({sample(), kConfirmed}, 2),
                                       expect_at(kConfirmed))) == ReplicaFileProblem::unknown_version);
}

TEST_CASE("A truncated replica file is refused as corrupt, whatever its length", "[unit]") {
  const auto text = encode_replica_file({sample(), kConfirmed});
  for (std::size_t size = 0; size < text.size(); ++size) {
    INFO("truncated to " << size << " of " << text.size() << " bytes");
    CHECK(problem_of(decode_replica_file(std::string_view(text).substr(0, size), expect_at(kConfirmed))) ==
          ReplicaFileProblem::corrupt);
  }
}

TEST_CASE("A replica file with any one byte altered is refused", "[unit]") {
  const auto text = encode_replica_file({sample(), kConfirmed});
  const auto version_digit = text.find("\"version\":1") + std::string_view("\"version\":").size();
  for (std::size_t at = 0; at < text.size(); ++at) {
    auto flipped = text;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
    INFO("byte " << at << ": '" << text[at] << "'");
    const auto problem = problem_of(decode_replica_file(flipped, expect_at(kConfirmed)));
    // The version is read before the checksum, so that a newer format says so; any other byte: corrupt.
    if (at == version_digit)
      CHECK(problem == ReplicaFileProblem::unknown_version);
    else
      CHECK(problem == ReplicaFileProblem::corrupt);
  }
}

TEST_CASE("Garbage is refused as corrupt", "[unit]") {
  const std::string body =
      GENERATE(std::string(""), std::string("{}"), std::string("hello\n"),
               std::string("{\"format\":\"podid-nodeproxy-replica\"}\n"), std::string(200, '\0'));
  CHECK(problem_of(decode_replica_file(body, expect_at(kConfirmed))) == ReplicaFileProblem::corrupt);
}

TEST_CASE("The replica file is written atomically with mode 0600 and read back", "[unit]") {
  TempDir dir;
  const auto path = dir.path() / "sub" / "replica.json";
  CHECK(problem_of(load_replica_file(path, expect_at(kConfirmed))) == ReplicaFileProblem::absent);
  const ReplicaFileContents contents{sample(), kConfirmed};
  REQUIRE(write_replica_file(path, contents));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const auto load = load_replica_file(path, expect_at(kConfirmed));
  REQUIRE(std::holds_alternative<ReplicaFileContents>(load));
  CHECK(std::get<ReplicaFileContents>(load) == contents);

  // Replaced as a whole: the second write is what a reader sees.
  REQUIRE(write_replica_file(path, {sample(43), kConfirmed + 5}));
  CHECK(std::get<ReplicaFileContents>(load_replica_file(path, expect_at(kConfirmed))).snapshot.seq == 43);

  // Something that cannot be read as a file (a directory in its place) is unreadable, not fatal.
  const auto blocked = dir.path() / "blocked.json";
  std::filesystem::create_directories(blocked);
  CHECK(problem_of(load_replica_file(blocked, expect_at(kConfirmed))) == ReplicaFileProblem::unreadable);
}

TEST_CASE("The writer lands the newest confirmed state, debounced, and writes it at stop", "[unit]") {
  TempDir dir;
  const auto path = dir.path() / "replica.json";
  boost::asio::io_context io;
  core::FakeClock clock;
  core::MemorySink sink;
  // An interval no test run reaches: after the first write, only stop() writes again.
  ReplicaFileWriter writer({path, std::chrono::hours(1)}, io.get_executor(), core::Logger(sink, clock, "t"));
  writer.start();
  for (core::Seq seq = 1; seq <= 5; ++seq)
    writer.confirmed(std::make_shared<const NodeSnapshot>(sample(seq)),
                     kConfirmed + static_cast<std::int64_t>(seq));
  writer.stop();
  const auto c = writer.counters();
  CHECK(c.writes >= 1);
  CHECK(c.writes <= 2);  // the first state at once (if the thread saw it), then the newest at stop
  CHECK(c.failures == 0);
  CHECK(c.written_seq == 5);
  const auto load = load_replica_file(path, expect_at(kConfirmed));
  REQUIRE(std::holds_alternative<ReplicaFileContents>(load));
  CHECK(std::get<ReplicaFileContents>(load).snapshot.seq == 5);
  CHECK(std::get<ReplicaFileContents>(load).confirmed_at_ms == kConfirmed + 5);
}

TEST_CASE("The writer writes nothing before a confirmation, and reports a failed write", "[unit]") {
  TempDir dir;
  boost::asio::io_context io;
  core::FakeClock clock;
  core::MemorySink sink;
  {
    ReplicaFileWriter idle({dir.path() / "idle.json", 1ms}, io.get_executor(),
                           core::Logger(sink, clock, "t"));
    idle.start();
    idle.stop();
    CHECK(idle.counters().writes == 0);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "idle.json"));
  }
  // A regular file where the directory should be: the write fails, the node proxy goes on.
  std::ofstream(dir.path() / "plain") << "x";
  ReplicaFileWriter writer({dir.path() / "plain" / "replica.json", 1ms}, io.get_executor(),
                           core::Logger(sink, clock, "t"));
  writer.start();
  writer.confirmed(std::make_shared<const NodeSnapshot>(sample()), kConfirmed);
  writer.stop();
  CHECK(writer.counters().failures == 1);
  CHECK(writer.counters().writes == 0);
  io.run();  // the log line is delivered on the executor
  REQUIRE(sink.lines().size() == 1);
  CHECK_THAT(sink.lines()[0], Catch::Contains("Replica file not written."));
  CHECK(read_all(dir.path() / "plain") == "x");
}
