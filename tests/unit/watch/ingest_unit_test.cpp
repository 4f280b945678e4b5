// The Ingest against the in-memory KubeClient (serving pods-shaped objects) and an in-memory event store:
// events and cursors land together, batches are bounded, a restart resumes from the stored cursor, a
// relist after 410 reconciles with what the log holds (the ingest's VersionIndex, which also sees other
// writers' events), and undecodable objects are quarantined.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "store/memory_event_store.hpp"
#include "unit/watch/memory_kube_client.hpp"
#include "watch/ingest.hpp"

using podid::core::ErrorCode;
using podid::testing::MemoryKubeClient;
namespace asio = boost::asio;
namespace core = podid::core;
namespace store = podid::store;
namespace watch = podid::watch;

namespace {

struct Harness {
  Harness() : fake(io.get_executor()), log(events) {
    options.kinds = {watch::IngestKind::pods};
    options.reflector.page_size = 2;
    options.reflector.backoff_initial = std::chrono::milliseconds(1);
    options.reflector.backoff_max = std::chrono::milliseconds(4);
  }
  void start() {
    result.reset();
    ingest.emplace(fake, log, clock, core::Logger(sink, clock, "ingest"), options);
    asio::co_spawn(io, ingest->run(),
                   asio::bind_cancellation_slot(signal.slot(), [this](std::exception_ptr e, core::Status s) {
                     if (e) std::rethrow_exception(e);
                     result = std::move(s);
                   }));
  }
  void stop() {
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until([this] { return result.has_value(); }));
    CHECK(result->error().code == ErrorCode::cancelled);
  }
  // Runs queued work until pred() holds; false if the context ran dry or 5 s passed first.
  bool run_until(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  std::size_t count(std::string_view kind) const {
    std::size_t n = 0;
    for (const auto& r : events.read(0, 10000).value()) n += r.kind == kind ? 1U : 0U;
    return n;
  }
  std::string cursor() const { return events.cursor("watch/pods").value().value_or(""); }
  bool has_pod(const std::string& name) const {
    return ingest->index().version(watch::IngestKind::pods, "ns/" + name).has_value();
  }
  // The State the log projects, and the index it implies (what the ingest's own index must equal).
  core::State rebuilt() const { return log.rebuild().value().state; }

  asio::io_context io;
  MemoryKubeClient fake;
  store::MemoryEventStore events;
  store::EventLog log;
  core::FakeClock clock{1'000};
  core::MemorySink sink;
  watch::IngestOptions options;
  asio::cancellation_signal signal;
  std::optional<watch::Ingest> ingest;
  std::optional<core::Status> result;
};

}  // namespace

TEST_CASE(
    "Listed objects become Observed events stamped by the clock, with the list's resourceVersion as "
    "the cursor in the same append",
    "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.fake.put("b", "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.ingest->synced(); }));
  CHECK(h.count("PodObserved") == 2);
  CHECK(h.cursor() == h.fake.current_rv());
  CHECK(h.ingest->counters().batches == 1);
  CHECK(h.rebuilt().last_at_ms == 1'000);
  CHECK(h.rebuilt().pods.contains(core::PodKey{"ns", "a"}));
  CHECK(h.has_pod("a"));

  h.clock.advance(10);
  h.fake.put("a", "2");
  h.fake.erase("b");
  REQUIRE(h.run_until([&] { return !h.has_pod("b"); }));
  CHECK(h.count("PodObserved") == 3);
  CHECK(h.count("PodDeleted") == 1);
  CHECK(h.cursor() == h.fake.current_rv());
  CHECK(h.rebuilt().last_at_ms == 1'010);
  CHECK_FALSE(h.rebuilt().pods.contains(core::PodKey{"ns", "b"}));
  CHECK(h.ingest->index() == watch::VersionIndex::from_state(h.rebuilt()));
  CHECK(h.ingest->index().last_seq() == h.events.last_seq());
  h.stop();
}

TEST_CASE("Appends are bounded by max_batch", "[unit]") {
  Harness h;
  for (int i = 0; i < 5; ++i) h.fake.put("p" + std::to_string(i), "v");
  h.options.max_batch = 2;
  h.start();
  REQUIRE(h.run_until([&] { return h.ingest->synced(); }));
  CHECK(h.count("PodObserved") == 5);
  CHECK(h.ingest->counters().batches == 3);  // 2 + 2 + (1 with the cursor)
  h.stop();
}

TEST_CASE(
    "A restart resumes from the stored cursor without listing; after 410 the relist deletes what the "
    "log holds but the list lacks and skips unchanged objects",
    "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.fake.put("b", "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.ingest->synced(); }));
  h.stop();
  const auto before = h.events.last_seq();

  SECTION("resume") {
    h.fake.put("c", "1");
    h.start();
    REQUIRE(h.run_until([&] { return h.has_pod("c"); }));
    CHECK(h.ingest->reflector_counters(watch::IngestKind::pods)->lists == 0);
    CHECK(h.events.last_seq() == before + 1);
  }
  SECTION("relist after 410") {
    h.fake.erase("a");
    h.fake.compact();
    h.start();
    REQUIRE(h.run_until([&] { return !h.has_pod("a") && h.ingest->counters().syncs == 1; }));
    CHECK(h.ingest->reflector_counters(watch::IngestKind::pods)->relists_after_gone == 1);
    CHECK(h.ingest->counters().relist_deletes == 1);
    CHECK(h.ingest->counters().unchanged_skipped == 1);
    CHECK(h.events.last_seq() == before + 1);
    CHECK(h.count("PodDeleted") == 1);
    CHECK(h.has_pod("b"));
    CHECK(h.ingest->index() == watch::VersionIndex::from_state(h.rebuilt()));
  }
  h.stop();
}

TEST_CASE(
    "Another writer's events are seen: the index catches up with them, and a relist deletes an object "
    "only the other writer logged",
    "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.ingest->synced(); }));
  // A pod event the ingest did not append (as the controller appends its AzureAssignedIdentity writes).
  core::Pod ghost;
  ghost.key = {"ns", "ghost"};
  ghost.resource_version = "1";
  REQUIRE(h.log.append(std::vector<core::Event>{core::PodObserved{1, ghost}}).has_value());
  h.fake.put("b", "1");  // the ingest's next append catches up with the log first
  REQUIRE(h.run_until([&] { return h.has_pod("b"); }));
  CHECK(h.ingest->index().version(watch::IngestKind::pods, "ns/ghost") == "1");
  CHECK(h.ingest->index() == watch::VersionIndex::from_state(h.rebuilt()));
  h.stop();

  h.fake.put("c", "1");
  h.fake.compact();  // the stored cursor is gone: the restart relists, and the list lacks the ghost
  h.start();
  REQUIRE(h.run_until([&] { return !h.has_pod("ghost") && h.ingest->counters().syncs == 1; }));
  CHECK(h.ingest->counters().relist_deletes == 1);
  CHECK(h.ingest->reflector_counters(watch::IngestKind::pods)->relists_after_gone == 1);
  CHECK(h.ingest->counters().unchanged_skipped == 2);  // a and b; c is new
  CHECK(h.count("PodDeleted") == 1);
  CHECK_FALSE(h.rebuilt().pods.contains(core::PodKey{"ns", "ghost"}));
  h.stop();
}

TEST_CASE("Objects that do not decode are quarantined, logged and counted", "[unit]") {
  Harness h;
  h.options.kinds = {watch::IngestKind::identities};  // the fake's objects have no spec
  h.fake.put("x", "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.ingest->synced(); }));
  CHECK(h.ingest->counters().decode_failures == 1);
  REQUIRE(h.ingest->quarantined().size() == 1);
  CHECK(h.ingest->quarantined().front().key == "ns/x");
  CHECK(h.events.last_seq() == 0);
  CHECK(h.events.cursor("watch/azureidentities").value().has_value());
  CHECK(h.sink.lines().size() >= 1);
  CHECK(watch::prometheus_text(h.ingest->counters()).find("podid_ingest_decode_failures_total 1\n") !=
        std::string::npos);
  h.stop();
}

TEST_CASE("Events map to the kinds' Observed and Deleted events and State keys", "[unit]") {
  const boost::json::object node{{"metadata", {{"name", "n1"}, {"resourceVersion", "5"}}},
                                 {"spec", {{"providerID", "kind://x"}}}};
  CHECK(watch::state_key(watch::IngestKind::nodes, node) == "n1");
  auto observed = watch::observed_event(watch::IngestKind::nodes, node, 42);
  REQUIRE(observed.has_value());
  CHECK(std::get<core::NodeObserved>(*observed).node.resource_version == "5");
  CHECK(core::at_ms_of(*observed) == 42);
  auto deleted = watch::deleted_event(watch::IngestKind::bindings, "ns/b", "7", 1);
  REQUIRE(deleted.has_value());
  CHECK(std::get<core::BindingDeleted>(*deleted).key == core::BindingKey{"ns", "b"});
  CHECK_FALSE(watch::deleted_event(watch::IngestKind::pods, "no-slash", "", 1).has_value());
  CHECK(watch::cursor_name(watch::IngestKind::assigned_identities) == "watch/azureassignedidentities");
}
