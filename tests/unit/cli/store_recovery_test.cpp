// The controller's store at start-up (cli/store_recovery.hpp): a damaged store is moved aside and a new one
// opened, or refused; anything that is not damage moves nothing. The damage itself is tests/unit/store's
// damage_test.cpp; the controller process on a damaged store is
// tests/integration/faults/store_damage_test.cpp.
#include "cli/store_recovery.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "core/clock.hpp"
#include "store/event_log.hpp"

using namespace podid;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1'795'950'135'000;  // 2026-11-29T11:02:15Z
constexpr const char* kStamp = "20261129T110215Z";

struct World {
  World() {
    std::string tmpl = (fs::temp_directory_path() / "podid-recovery-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    store = (dir / "store").string();
    auto s = store::RocksEventStore::open(store).value();
    core::NodeDeleted e;
    e.at_ms = 1;
    e.name = "n";
    REQUIRE(store::EventLog(*s).append(std::vector<core::Event>{e}).has_value());
  }
  ~World() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  core::Result<cli::OpenedStore> open(cli::OnCorruptStore mode = cli::OnCorruptStore::rebuild) {
    return cli::open_controller_store(store, mode, clock, logger, metrics);
  }
  double rebuilds() {
    return metrics.counter("aadpodidentity_event_log_rebuilds_total", "").with({}).value();
  }

  fs::path dir;
  std::string store;
  core::FakeClock clock{kNow};
  core::MemorySink sink;
  core::Logger logger{sink, clock, "controller"};
  core::MetricsRegistry metrics;
};

}  // namespace

TEST_CASE("An intact store is opened as it is", "[unit]") {
  World w;
  auto opened = w.open();
  REQUIRE(opened.has_value());
  CHECK(opened->kept_at.empty());
  CHECK(opened->store->last_seq() == 1);
  CHECK(w.rebuilds() == 0);
}

TEST_CASE("A damaged store is moved aside, kept whole, reported and replaced by a new one", "[unit]") {
  World w;
  fs::remove(fs::path(w.store) / "CURRENT");
  auto opened = w.open();
  REQUIRE(opened.has_value());
  const auto kept = w.store + ".corrupt-" + kStamp;
  CHECK(opened->kept_at == kept);
  CHECK_THAT(opened->damage, Catch::Contains("no CURRENT file"));
  CHECK(opened->store->last_seq() == 0);
  CHECK_FALSE(fs::is_empty(kept));
  CHECK(w.rebuilds() == 1);
  REQUIRE(w.sink.lines().size() == 1);
  const auto line = boost::json::parse(w.sink.lines()[0]).as_object();
  CHECK(line.at("level").as_string() == "error");
  CHECK(line.at("keptAt").as_string() == kept);
  opened->store.reset();

  SECTION("damaged again within the same second: a second name, the first kept") {
    fs::remove(fs::path(w.store) / "CURRENT");
    auto again = w.open();
    REQUIRE(again.has_value());
    CHECK(again->kept_at == kept + "-2");
    CHECK(fs::exists(kept));
  }
}

TEST_CASE("With fail, a damaged store is refused and left as it is", "[unit]") {
  World w;
  fs::remove(fs::path(w.store) / "CURRENT");
  auto opened = w.open(cli::OnCorruptStore::fail);
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.error().code == core::ErrorCode::corrupt);
  CHECK_THAT(opened.error().message,
             Catch::Contains("is damaged") && Catch::Contains("--on-corrupt-store=fail"));
  CHECK_FALSE(fs::exists(w.store + ".corrupt-" + kStamp));
  CHECK_FALSE(fs::is_empty(w.store));
  CHECK(w.rebuilds() == 0);
}

TEST_CASE("A store held by another process is not damage: nothing is moved", "[unit]") {
  World w;
  auto holder = store::RocksEventStore::open(w.store).value();
  auto opened = w.open();
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.error().code != core::ErrorCode::corrupt);
  CHECK_FALSE(fs::exists(w.store + ".corrupt-" + kStamp));
}

TEST_CASE("A store that cannot be renamed (a mount point) is kept inside, beside the new one", "[unit]") {
  World w;
  fs::remove(fs::path(w.store) / "CURRENT");
  const auto kept = cli::keep_in_place(w.store, kNow);
  REQUIRE(kept.has_value());
  CHECK(*kept == (fs::path(w.store) / (std::string("corrupt-") + kStamp)).string());
  CHECK_FALSE(fs::is_empty(*kept));
  auto opened = w.open();  // the kept directory is not taken for damage
  REQUIRE(opened.has_value());
  CHECK(opened->kept_at.empty());
  CHECK(opened->store->last_seq() == 0);
  opened->store.reset();
  fs::remove(fs::path(w.store) / "CURRENT");
  const auto second = cli::keep_in_place(w.store, kNow);
  REQUIRE(second.has_value());
  CHECK(*second == *kept + "-2");
  CHECK(fs::exists(*kept));  // the first one stays where it was
}

TEST_CASE("The kept name carries the UTC time; the flag takes rebuild or fail", "[unit]") {
  CHECK(cli::corrupt_store_name("/var/lib/podid/events/", 0) ==
        "/var/lib/podid/events.corrupt-19700101T000000Z");
  CHECK(cli::parse_on_corrupt_store("rebuild").value() == cli::OnCorruptStore::rebuild);
  CHECK(cli::parse_on_corrupt_store("fail").value() == cli::OnCorruptStore::fail);
  CHECK(cli::parse_on_corrupt_store("Fail").error().code == core::ErrorCode::invalid);
}
