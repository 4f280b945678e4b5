// The Reflector against the real kube-apiserver: paginated list, watch, relist after 410, cancellation.
#include "watch/reflector.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <catch2/catch.hpp>

#include "integration/watch/kube_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::core::ErrorCode;
using podid::testing::admin_client;
using podid::testing::config_map;
using podid::testing::name_of;
using podid::testing::run_async;
using podid::testing::run_until;
namespace asio = boost::asio;
namespace watch = podid::watch;
namespace kinds = podid::watch::kinds;

namespace {

struct Emitted {
  std::vector<std::pair<std::string, std::string>> events;  // (type, name)
  int synced{0};
  std::optional<podid::core::Status> result;
  [[nodiscard]] bool has(const std::string& type, const std::string& name) const {
    return std::find(events.begin(), events.end(), std::make_pair(type, name)) != events.end();
  }
};

struct RunningReflector {
  RunningReflector(asio::io_context& io, watch::KubeClient& client, const watch::ResourceKind& kind,
                   watch::ReflectorOptions options, Emitted& out)
      : reflector(
            client, kind, std::move(options),
            [&out](watch::WatchEventType type, const boost::json::object& object, const std::string&) {
              out.events.emplace_back(std::string{watch::to_string(type)}, name_of(object));
            },
            [&out](const std::string&) { ++out.synced; }) {
    asio::co_spawn(
        io, reflector.run(),
        asio::bind_cancellation_slot(
            signal.slot(), [&out](std::exception_ptr, podid::core::Status s) { out.result = std::move(s); }));
  }
  asio::cancellation_signal signal;
  watch::Reflector reflector;
};

watch::ReflectorOptions options_for(const std::string& ns) {
  watch::ReflectorOptions options;
  options.ns = ns;
  options.page_size = 2;
  options.backoff_initial = std::chrono::milliseconds(50);
  options.watch_timeout_min = std::chrono::seconds(30);
  options.watch_timeout_max = std::chrono::seconds(30);
  return options;
}

}  // namespace

TEST_CASE("A reflector lists in pages, then streams changes, and stops when cancelled", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("reflect");
  asio::io_context io;
  auto client = admin_client(io, *cp);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(
        run_async(io, client->create(kinds::config_maps(), ns, config_map("pre" + std::to_string(i), "v")))
            .has_value());
  }
  Emitted out;
  RunningReflector running{io, *client, kinds::config_maps(), options_for(ns), out};
  REQUIRE(run_until(io, [&] { return out.synced == 1; }));
  CHECK(out.events.size() == 5);
  CHECK(running.reflector.counters().lists == 1);

  auto created = run_async(io, client->create(kinds::config_maps(), ns, config_map("live", "1"))).value();
  created["data"].as_object()["value"] = "2";
  REQUIRE(run_async(io, client->update(kinds::config_maps(), ns, created)).has_value());
  REQUIRE(run_async(io, client->remove(kinds::config_maps(), ns, "pre0", {})).has_value());
  REQUIRE(run_until(io, [&] { return out.events.size() == 8; }));
  CHECK(std::vector(out.events.begin() + 5, out.events.end()) ==
        std::vector<std::pair<std::string, std::string>>{
            {"ADDED", "live"}, {"MODIFIED", "live"}, {"DELETED", "pre0"}});
  CHECK(running.reflector.known_objects() == 5);

  running.signal.emit(asio::cancellation_type::terminal);
  REQUIRE(run_until(io, [&] { return out.result.has_value(); }));
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().code == ErrorCode::cancelled);
}

TEST_CASE("A reflector resuming from a too-old resourceVersion relists after 410 and keeps watching",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  podid::testing::ensure_widget_crd(*cp);
  const auto ns = cp->create_namespace("relist");
  asio::io_context io;
  auto client = admin_client(io, *cp);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(run_async(io, client->create(podid::testing::widgets(), ns,
                                         podid::testing::widget("old" + std::to_string(i))))
                .has_value());
  }
  auto options = options_for(ns);
  options.resume_from = "1";  // older than the Widget kind's watch cache
  Emitted out;
  RunningReflector running{io, *client, podid::testing::widgets(), options, out};
  REQUIRE(run_until(io, [&] { return out.synced == 1; }));
  CHECK(running.reflector.counters().relists_after_gone == 1);
  CHECK(running.reflector.counters().lists == 1);
  CHECK(out.has("ADDED", "old0"));
  CHECK(out.has("ADDED", "old1"));
  CHECK(out.has("ADDED", "old2"));

  REQUIRE(run_async(io, client->create(podid::testing::widgets(), ns, podid::testing::widget("after")))
              .has_value());
  REQUIRE(run_until(io, [&] { return out.has("ADDED", "after"); }));
  CHECK(running.reflector.known_objects() == 4);
  running.signal.emit(asio::cancellation_type::terminal);
  REQUIRE(run_until(io, [&] { return out.result.has_value(); }));
  CHECK(out.result->error().code == ErrorCode::cancelled);
}
