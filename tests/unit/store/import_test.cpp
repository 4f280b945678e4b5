// Importing a slice of a log as a new RocksDB store: original seqs kept, bad input refused with nothing
// written, an existing store never touched, and a process killed at any step of an import leaves either
// no store or the whole import.

#include "store/import.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

namespace fs = std::filesystem;

EventRecord rec(Seq seq, std::vector<std::string> subjects = {"pod/d/p"}) {
  return EventRecord{seq, static_cast<std::int64_t>(1000 + seq), "PodObserved", std::move(subjects),
                     R"({"n":)" + std::to_string(seq) + "}"};
}

// Events first..last, the state at last, a cursor naming the source.
ImportSet slice(Seq first, Seq last) {
  ImportSet set;
  for (Seq s = first; s <= last; ++s)
    set.events.push_back(rec(s, {"pod/d/p", "node/n" + std::to_string(s % 2)}));
  set.checkpoints.push_back(Checkpoint{last, R"({"state":)" + std::to_string(last) + "}"});
  set.cursors.push_back(Cursor{"snapshot/import", "test slice"});
  return set;
}

std::unique_ptr<RocksEventStore> reopen(const fs::path& p) {
  auto s = RocksEventStore::open(p.string());
  REQUIRE(s.has_value());
  return std::move(*s);
}

// Checks that the store at `p` holds exactly `set`.
void check_holds(const fs::path& p, const ImportSet& set) {
  auto store = reopen(p);
  CHECK(store->first_seq() == set.events.front().seq);
  CHECK(store->last_seq() == set.events.back().seq);
  auto all = store->read(0, 100000);
  REQUIRE(all.has_value());
  CHECK(*all == set.events);
  auto cp = store->latest_checkpoint();
  REQUIRE(cp.has_value());
  REQUIRE(cp->has_value());
  CHECK(**cp == set.checkpoints.back());
  auto cur = store->cursor("snapshot/import");
  REQUIRE(cur.has_value());
  CHECK(*cur == std::optional<std::string>("test slice"));
}

}  // namespace

TEST_CASE("An imported store keeps the original sequence numbers and reads like any store", "[unit][store]") {
  TempDir dir;
  const auto path = dir.path() / "imported";
  const auto set = slice(1230, 1240);
  REQUIRE(import_store(path.string(), set).has_value());
  check_holds(path, set);
  CHECK_FALSE(fs::exists(path.string() + ".importing"));

  auto store = reopen(path);
  auto one = store->read(1234, 1);
  REQUIRE(one.has_value());
  REQUIRE(one->size() == 1);
  CHECK(one->front() == set.events[4]);
  auto by_subject = store->read_subject("node/n1", 0, 100);
  REQUIRE(by_subject.has_value());
  CHECK(by_subject->size() == 5);  // the odd seqs of 1231..1239
  auto before = store->read(1229, 1);
  REQUIRE_FALSE(before.has_value());
  CHECK(before.error().code == core::ErrorCode::gone);
  // A writer continues the numbering.
  const NewEvent next{2000, "PodObserved", {"pod/d/p"}, "{}"};
  auto appended = store->append(std::span(&next, 1));
  REQUIRE(appended.has_value());
  CHECK(*appended == 1241);
}

TEST_CASE("A state without events imports as an empty log that keeps its numbering", "[unit][store]") {
  TempDir dir;
  ImportSet set;
  set.checkpoints.push_back(Checkpoint{500, "{}"});
  REQUIRE(import_store((dir.path() / "s").string(), set).has_value());
  auto store = reopen(dir.path() / "s");
  CHECK(store->first_seq() == 501);
  CHECK(store->last_seq() == 500);
  auto cp = store->latest_checkpoint();
  REQUIRE(cp.has_value());
  CHECK(*cp == std::optional<Checkpoint>(Checkpoint{500, "{}"}));
}

TEST_CASE("Import refuses seqs that do not increase by one or do not end at the state, writing nothing",
          "[unit][store]") {
  auto set = slice(10, 14);
  std::string expect;
  SECTION("a gap") {
    set.events[2].seq = 20;
    expect = "increase by one";
  }
  SECTION("seqs going backwards") {
    set.events[3].seq = 11;
    expect = "increase by one";
  }
  SECTION("a repeated seq") {
    set.events[1].seq = 10;
    expect = "increase by one";
  }
  SECTION("seq 0") {
    set.events.front().seq = 0;
    expect = "start at 1";
  }
  SECTION("events ending after the state") {
    set.checkpoints.back().seq = 13;
    expect = "events end at #14";
  }
  SECTION("events ending before the state") {
    set.events.pop_back();
    expect = "state is at event #14";
  }
  SECTION("no state at all") {
    set.checkpoints.clear();
    expect = "checkpoint is required";
  }
  SECTION("an event without a kind") {
    set.events[1].kind.clear();
    expect = "kind";
  }
  TempDir dir;
  const auto path = dir.path() / "imported";
  auto r = import_store(path.string(), set);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::invalid);
  CHECK_THAT(r.error().message, Catch::Contains(expect));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path.string() + ".importing"));
}

TEST_CASE("Import never touches an existing store or a non-empty directory", "[unit][store]") {
  TempDir dir;
  const auto path = dir.path() / "existing";
  {
    auto store = reopen(path);
    const NewEvent e{1, "PodObserved", {"pod/d/p"}, "{}"};
    REQUIRE(store->append(std::span(&e, 1)).has_value());
  }
  auto r = import_store(path.string(), slice(7, 9));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::conflict);
  CHECK_THAT(r.error().message, Catch::Contains("not empty"));
  auto store = reopen(path);
  CHECK(store->first_seq() == 1);
  CHECK(store->last_seq() == 1);

  std::ofstream(dir.path() / "file") << "x";
  auto onto_file = import_store((dir.path() / "file").string(), slice(7, 9));
  REQUIRE_FALSE(onto_file.has_value());
  CHECK(onto_file.error().code == core::ErrorCode::invalid);

  fs::create_directory(dir.path() / "empty");
  REQUIRE(import_store((dir.path() / "empty").string(), slice(7, 9)).has_value());
  check_holds(dir.path() / "empty", slice(7, 9));
}

// The child of the crash test below, in a fresh process: exec, not only fork, because the parent already runs
// RocksDB's threads and a forked child of a multi-threaded process may not start threads (ThreadSanitizer
// refuses it). Hidden: it runs only when named, with its path and step in the environment.
TEST_CASE("Import child: killed at a step", "[.import-child]") {
  const char* path = std::getenv("PODID_IMPORT_CHILD_PATH");
  const char* step = std::getenv("PODID_IMPORT_CHILD_STEP");
  REQUIRE(path != nullptr);
  REQUIRE(step != nullptr);
  ImportOptions o;
  o.after_step = [at = static_cast<ImportStep>(std::atoi(step))](ImportStep s) {
    if (s == at) ::kill(::getpid(), SIGKILL);
  };
  (void)import_store(path, slice(100, 2100), o);
}

TEST_CASE("A process killed at any step of an import leaves no store, and the next import succeeds",
          "[unit][store]") {
  const auto at = GENERATE(ImportStep::created, ImportStep::written, ImportStep::verified);
  TempDir dir;
  const auto path = dir.path() / "imported";
  const auto set = slice(100, 2100);  // large enough that the batch is more than a few bytes
  // Everything the child needs is built before fork: only exec and _exit run in it.
  std::vector<std::string> env_strings{"PODID_IMPORT_CHILD_PATH=" + path.string(),
                                       "PODID_IMPORT_CHILD_STEP=" + std::to_string(static_cast<int>(at))};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execle("/proc/self/exe", "podid_store_unit_tests", "[import-child]", static_cast<char*>(nullptr),
             envp.data());
    ::_exit(127);  // exec failed; the parent fails the test
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("step " << static_cast<int>(at) << ", status " << status);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK_FALSE(fs::exists(path));                    // never a half store under the target name
  CHECK(fs::exists(path.string() + ".importing"));  // the remains, which the next import removes
  REQUIRE(import_store(path.string(), set).has_value());
  check_holds(path, set);
  CHECK_FALSE(fs::exists(path.string() + ".importing"));
}

}  // namespace podid::store::test
