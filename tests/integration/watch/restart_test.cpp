// A watch survives a kube-apiserver restart (etcd keeps running): the Reflector and the Ingest into a
// RocksEventStore see every change made before, right after and well after the restart exactly once and in
// order. Its own binary: restarting the shared control plane would disturb the other watch tests.
#include <algorithm>
#include <atomic>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/ingest/ingest_env.hpp"
#include "integration/watch/kube_env.hpp"
#include "support/control_plane_catch.hpp"
#include "watch/reflector.hpp"

using podid::testing::config_map;
using podid::testing::name_of;
using podid::testing::run_async;
using podid::testing::run_until;
namespace asio = boost::asio;
namespace core = podid::core;
namespace kinds = podid::watch::kinds;
namespace store = podid::store;
namespace t = podid::testing;
namespace watch = podid::watch;

namespace {

using Seen = std::vector<std::pair<std::string, std::string>>;  // (type, name) in delivery order

// Restarts kube-apiserver on another thread while this one keeps running `io`, so the clients on `io`
// live through the outage (broken watch, refused connections, backoff) instead of sleeping through it.
void restart_apiserver_while_running(t::ControlPlane& cp, asio::io_context& io) {
  std::atomic<bool> done{false};
  std::optional<std::string> error;
  std::thread restarter([&] {
    try {
      cp.restart_apiserver();
    } catch (const std::exception& e) {
      error = e.what();
    }
    done = true;
  });
  const bool finished = run_until(
      io, [&] { return done.load(); }, std::chrono::minutes(3));
  restarter.join();  // restart_apiserver() is bounded by its own timeouts
  REQUIRE(finished);
  if (error) FAIL(*error);
}

// Blocking create through the control plane's admin client (not on `io`): nothing the reflector does can
// run in between, so these objects exist before the reflector reconnects, unless it already had.
void create_config_map_now(t::ControlPlane& cp, const std::string& ns, const std::string& name) {
  const auto reply = cp.request("POST", "/api/v1/namespaces/" + ns + "/configmaps",
                                boost::json::serialize(config_map(name, "v")));
  REQUIRE(reply.status == 201);
}

std::vector<std::string> pod_facts(const store::EventStore& s, const std::string& ns) {
  auto events = s.read(1, 100000);
  REQUIRE(events.has_value());
  std::vector<std::string> out;  // "<kind> <subject>" in log order
  for (const auto& e : *events) {
    for (const auto& subject : e.subjects) {
      if (subject.rfind("pod/" + ns + "/", 0) == 0) out.push_back(e.kind + " " + subject);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("A reflector sees every change exactly once and in order across a kube-apiserver restart",
          "[integration][slow]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("restart-reflector");
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  for (const auto* name : {"before0", "before1", "before2"}) create_config_map_now(*cp, ns, name);

  watch::ReflectorOptions options;
  options.ns = ns;
  options.label_selector = "app=podid-test";
  options.page_size = 2;
  options.backoff_initial = std::chrono::milliseconds(50);
  options.backoff_max = std::chrono::milliseconds(500);
  options.watch_timeout_min = std::chrono::seconds(60);
  options.watch_timeout_max = std::chrono::seconds(60);
  Seen seen;
  int synced = 0;
  std::optional<core::Status> result;
  watch::Reflector reflector(
      *client, kinds::config_maps(), options,
      [&seen](watch::WatchEventType type, const boost::json::object& object, const std::string&) {
        seen.emplace_back(std::string{watch::to_string(type)}, name_of(object));
      },
      [&synced](const std::string&) { ++synced; });
  asio::cancellation_signal stop;
  asio::co_spawn(io, reflector.run(),
                 asio::bind_cancellation_slot(stop.slot(), [&result](std::exception_ptr e, core::Status s) {
                   if (e) std::rethrow_exception(e);
                   result = std::move(s);
                 }));
  REQUIRE(run_until(io, [&] { return synced == 1; }));
  REQUIRE(run_async(io, client->create(kinds::config_maps(), ns, config_map("live0", "v"))).has_value());
  REQUIRE(run_until(io, [&] { return seen.size() == 4; }));
  const auto watches_before = reflector.counters().watches;

  restart_apiserver_while_running(*cp, io);
  create_config_map_now(*cp, ns, "back0");
  create_config_map_now(*cp, ns, "back1");
  REQUIRE(run_until(io, [&] { return seen.size() == 6; }));

  auto before1 = run_async(io, client->get(kinds::config_maps(), ns, "before1")).value();
  before1["data"].as_object()["value"] = "changed";
  REQUIRE(run_async(io, client->update(kinds::config_maps(), ns, before1)).has_value());
  REQUIRE(run_async(io, client->remove(kinds::config_maps(), ns, "before2", {})).has_value());
  REQUIRE(run_async(io, client->create(kinds::config_maps(), ns, config_map("after0", "v"))).has_value());
  REQUIRE(run_until(io, [&] { return seen.size() >= 9; }));

  // One more object through the same watch: a duplicate the reconnect might still deliver comes before it.
  auto marker = run_async(io, client->create(kinds::config_maps(), ns, config_map("marker", "v")));
  REQUIRE(marker.has_value());
  REQUIRE(run_until(io, [&] { return seen.size() >= 10; }));
  CHECK(seen == Seen{{"ADDED", "before0"},
                     {"ADDED", "before1"},
                     {"ADDED", "before2"},
                     {"ADDED", "live0"},
                     {"ADDED", "back0"},
                     {"ADDED", "back1"},
                     {"MODIFIED", "before1"},
                     {"DELETED", "before2"},
                     {"ADDED", "after0"},
                     {"ADDED", "marker"}});
  const auto& counters = reflector.counters();
  // Which way it came back (resume from the last RV, or 410 then relist) depends on the new watch cache.
  WARN("reflector after restart: lists=" << counters.lists
                                         << " relists_after_gone=" << counters.relists_after_gone
                                         << " watches=" << counters.watches << " errors=" << counters.errors);
  CHECK(counters.watches > watches_before);
  CHECK(counters.errors >= 1);            // it did notice the outage
  CHECK(reflector.known_objects() == 7);  // before0, before1, live0, back0, back1, after0, marker

  stop.emit(asio::cancellation_type::terminal);
  REQUIRE(run_until(io, [&] { return result.has_value(); }));
  CHECK(result->error().code == core::ErrorCode::cancelled);
}

TEST_CASE("The ingest appends each pod fact exactly once and in order across a kube-apiserver restart",
          "[integration][slow]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("restart-ingest");
  asio::io_context io;
  auto client = t::ingest_client(io, *cp);
  t::TempDir dir;
  auto event_store = t::open_store(dir.path() + "/log");
  store::EventLog log(*event_store);
  core::FakeClock clock(1'000'000);
  core::MemorySink sink;
  auto create_pod = [&](const std::string& name) {
    auto created = run_async(io, client->create(kinds::pods(), ns, t::pod(name, "sel")));
    if (!created) FAIL(created.error().describe());
  };

  create_pod("p0-before");
  auto options = t::ingest_options(ns);
  options.reflector.backoff_max = std::chrono::milliseconds(500);
  t::RunningIngest running(io, *client, log, clock, sink, options);
  REQUIRE(running.wait_synced());
  const auto& index = running.ingest.index();
  const auto logged = [&](const std::string& name) {
    return index.version(watch::IngestKind::pods, ns + "/" + name).has_value();
  };
  create_pod("p1-live");
  REQUIRE(run_until(io, [&] { return logged("p1-live"); }));

  restart_apiserver_while_running(*cp, io);
  create_pod("p2-back");
  REQUIRE(run_until(io, [&] { return logged("p2-back"); }));
  create_pod("p3-after");
  // A label change, not a delete: deleting a pod is two changes on the server (deletionTimestamp, then gone).
  auto p0 = run_async(io, client->get(kinds::pods(), ns, "p0-before")).value();
  p0["metadata"].as_object()["labels"].as_object()["aadpodidbinding"] = "other";
  const auto relabelled = run_async(io, client->update(kinds::pods(), ns, p0));
  REQUIRE(relabelled.has_value());
  const auto relabelled_rv = watch::resource_version_of(*relabelled);
  REQUIRE(run_until(io, [&] {
    return logged("p3-after") && index.version(watch::IngestKind::pods, ns + "/p0-before") == relabelled_rv;
  }));
  // A last pod through the same watch flushes any duplicate the reconnect might still deliver.
  create_pod("p4-marker");
  REQUIRE(run_until(io, [&] { return logged("p4-marker"); }));
  const auto state = t::projected(log);
  CHECK(state.pods.at(core::PodKey{ns, "p0-before"}).labels.at("aadpodidbinding") == "other");
  CHECK(state.pods.contains(core::PodKey{ns, "p4-marker"}));

  const auto subject = [&](const std::string& name) { return "pod/" + ns + "/" + name; };
  CHECK(pod_facts(*event_store, ns) == std::vector<std::string>{
                                           "PodObserved " + subject("p0-before"),
                                           "PodObserved " + subject("p1-live"),
                                           "PodObserved " + subject("p2-back"),
                                           "PodObserved " + subject("p3-after"),
                                           "PodObserved " + subject("p0-before"),
                                           "PodObserved " + subject("p4-marker"),
                                       });
  const auto pods = running.ingest.reflector_counters(watch::IngestKind::pods);
  REQUIRE(pods.has_value());
  WARN("pod reflector after restart: lists=" << pods->lists << " relists_after_gone="
                                             << pods->relists_after_gone << " errors=" << pods->errors);
  CHECK(pods->errors >= 1);
  CHECK(running.ingest.counters().decode_failures == 0);
  CHECK(index == watch::VersionIndex::from_state(state));
  CHECK(index.last_seq() == event_store->last_seq());
  running.stop();
  CHECK(running.result->error().code == core::ErrorCode::cancelled);
}
