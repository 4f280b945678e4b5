// `podidctl snapshot import`: a bundle exported from a store built from a golden log, imported elsewhere,
// answers replay, explain, plan and export exactly as the bundle does, under the original sequence
// numbers; bad bundles and occupied targets are refused with a clear message and nothing written.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "cli/snapshot.hpp"
#include "core/state_codec.hpp"
#include "golden_logs.hpp"
#include "podidctl_run.hpp"
#include "store/event_log.hpp"
#include "store/rocks_event_store.hpp"

using namespace podid;
using test::run;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/podid-import-XXXXXX";
    path = mkdtemp(tmpl);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { fs::remove_all(path); }
};

// A store holding a golden log, with a checkpoint half-way, as a controller leaves one.
core::State build_store(const fs::path& dir, const std::vector<core::Event>& events) {
  auto opened = store::RocksEventStore::open(dir.string());
  REQUIRE(opened.has_value());
  store::EventLog log(**opened);
  const auto half = events.size() / 2;
  REQUIRE(log.append(std::span(events).first(half)).has_value());
  auto mid = log.rebuild();
  REQUIRE(mid.has_value());
  REQUIRE(log.checkpoint(mid->state).has_value());
  REQUIRE(log.append(std::span(events).subspan(half)).has_value());
  auto end = log.rebuild();
  REQUIRE(end.has_value());
  return end->state;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The output after the first `n` lines (the summary or the bundle's header line).
std::string drop_lines(const std::string& text, int n) {
  std::size_t at = 0;
  for (int i = 0; i < n && at != std::string::npos; ++i) {
    at = text.find('\n', at);
    if (at != std::string::npos) ++at;
  }
  return at == std::string::npos ? std::string() : text.substr(at);
}

// The "#<seq>" references of an explanation.
std::vector<std::size_t> history_seqs(const std::string& text) {
  std::vector<std::size_t> out;
  for (auto at = text.find('#'); at != std::string::npos; at = text.find('#', at + 1)) {
    std::size_t n = 0;
    std::size_t i = at + 1;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i)
      n = n * 10 + static_cast<std::size_t>(text[i] - '0');
    if (i > at + 1) out.push_back(n);
  }
  return out;
}

}  // namespace

TEST_CASE("An imported bundle replays, explains, plans and exports as the bundle does, with its seqs",
          "[unit]") {
  const auto name = GENERATE(as<std::string>{}, "vm_assign", "vmss_shared", "quarantine_throttle");
  const auto events = test::read_golden(name);
  TempDir tmp;
  const auto origin = tmp.path / "origin";
  const auto state = build_store(origin, events);
  const auto recent = events.size() / 2 + 1;  // the bundle does not start at event 1
  const auto bundle = (tmp.path / "bundle.json").string();
  const auto imported = tmp.path / "imported";
  REQUIRE(run("snapshot export --store " + origin.string() + " --out " + bundle + " --recent " +
              std::to_string(recent))
              .status == 0);
  const auto imp = run("snapshot import --bundle " + bundle + " --store " + imported.string());
  INFO(imp.out);
  REQUIRE(imp.status == 0);
  const auto first = events.size() - recent + 1;
  CHECK_THAT(imp.out, Catch::Contains("imported " + std::to_string(recent) + " events (" +
                                      std::to_string(first) + ".." + std::to_string(events.size()) + ")"));

  SECTION("the imported events are the original records under their original seqs") {
    auto orig = store::RocksEventStore::open(origin.string(), {.sync_writes = false, .read_only = true});
    auto copy = store::RocksEventStore::open(imported.string(), {.sync_writes = false, .read_only = true});
    REQUIRE(orig.has_value());
    REQUIRE(copy.has_value());
    CHECK((*copy)->first_seq() == first);
    CHECK((*copy)->last_seq() == events.size());
    auto want = (*orig)->read(first, events.size());
    auto got = (*copy)->read(0, events.size());
    REQUIRE(want.has_value());
    REQUIRE(got.has_value());
    CHECK(*got == *want);
  }
  SECTION("replay --json and --to-seq at the last event equal the bundle's state") {
    const auto from_bundle = run("replay --bundle " + bundle + " --json", false);
    const auto from_store = run("replay --store " + imported.string() + " --json", false);
    const auto at_last = run(
        "replay --store " + imported.string() + " --json --to-seq " + std::to_string(events.size()), false);
    REQUIRE(from_bundle.status == 0);
    REQUIRE(from_store.status == 0);
    CHECK(from_store.out == drop_lines(from_bundle.out, 1));
    CHECK(at_last.out == from_store.out);
    CHECK(from_store.out == boost::json::serialize(core::encode_state(state)) + "\n");
  }
  SECTION("--explain of every pod and --plan print the same lines") {
    REQUIRE_FALSE(state.pods.empty());
    for (const auto& [key, pod] : state.pods) {
      const auto args = " --plan --explain pod/" + key.to_string();
      const auto from_bundle = run("replay --bundle " + bundle + args);
      const auto from_store = run("replay --store " + imported.string() + args);
      INFO(from_store.out);
      CHECK(from_bundle.status == 0);
      CHECK(from_store.status == 0);
      CHECK(drop_lines(from_store.out, 3) == drop_lines(from_bundle.out, 1));
      // The history names events by their original seqs, all within the bundle.
      const auto seqs = history_seqs(from_store.out);
      CHECK_FALSE(seqs.empty());
      for (const auto seq : seqs) CHECK((seq >= first && seq <= events.size()));
    }
  }
  SECTION("exporting the imported store again gives the same state and events") {
    const auto again = (tmp.path / "again.json").string();
    REQUIRE(run("snapshot export --store " + imported.string() + " --out " + again).status == 0);
    const auto a = boost::json::parse(slurp(bundle));
    const auto b = boost::json::parse(slurp(again));
    CHECK(a.at("state") == b.at("state"));
    CHECK(a.at("events") == b.at("events"));
    CHECK(a.at("lastSeq") == b.at("lastSeq"));
  }
  SECTION("replaying to before the bundle says the bundle does not reach back that far") {
    const auto r = run("replay --store " + imported.string() + " --to-seq " + std::to_string(first - 1));
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Catch::Contains("does not reach back that far") && Catch::Contains("support bundle"));
    const auto no_cp = run("replay --store " + imported.string() + " --no-checkpoint");
    CHECK(no_cp.status == 1);
    CHECK_THAT(no_cp.out, Catch::Contains("starts at event " + std::to_string(first)));
  }
}

TEST_CASE("snapshot import refuses what is not a whole, consistent bundle and writes nothing", "[unit]") {
  TempDir tmp;
  const auto events = test::read_golden("vm_assign");
  build_store(tmp.path / "origin", events);
  const auto good = (tmp.path / "good.json").string();
  REQUIRE(run("snapshot export --store " + (tmp.path / "origin").string() + " --out " + good + " --recent 4")
              .status == 0);
  const auto text = slurp(good);
  auto edit = [&](const std::function<void(boost::json::object&)>& f) {
    auto v = boost::json::parse(text);
    f(v.as_object());
    return boost::json::serialize(v);
  };
  std::string bad;
  std::string expect;
  SECTION("not a bundle") {
    bad = R"({"hello": "world"})";
    expect = "is not a support bundle";
  }
  SECTION("not JSON") {
    bad = "apiVersion: v1\nkind: ConfigMap\n";
    expect = "is not a support bundle";
  }
  SECTION("truncated") {
    bad = text.substr(0, text.size() * 2 / 3);
    expect = "cut short";
  }
  SECTION("seqs not increasing") {
    bad = edit(
        [](auto& o) { o["events"].as_array()[2].as_object()["seq"] = o["events"].as_array()[1].at("seq"); });
    expect = "increase by one";
  }
  SECTION("events not ending at the state's last event") {
    bad = edit([](auto& o) { o["events"].as_array().pop_back(); });
    expect = "the state is at event #" + std::to_string(events.size());
  }
  SECTION("an event that disagrees with its kind") {
    bad = edit([](auto& o) { o["events"].as_array()[0].as_object()["kind"] = "NodeObserved"; });
    expect = "kind does not match";
  }
  SECTION("a newer bundle format") {
    bad = edit([](auto& o) { o["format"] = 2; });
    expect = "bundle format 2";
  }
  const auto file = tmp.path / "bad.json";
  std::ofstream(file) << bad;
  const auto target = tmp.path / "imported";
  const auto r = run("snapshot import --bundle " + file.string() + " --store " + target.string());
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains(expect));
  CHECK_FALSE(fs::exists(target));
  CHECK_FALSE(fs::exists(target.string() + ".importing"));
}

TEST_CASE("snapshot import never writes into an existing store", "[unit]") {
  TempDir tmp;
  const auto events = test::read_golden("vm_assign");
  const auto origin = tmp.path / "origin";
  build_store(origin, events);
  const auto bundle = (tmp.path / "b.json").string();
  REQUIRE(run("snapshot export --store " + origin.string() + " --out " + bundle).status == 0);
  const auto before = run("replay --store " + origin.string() + " --json", false);
  const auto r = run("snapshot import --bundle " + bundle + " --store " + origin.string());
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("not empty"));
  CHECK(run("replay --store " + origin.string() + " --json", false).out == before.out);
  CHECK(run("snapshot import --bundle " + bundle).status == 2);  // --store is required
}
