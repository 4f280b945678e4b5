#include "core/logger.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "core/clock.hpp"

using namespace podid::core;

TEST_CASE("The logger writes JSON lines with time, level, component, message and fields", "[unit]") {
  MemorySink sink;
  FakeClock clock(1234);
  Logger log(sink, clock, "mic");
  log.info("Identity attached.", {{"pod", "d/p"}, {"seq", 7}});
  clock.advance(10);
  log.with_component("arm").warn("Request throttled.", {{"retryAfterMs", 500}});
  log.debug("Not written at info level.");
  REQUIRE(sink.lines().size() == 2);
  const auto first = boost::json::parse(sink.lines()[0]).as_object();
  CHECK(first.at("ts").as_int64() == 1234);
  CHECK(first.at("level").as_string() == "info");
  CHECK(first.at("component").as_string() == "mic");
  CHECK(first.at("msg").as_string() == "Identity attached.");
  CHECK(first.at("pod").as_string() == "d/p");
  CHECK(first.at("seq").as_int64() == 7);
  const auto second = boost::json::parse(sink.lines()[1]).as_object();
  CHECK(second.at("ts").as_int64() == 1244);
  CHECK(second.at("component").as_string() == "arm");
}

TEST_CASE("Secrets never reach the log", "[unit]") {
  MemorySink sink;
  FakeClock clock;
  Logger log(sink, clock, "nmi", LogLevel::debug);
  const Secret<std::string> token("eyJ0eXAiOiJKV1QiLCJhbGciOi-planted-token");
  log.debug("Token acquired.", {{"token", token}, {"clientID", "c"}});
  REQUIRE(sink.lines().size() == 1);
  CHECK(sink.lines()[0].find("planted-token") == std::string::npos);
  CHECK(boost::json::parse(sink.lines()[0]).at("token").as_string() == "[redacted]");
}
