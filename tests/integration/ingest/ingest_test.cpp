// The watch -> events bridge against the real kube-apiserver: objects become events with cursors, the live
// version index equals the one a rebuild from the log implies, restarts resume without relisting, a relist
// after 410 reconciles deletions made while the ingest was stopped, and an undecodable object does not stop
// it.
#include <sys/wait.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>

#include "core/state_codec.hpp"
#include "integration/ingest/ingest_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::open_store;
using podid::testing::projected;
using podid::testing::run_async;
using podid::testing::run_until;
using podid::testing::RunningIngest;
namespace asio = boost::asio;
namespace core = podid::core;
namespace json = boost::json;
namespace kinds = podid::watch::kinds;
namespace store = podid::store;
namespace t = podid::testing;
namespace watch = podid::watch;

namespace {

// Runs podidctl; (exit code, standard output).
std::pair<int, std::string> podidctl(const std::string& args) {
  const std::string cmd = std::string(PODIDCTL_PATH) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (const auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// How many events of `kind` the log holds about `subject`.
std::size_t count_events(const store::EventStore& s, const std::string& kind, const std::string& subject) {
  auto events = s.read_subject(subject, 0, 100000);
  REQUIRE(events.has_value());
  return static_cast<std::size_t>(
      std::count_if(events->begin(), events->end(), [&](const auto& e) { return e.kind == kind; }));
}

// The subjects of the events after `seq`.
std::set<std::string> subjects_after(const store::EventStore& s, store::Seq seq) {
  auto events = s.read(seq + 1, 100000);
  REQUIRE(events.has_value());
  std::set<std::string> out;
  for (const auto& e : *events) out.insert(e.subjects.begin(), e.subjects.end());
  return out;
}

std::string cursor_of(const store::EventStore& s, watch::IngestKind kind) {
  auto c = s.cursor(watch::cursor_name(kind));
  REQUIRE(c.has_value());
  return c->value_or("");
}

json::object create(asio::io_context& io, watch::KubeClient& client, const watch::ResourceKind& kind,
                    const std::string& ns, json::object object) {
  auto created = run_async(io, client.create(kind, ns, std::move(object)));
  if (!created) FAIL(created.error().describe());
  return *created;
}

void remove(asio::io_context& io, watch::KubeClient& client, const watch::ResourceKind& kind,
            const std::string& ns, const std::string& name) {
  watch::DeleteOptions options;
  options.grace_period_seconds = 0;
  auto removed = run_async(io, client.remove(kind, ns, name, options));
  if (!removed) FAIL(removed.error().describe());
}

core::PodKey pod_key(const std::string& ns, const std::string& name) {
  return {ns, name};
}
core::IdentityKey identity_key(const std::string& ns, const std::string& name) {
  return {ns, name};
}
core::BindingKey binding_key(const std::string& ns, const std::string& name) {
  return {ns, name};
}

}  // namespace

TEST_CASE(
    "Created, modified and deleted objects become events with cursors, and the live version index "
    "equals a rebuild from the log",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("ingest-crud");
  asio::io_context io;
  auto client = t::ingest_client(io, *cp);
  t::TempDir dir;
  auto event_store = open_store(dir.path() + "/log");
  store::EventLog log(*event_store);
  core::FakeClock clock(1'000'000);
  core::MemorySink sink;
  const auto node_name = ns + "-node";

  create(io, *client, kinds::azure_identities(), ns, t::identity("id1", "c-1"));
  create(io, *client, kinds::azure_identity_bindings(), ns, t::binding("b1", "id1", "sel"));
  create(io, *client, kinds::pods(), ns, t::pod("p1", "sel"));
  create(io, *client, kinds::nodes(), "", t::node(node_name));

  RunningIngest running(io, *client, log, clock, sink, t::ingest_options(ns));
  REQUIRE(running.wait_synced());
  const auto& index = running.ingest.index();
  {
    const auto state = projected(log);
    CHECK(state.identities.at(identity_key(ns, "id1")).client_id == "c-1");
    CHECK(state.bindings.at(binding_key(ns, "b1")).selector == "sel");
    CHECK(state.pods.at(pod_key(ns, "p1")).labels.at("aadpodidbinding") == "sel");
    CHECK(state.nodes.at(node_name).vm.has_value());
    CHECK(state.last_at_ms == 1'000'000);
    CHECK(index == watch::VersionIndex::from_state(state));
    CHECK(index.version(watch::IngestKind::pods, ns + "/p1") ==
          state.pods.at(pod_key(ns, "p1")).resource_version);
  }
  for (auto kind : watch::all_ingest_kinds()) CHECK_FALSE(cursor_of(*event_store, kind).empty());

  clock.advance(5'000);
  auto id1 = run_async(io, client->get(kinds::azure_identities(), ns, "id1")).value();
  id1["spec"].as_object()["clientID"] = "c-2";
  const auto updated = run_async(io, client->update(kinds::azure_identities(), ns, id1)).value();
  create(io, *client, kinds::pods(), ns, t::pod("p2", "sel"));
  remove(io, *client, kinds::azure_identity_bindings(), ns, "b1");
  REQUIRE(run_until(io, [&] {
    return index.version(watch::IngestKind::identities, ns + "/id1") == watch::resource_version_of(updated) &&
           index.version(watch::IngestKind::pods, ns + "/p2").has_value() &&
           !index.version(watch::IngestKind::bindings, ns + "/b1");
  }));
  const auto state = projected(log);
  CHECK(state.identities.at(identity_key(ns, "id1")).client_id == "c-2");
  CHECK(state.pods.contains(pod_key(ns, "p2")));
  CHECK_FALSE(state.bindings.contains(binding_key(ns, "b1")));

  CHECK(count_events(*event_store, "IdentityObserved", "identity/" + ns + "/id1") == 2);
  CHECK(count_events(*event_store, "BindingObserved", "binding/" + ns + "/b1") == 1);
  CHECK(count_events(*event_store, "BindingDeleted", "binding/" + ns + "/b1") == 1);
  CHECK(count_events(*event_store, "PodObserved", "pod/" + ns + "/p1") == 1);
  CHECK(count_events(*event_store, "PodObserved", "pod/" + ns + "/p2") == 1);
  CHECK(cursor_of(*event_store, watch::IngestKind::identities) == watch::resource_version_of(updated));
  CHECK(state.last_at_ms == 1'005'000);
  CHECK(running.ingest.counters().decode_failures == 0);
  CHECK(running.ingest.counters().events_appended == event_store->last_seq());

  CHECK(index == watch::VersionIndex::from_state(state));
  CHECK(index.last_seq() == event_store->last_seq());
  running.stop();
  CHECK(running.result->error().code == core::ErrorCode::cancelled);
  remove(io, *client, kinds::nodes(), "", node_name);

  // `podidctl replay` rebuilds the same State from the log (the store must be closed first).
  const auto live = core::encode_state(state);
  event_store.reset();
  const auto replayed = podidctl("replay --no-checkpoint --json --store " + dir.path() + "/log");
  REQUIRE(replayed.first == 0);
  CHECK(json::parse(replayed.second) == live);
}

TEST_CASE(
    "A restarted ingest resumes from its stored cursors without relisting or duplicating events, "
    "and sees deletions made while it was stopped",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("ingest-resume");
  asio::io_context io;
  auto client = t::ingest_client(io, *cp);
  t::TempDir dir;
  auto event_store = open_store(dir.path() + "/log");
  store::EventLog log(*event_store);
  core::FakeClock clock(2'000'000);
  core::MemorySink sink;

  create(io, *client, kinds::azure_identities(), ns, t::identity("id1", "c-1"));
  create(io, *client, kinds::pods(), ns, t::pod("p1", "sel"));
  {
    RunningIngest first(io, *client, log, clock, sink, t::ingest_options(ns));
    REQUIRE(first.wait_synced());
    REQUIRE(first.ingest.index().version(watch::IngestKind::pods, ns + "/p1").has_value());
    REQUIRE(projected(log).pods.contains(pod_key(ns, "p1")));
    first.stop();
  }
  const auto events_before = event_store->last_seq();

  SECTION("a new object is the only new event") {
    RunningIngest second(io, *client, log, clock, sink, t::ingest_options(ns));
    REQUIRE(second.wait_synced());
    create(io, *client, kinds::pods(), ns, t::pod("p2", "sel"));
    REQUIRE(run_until(
        io, [&] { return second.ingest.index().version(watch::IngestKind::pods, ns + "/p2").has_value(); }));
    CHECK(projected(log).pods.contains(pod_key(ns, "p2")));
    for (auto kind : watch::all_ingest_kinds()) CHECK(second.ingest.reflector_counters(kind)->lists == 0);
    CHECK(second.ingest.counters().events_appended == 1);
    CHECK(event_store->last_seq() == events_before + 1);
    CHECK(count_events(*event_store, "PodObserved", "pod/" + ns + "/p1") == 1);
    CHECK(count_events(*event_store, "IdentityObserved", "identity/" + ns + "/id1") == 1);
  }
  SECTION("objects deleted while stopped become Deleted events from the resumed watch") {
    remove(io, *client, kinds::pods(), ns, "p1");
    remove(io, *client, kinds::azure_identities(), ns, "id1");
    RunningIngest second(io, *client, log, clock, sink, t::ingest_options(ns));
    REQUIRE(second.wait_synced());
    const auto& index = second.ingest.index();
    REQUIRE(run_until(io, [&] {
      return !index.version(watch::IngestKind::pods, ns + "/p1") &&
             !index.version(watch::IngestKind::identities, ns + "/id1");
    }));
    for (auto kind : watch::all_ingest_kinds()) CHECK(second.ingest.reflector_counters(kind)->lists == 0);
    CHECK(count_events(*event_store, "PodDeleted", "pod/" + ns + "/p1") == 1);
    CHECK(count_events(*event_store, "IdentityDeleted", "identity/" + ns + "/id1") == 1);
    // A pod deletion is observed as MODIFIED (deletionTimestamp) then DELETED; nothing else is new.
    CHECK(subjects_after(*event_store, events_before) ==
          std::set<std::string>{"pod/" + ns + "/p1", "identity/" + ns + "/id1"});
    CHECK(second.ingest.counters().events_appended == event_store->last_seq() - events_before);
    const auto state = projected(log);
    CHECK_FALSE(state.pods.contains(pod_key(ns, "p1")));
    CHECK_FALSE(state.identities.contains(identity_key(ns, "id1")));
    CHECK(index == watch::VersionIndex::from_state(state));
  }
}

TEST_CASE(
    "After 410 Gone the relist reconciles with the projected state: objects deleted while stopped "
    "become Deleted events and unchanged objects produce none",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("ingest-relist");
  asio::io_context io;
  auto client = t::ingest_client(io, *cp);
  t::TempDir dir;
  auto event_store = open_store(dir.path() + "/log");
  store::EventLog log(*event_store);
  core::FakeClock clock(3'000'000);
  core::MemorySink sink;

  create(io, *client, kinds::azure_identities(), ns, t::identity("id1", "c-1"));
  create(io, *client, kinds::azure_identity_bindings(), ns, t::binding("b1", "id1", "sel"));
  create(io, *client, kinds::pods(), ns, t::pod("p1", "sel"));
  create(io, *client, kinds::pods(), ns, t::pod("p2", "sel"));
  {
    RunningIngest first(io, *client, log, clock, sink, t::ingest_options(ns));
    REQUIRE(first.wait_synced());
    first.stop();
  }
  remove(io, *client, kinds::pods(), ns, "p1");
  remove(io, *client, kinds::azure_identity_bindings(), ns, "b1");
  // A cursor older than every watch cache: the resumed watches answer 410 Gone and the ingest relists.
  std::vector<store::Cursor> stale;
  for (auto kind : watch::all_ingest_kinds()) stale.push_back({watch::cursor_name(kind), "1"});
  REQUIRE(event_store->append({}, stale).has_value());
  const auto events_before = event_store->last_seq();

  RunningIngest second(io, *client, log, clock, sink, t::ingest_options(ns));
  const auto& index = second.ingest.index();
  // Custom resources get a real 410 (their watch caches start after RV 1); pods may be served from etcd
  // history instead, which also yields the deletion, as a watch event.
  const auto ok = run_until(io, [&] {
    const auto b = second.ingest.reflector_counters(watch::IngestKind::bindings);
    return b && b->relists_after_gone == 1 && second.ingest.synced() &&
           !index.version(watch::IngestKind::pods, ns + "/p1") &&
           !index.version(watch::IngestKind::bindings, ns + "/b1");
  });
  if (!ok) {
    for (auto kind : watch::all_ingest_kinds()) {
      const auto c = second.ingest.reflector_counters(kind);
      UNSCOPED_INFO(watch::to_string(kind) << " lists " << c->lists << " gone " << c->relists_after_gone
                                           << " errors " << c->errors << " events " << c->events);
    }
    for (const auto& l : sink.lines()) UNSCOPED_INFO(l);
  }
  REQUIRE(ok);
  CHECK(second.ingest.reflector_counters(watch::IngestKind::identities)->relists_after_gone == 1);
  const auto pods = *second.ingest.reflector_counters(watch::IngestKind::pods);
  CHECK(second.ingest.counters().relist_deletes == 1 + pods.relists_after_gone);
  CHECK(second.ingest.counters().unchanged_skipped >= 1);  // id1, and p2 on either path
  auto changed = subjects_after(*event_store, events_before);
  std::erase_if(changed, [&](const std::string& s) { return s.find(ns) == std::string::npos; });  // nodes
  CHECK(changed == std::set<std::string>{"pod/" + ns + "/p1", "binding/" + ns + "/b1"});
  CHECK(count_events(*event_store, "PodDeleted", "pod/" + ns + "/p1") == 1);
  CHECK(count_events(*event_store, "BindingDeleted", "binding/" + ns + "/b1") == 1);
  CHECK(count_events(*event_store, "PodObserved", "pod/" + ns + "/p2") == 1);
  CHECK(count_events(*event_store, "IdentityObserved", "identity/" + ns + "/id1") == 1);
  CHECK(cursor_of(*event_store, watch::IngestKind::pods) != "1");
  CHECK(index.version(watch::IngestKind::pods, ns + "/p2").has_value());
  const auto state = projected(log);
  CHECK(state.pods.contains(pod_key(ns, "p2")));
  CHECK_FALSE(state.pods.contains(pod_key(ns, "p1")));
  CHECK_FALSE(state.bindings.contains(binding_key(ns, "b1")));
  CHECK(index == watch::VersionIndex::from_state(state));
}

TEST_CASE("An object the decoder rejects is quarantined and counted, and the ingest goes on",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("ingest-bad");
  asio::io_context io;
  auto client = t::ingest_client(io, *cp);
  t::TempDir dir;
  auto event_store = open_store(dir.path() + "/log");
  store::EventLog log(*event_store);
  core::FakeClock clock(4'000'000);
  core::MemorySink sink;

  RunningIngest running(io, *client, log, clock, sink, t::ingest_options(ns));
  REQUIRE(running.wait_synced());
  // The CRD accepts an AzureIdentity without a spec; our decoder requires one.
  create(io, *client, kinds::azure_identities(), ns,
         json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                      {"kind", "AzureIdentity"},
                      {"metadata", {{"name", "no-spec"}}}});
  create(io, *client, kinds::azure_identities(), ns, t::identity("good", "c-1"));
  const auto& index = running.ingest.index();
  REQUIRE(
      run_until(io, [&] { return index.version(watch::IngestKind::identities, ns + "/good").has_value(); }));
  CHECK_FALSE(index.version(watch::IngestKind::identities, ns + "/no-spec"));
  const auto state = projected(log);
  CHECK(state.identities.contains(identity_key(ns, "good")));
  CHECK_FALSE(state.identities.contains(identity_key(ns, "no-spec")));
  CHECK(running.ingest.counters().decode_failures == 1);
  const auto quarantined = running.ingest.quarantined();
  REQUIRE(quarantined.size() == 1);
  CHECK(quarantined.front().key == ns + "/no-spec");
  CHECK(quarantined.front().kind == watch::IngestKind::identities);
  CHECK_FALSE(quarantined.front().reason.empty());
  CHECK(std::any_of(sink.lines().begin(), sink.lines().end(), [&](const std::string& l) {
    return l.find("Object quarantined.") != std::string::npos && l.find(ns + "/no-spec") != std::string::npos;
  }));
  CHECK_FALSE(running.result.has_value());

  remove(io, *client, kinds::azure_identities(), ns, "no-spec");
  REQUIRE(run_until(io, [&] { return running.ingest.quarantined().empty(); }));
  CHECK(count_events(*event_store, "IdentityDeleted", "identity/" + ns + "/no-spec") == 0);
}
