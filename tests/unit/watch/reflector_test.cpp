#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
// The Reflector against the in-memory KubeClient: paging, relist diff after 410, backoff, bookmarks, stop.
#include "watch/reflector.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "unit/watch/memory_kube_client.hpp"

using podid::core::ErrorCode;
using podid::testing::MemoryKubeClient;
namespace asio = boost::asio;
namespace watch = podid::watch;
using Seen = std::vector<std::pair<std::string, std::string>>;

namespace {

struct Harness {
  Harness() : fake(io.get_executor()) {
    options.page_size = 2;
    options.backoff_initial = std::chrono::milliseconds(1);
    options.backoff_max = std::chrono::milliseconds(4);
  }
  void start() {
    reflector.emplace(
        fake, watch::kinds::config_maps(), options,
        [this](watch::WatchEventType type, const boost::json::object& object, const std::string&) {
          seen.emplace_back(std::string{watch::to_string(type)},
                            std::string{object.at("metadata").at("name").as_string()});
        },
        [this](const std::string&) { ++synced; });
    asio::co_spawn(
        io, reflector->run(),
        asio::bind_cancellation_slot(
            signal.slot(), [this](std::exception_ptr, podid::core::Status s) { result = std::move(s); }));
  }
  // Runs queued work until pred() holds (each handler completes promptly: no timing involved).
  bool run_until(const std::function<bool()>& pred) {
    for (int i = 0; i < 100000 && !pred(); ++i) {
      io.restart();
      if (io.run_one_for(std::chrono::milliseconds(100)) == 0 && pred()) break;
    }
    return pred();
  }
  void stop() {
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until([this] { return result.has_value(); }));
  }

  asio::io_context io;
  MemoryKubeClient fake;
  watch::ReflectorOptions options;
  std::optional<watch::Reflector> reflector;
  asio::cancellation_signal signal;
  Seen seen;
  int synced{0};
  std::optional<podid::core::Status> result;
};

}  // namespace

TEST_CASE("A reflector lists page by page, then watches from the list's resourceVersion", "[unit]") {
  Harness h;
  for (const auto* name : {"a", "b", "c", "d", "e"}) h.fake.put(name, "1");
  const auto list_rv = h.fake.current_rv();
  h.start();
  REQUIRE(h.run_until([&] { return h.synced == 1; }));
  CHECK(h.seen == Seen{{"ADDED", "a"}, {"ADDED", "b"}, {"ADDED", "c"}, {"ADDED", "d"}, {"ADDED", "e"}});
  CHECK(h.reflector->resource_version() == list_rv);
  h.fake.put("b", "2");
  h.fake.erase("c");
  REQUIRE(h.run_until([&] { return h.seen.size() == 7; }));
  CHECK(h.seen[5] == std::pair<std::string, std::string>{"MODIFIED", "b"});
  CHECK(h.seen[6] == std::pair<std::string, std::string>{"DELETED", "c"});
  CHECK(h.fake.calls() == std::vector<std::string>{"list limit=2 continue=", "list limit=2 continue=2",
                                                   "list limit=2 continue=4", "watch rv=" + list_rv});
  CHECK(h.reflector->known_objects() == 4);
  h.stop();
  CHECK(h.result->error().code == ErrorCode::cancelled);
}

TEST_CASE("After 410 a reflector relists and emits only the difference, deletions included", "[unit]") {
  Harness h;
  for (const auto* name : {"a", "b", "c"}) h.fake.put(name, "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.synced == 1; }));
  // While the watch is away, history is compacted and the objects change.
  h.fake.compact();
  h.fake.erase("a");
  h.fake.put("b", "2");
  h.fake.put("d", "1");
  h.seen.clear();
  REQUIRE(h.run_until([&] { return h.synced == 2; }));
  CHECK(h.seen == Seen{{"MODIFIED", "b"}, {"ADDED", "d"}, {"DELETED", "a"}});
  CHECK(h.reflector->counters().relists_after_gone == 1);
  CHECK(h.reflector->known_objects() == 3);
  h.fake.put("e", "1");
  REQUIRE(h.run_until([&] { return h.seen.size() == 4; }));
  CHECK(h.seen.back() == std::pair<std::string, std::string>{"ADDED", "e"});
  h.stop();
}

TEST_CASE("A reflector resuming from an expired resourceVersion relists", "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.fake.compact();
  h.options.resume_from = "5";
  h.start();
  REQUIRE(h.run_until([&] { return h.synced == 1; }));
  CHECK(h.fake.calls().front() == "watch rv=5");
  CHECK(h.seen == Seen{{"ADDED", "a"}});
  h.stop();
}

TEST_CASE("Transient list failures are retried with backoff", "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.fake.list_failures.push_back(podid::core::make_error(ErrorCode::transient, "connection reset"));
  auto throttled = podid::core::make_error(ErrorCode::throttled, "429");
  throttled.retry_after = std::chrono::milliseconds(2);
  h.fake.list_failures.push_back(throttled);
  h.start();
  REQUIRE(h.run_until([&] { return h.synced == 1; }));
  CHECK(h.reflector->counters().errors == 2);
  CHECK(h.reflector->counters().lists == 3);
  CHECK(h.seen == Seen{{"ADDED", "a"}});
  h.stop();
}

TEST_CASE("A permission error stops the reflector", "[unit]") {
  Harness h;
  h.fake.list_failures.push_back(podid::core::make_error(ErrorCode::permission, "forbidden"));
  h.start();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(h.result->has_value());
  CHECK(h.result->error().code == ErrorCode::permission);
}

TEST_CASE("A bookmark moves the resume point without emitting anything", "[unit]") {
  Harness h;
  h.fake.put("a", "1");
  h.start();
  REQUIRE(h.run_until([&] { return h.synced == 1; }));
  h.fake.bookmark();
  const auto bookmark_rv = h.fake.current_rv();
  REQUIRE(h.run_until([&] { return h.reflector->resource_version() == bookmark_rv; }));
  CHECK(h.reflector->counters().bookmarks == 1);
  h.fake.end_watch();  // a clean end: re-watch at once from the bookmark
  REQUIRE(h.run_until([&] { return h.fake.calls().size() == 3; }));
  CHECK(h.fake.calls().back() == "watch rv=" + bookmark_rv);
  CHECK(h.seen == Seen{{"ADDED", "a"}});
  CHECK(h.reflector->counters().errors == 0);
  h.stop();
}
