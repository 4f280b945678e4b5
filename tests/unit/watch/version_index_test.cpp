// VersionIndex, the ingest's slim projection: it agrees with the State projected from the same events (random
// logs from the property tests' generator), ignores what it does not index, lists one namespace at a time,
// and catches up from the log, across retention through the newest checkpoint.
#include "watch/version_index.hpp"

#include <catch2/catch.hpp>

#include "core/projection.hpp"
#include "store/event_log.hpp"
#include "store/memory_event_store.hpp"
#include "unit/property/event_generator.hpp"
#include "unit/watch/temp_dir.hpp"

namespace core = podid::core;
namespace store = podid::store;
namespace watch = podid::watch;
using watch::IngestKind;
using watch::VersionIndex;

namespace {

core::Pod pod(const std::string& ns, const std::string& name, const std::string& rv) {
  core::Pod p;
  p.key = {ns, name};
  p.resource_version = rv;
  return p;
}

core::AssignedIdentity aai(const std::string& ns, const std::string& name, const std::string& rv) {
  core::AssignedIdentity a;
  a.key = {ns, name};
  a.resource_version = rv;
  return a;
}

}  // namespace

TEST_CASE("The index holds, after every event, the versions the State projected from the same log holds",
          "[unit]") {
  const auto seed = GENERATE(1U, 2U, 3U, 42U);
  const auto log = podid::property::EventGenerator(seed).generate(1500);
  core::State state;
  VersionIndex index;
  std::size_t objects_seen = 0;
  for (std::size_t i = 0; i < log.events.size(); ++i) {
    const core::Seq seq = i + 1;
    REQUIRE(core::apply(state, log.events[i], seq));
    REQUIRE(index.apply(log.events[i], seq));
    const auto expected = VersionIndex::from_state(state);
    INFO("seed " << seed << ", event " << seq << " (" << core::kind_of(log.events[i]) << ")");
    REQUIRE(index == expected);
    for (const auto kind : watch::all_ingest_kinds()) objects_seen += index.size(kind);
  }
  CHECK(index.last_seq() == log.events.size());
  CHECK(objects_seen > 0);  // the logs do hold objects (a vacuous comparison would pass too)
  for (const auto& [key, pod] : state.pods)
    CHECK(index.version(IngestKind::pods, key.to_string()) == pod.resource_version);
}

TEST_CASE(
    "An event the index does not know only moves last_seq, and a delete of an unknown key changes nothing",
    "[unit]") {
  VersionIndex index;
  REQUIRE(index.apply(core::PodObserved{1, pod("ns", "a", "7")}, 1));
  const auto before = index;

  CHECK(index.apply(core::SettingsObserved{2, {}}, 2));
  CHECK(index.apply(core::ArmOperationStarted{3, "op", {}, {"/x"}, {}, {}}, 3));
  CHECK(index.apply(core::MigrationApplied{4, "m0001", "AzureIdentity", "ns/a", true}, 4));
  CHECK(index.apply(core::PodDeleted{5, {"ns", "unknown"}, "9"}, 5));
  CHECK(index.apply(core::NodeDeleted{6, "no-such-node", "9"}, 6));
  CHECK(index.apply(core::AssignedIdentityWritten{7, core::WriteAction::deleted, aai("ns", "gone", "")}, 7));
  CHECK(index.last_seq() == 7);
  for (const auto kind : watch::all_ingest_kinds())
    CHECK(index.objects(kind, "") == before.objects(kind, ""));
  CHECK(index.version(IngestKind::pods, "ns/a") == "7");
  CHECK_FALSE(index.version(IngestKind::pods, "ns/unknown"));
}

TEST_CASE("An event at or below last_seq is ignored", "[unit]") {
  VersionIndex index;
  REQUIRE(index.apply(core::PodObserved{1, pod("ns", "a", "1")}, 5));
  CHECK_FALSE(index.apply(core::PodObserved{2, pod("ns", "a", "2")}, 5));
  CHECK_FALSE(index.apply(core::PodDeleted{3, {"ns", "a"}, "3"}, 4));
  CHECK(index.version(IngestKind::pods, "ns/a") == "1");
  CHECK(index.last_seq() == 5);
}

TEST_CASE("The controller's AzureAssignedIdentity writes set and erase versions like observations do",
          "[unit]") {
  VersionIndex index;
  index.apply(core::AssignedIdentityWritten{1, core::WriteAction::created, aai("default", "x", "10")}, 1);
  CHECK(index.version(IngestKind::assigned_identities, "default/x") == "10");
  index.apply(core::AssignedIdentityObserved{2, aai("default", "x", "11")}, 2);
  index.apply(core::AssignedIdentityWritten{3, core::WriteAction::updated, aai("default", "x", "12")}, 3);
  CHECK(index.version(IngestKind::assigned_identities, "default/x") == "12");
  index.apply(core::AssignedIdentityWritten{4, core::WriteAction::deleted, aai("default", "x", "12")}, 4);
  CHECK_FALSE(index.version(IngestKind::assigned_identities, "default/x"));
  CHECK(index.size(IngestKind::assigned_identities) == 0);
}

TEST_CASE("objects() lists one namespace's objects, never a namespace that only shares its prefix",
          "[unit]") {
  VersionIndex index;
  core::Seq seq = 0;
  for (const auto* ns : {"a", "a-b", "ab", "b"}) index.apply(core::PodObserved{0, pod(ns, "p", ns)}, ++seq);
  core::Node node;
  node.name = "a";
  node.resource_version = "3";
  index.apply(core::NodeObserved{0, node}, ++seq);

  CHECK(index.objects(IngestKind::pods, "a") == VersionIndex::Versions{{"a/p", "a"}});
  CHECK(index.objects(IngestKind::pods, "ab") == VersionIndex::Versions{{"ab/p", "ab"}});
  CHECK(index.objects(IngestKind::pods, "c").empty());
  CHECK(index.objects(IngestKind::pods, "").size() == 4);
  CHECK(index.objects(IngestKind::nodes, "b") == VersionIndex::Versions{{"a", "3"}});  // nodes: no namespace
}

TEST_CASE(
    "catch_up applies the log after last_seq up to a bound, and after retention starts from the checkpoint",
    "[unit]") {
  store::MemoryEventStore events;
  store::EventLog log(events);
  const auto generated = podid::property::EventGenerator(7).generate(300);
  REQUIRE(log.append(generated.events).has_value());
  const auto full = log.rebuild();
  REQUIRE(full.has_value());
  const auto expected = VersionIndex::from_state(full->state);

  VersionIndex index;
  auto applied = watch::catch_up(log, index, 100);
  REQUIRE(applied.has_value());
  CHECK(*applied == 100);
  CHECK(index.last_seq() == 100);
  applied = watch::catch_up(log, index);
  REQUIRE(applied.has_value());
  CHECK(*applied == 200);
  CHECK(index == expected);

  auto rebuilt = watch::rebuild_version_index(log);
  REQUIRE(rebuilt.has_value());
  CHECK(*rebuilt == expected);

  SECTION("retention dropped events the index lacks: it is rebuilt from the newest checkpoint") {
    store::RebuildOptions upto_200;
    upto_200.upto = 200;
    const auto at_200 = log.rebuild(upto_200);
    REQUIRE(at_200.has_value());
    REQUIRE(log.checkpoint(at_200->state).has_value());
    podid::testing::TempDir exports;
    store::RetentionPolicy keep_50;
    keep_50.max_events = 50;
    const auto report = events.apply_retention(keep_50, 0, exports.path());
    REQUIRE(report.has_value());
    REQUIRE(events.first_seq() == 201);

    VersionIndex behind;
    REQUIRE(behind.apply(generated.events.front(), 1));
    applied = watch::catch_up(log, behind);
    REQUIRE(applied.has_value());
    CHECK(behind == expected);
  }
}
