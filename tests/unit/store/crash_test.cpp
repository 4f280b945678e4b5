// Crash safety of RocksEventStore: a writer process (crash_writer.cpp) appends batches in a loop and
// acknowledges each; we SIGKILL it at random points, including in the middle of a large batch, reopen
// the store and check that nothing acknowledged was lost, nothing was applied twice or in part, and the
// cursor and checkpoint match the log.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

struct Ack {
  Seq first;
  std::uint64_t size;
};

struct Round {
  std::map<std::uint64_t, Ack> acked;  // batch id -> where it landed
  bool killed_in_large_batch{false};
};

// Runs the writer until `kill_after_acks` acknowledgements, or (when 0) until it announces a large batch,
// then SIGKILLs it and drains what it wrote before dying.
Round run_writer(const std::string& path, std::uint64_t seed, int kill_after_acks) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::string seed_arg = std::to_string(seed);
    ::execl(PODID_STORE_CRASH_WRITER, PODID_STORE_CRASH_WRITER, path.c_str(), seed_arg.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  REQUIRE(in != nullptr);
  Round round;
  int acks = 0;
  bool killed = false;
  char* line = nullptr;
  std::size_t cap = 0;
  while (::getline(&line, &cap, in) > 0) {
    std::istringstream words(line);
    char tag = 0;
    std::uint64_t batch = 0;
    words >> tag >> batch;
    if (tag == 'A') {
      Ack a{};
      words >> a.first >> a.size;
      round.acked[batch] = a;
      ++acks;
    }
    if (killed) continue;
    std::uint64_t size = 0;
    const bool large_begins = tag == 'B' && (words >> size) && size >= 2000;
    if ((kill_after_acks > 0 && acks >= kill_after_acks) || (kill_after_acks == 0 && large_begins)) {
      REQUIRE(::kill(pid, SIGKILL) == 0);
      killed = true;
      round.killed_in_large_batch = large_begins;
    }
  }
  std::free(line);
  std::fclose(in);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("the writer must die by our SIGKILL, not exit on its own (status " << status << ")");
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  return round;
}

struct Batch {
  std::uint64_t id;
  Seq first;
  std::uint64_t size;
};

// Checks the reopened log: gap-free, whole batches with consecutive ids from 1, each intact.
std::vector<Batch> verify_log(const EventStore& s) {
  std::vector<Batch> batches;
  Seq expected = 1;
  std::uint64_t index = 0;
  for (Seq from = 1; from <= s.last_seq();) {
    auto chunk = s.read(from, 4096).value();
    REQUIRE_FALSE(chunk.empty());
    for (const auto& e : chunk) {
      REQUIRE(e.seq == expected++);
      const auto p = boost::json::parse(e.payload).as_object();
      const auto id = static_cast<std::uint64_t>(p.at("batch").as_int64());
      const auto size = static_cast<std::uint64_t>(p.at("size").as_int64());
      const auto i = static_cast<std::uint64_t>(p.at("index").as_int64());
      if (i == 0) {
        if (!batches.empty()) REQUIRE(index == batches.back().size);  // the previous batch is whole
        REQUIRE(id == batches.size() + 1);                            // each batch exactly once, in order
        batches.push_back({id, e.seq, size});
        index = 0;
      }
      REQUIRE_FALSE(batches.empty());
      REQUIRE(id == batches.back().id);
      REQUIRE(i == index++);
      REQUIRE(e.subjects == std::vector<std::string>{"batch/" + std::to_string(id), "writer"});
      REQUIRE(e.at_ms == static_cast<std::int64_t>(id));
    }
    from = chunk.back().seq + 1;
  }
  if (!batches.empty()) REQUIRE(index == batches.back().size);
  return batches;
}

}  // namespace

TEST_CASE("Killing a writer mid-append loses nothing acknowledged and leaves no partial batch",
          "[unit][store][crash]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  std::mt19937_64 rng(Catch::rngSeed());
  std::map<std::uint64_t, Ack> acked;
  int large_kills = 0;
  constexpr int kRounds = 10;
  for (int r = 0; r < kRounds; ++r) {
    INFO("round " << r);
    const int kill_after = r % 3 == 0 ? 0 : std::uniform_int_distribution<int>(1, 40)(rng);
    auto round = run_writer(path, rng(), kill_after);
    large_kills += round.killed_in_large_batch ? 1 : 0;
    acked.insert(round.acked.begin(), round.acked.end());

    auto store = RocksEventStore::open(path).value();
    const auto batches = verify_log(*store);
    for (const auto& [id, ack] : acked) {
      INFO("acknowledged batch " << id);
      REQUIRE(id <= batches.size());
      CHECK(batches[id - 1].first == ack.first);
      CHECK(batches[id - 1].size == ack.size);
    }
    const std::optional<std::string> last_id =
        batches.empty() ? std::nullopt : std::optional<std::string>(std::to_string(batches.back().id));
    CHECK(store->cursor("writer").value() == last_id);
    if (!batches.empty()) {
      const auto& last = batches.back();
      CHECK(store->read_subject("batch/" + std::to_string(last.id), 0, 10'000).value().size() == last.size);
      CHECK(store->last_seq() == last.first + last.size - 1);
    }
    if (auto cp = store->latest_checkpoint().value()) {  // taken after batch `state`, ending at cp->seq
      const auto id = std::stoull(cp->state);
      REQUIRE(id <= batches.size());
      CHECK(batches[id - 1].first + batches[id - 1].size - 1 == cp->seq);
    }
  }
  CHECK(acked.size() > 0);
  CHECK(large_kills >= kRounds / 3);
}

}  // namespace podid::store::test
