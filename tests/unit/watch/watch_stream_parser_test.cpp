// The watch-stream parser: events from bytes split anywhere, in-band errors, malformed input.
#include "watch/watch_stream_parser.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <random>

using podid::core::ErrorCode;
using podid::watch::WatchEvent;
using podid::watch::WatchEventType;
using podid::watch::WatchStreamParser;
namespace json = boost::json;

namespace {

std::string event_line(const std::string& type, const std::string& name, const std::string& rv,
                       const std::string& payload) {
  json::object obj{
      {"type", type},
      {"object",
       {{"kind", "Pod"}, {"metadata", {{"name", name}, {"resourceVersion", rv}}}, {"data", payload}}}};
  return json::serialize(obj) + "\n";
}

struct Collected {
  std::vector<WatchEvent> events;
  WatchStreamParser::EventHandler handler() {
    return [this](WatchEvent e) {
      events.push_back(std::move(e));
      return podid::core::ok();
    };
  }
};

}  // namespace

TEST_CASE("The parser decodes ADDED, MODIFIED, DELETED and BOOKMARK events with their resource versions",
          "[unit]") {
  WatchStreamParser parser;
  Collected out;
  const std::string body =
      event_line("ADDED", "a", "10", "x") + event_line("MODIFIED", "a", "11", "y") +
      event_line("DELETED", "a", "12", "y") +
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"13"}}})"
      "\n";
  REQUIRE(parser.feed(body, out.handler()).has_value());
  REQUIRE(out.events.size() == 4);
  CHECK(out.events[0].type == WatchEventType::added);
  CHECK(out.events[1].type == WatchEventType::modified);
  CHECK(out.events[2].type == WatchEventType::deleted);
  CHECK(out.events[3].type == WatchEventType::bookmark);
  CHECK(out.events[0].resource_version == "10");
  CHECK(out.events[3].resource_version == "13");
  CHECK(out.events[1].object.at("data").as_string() == "y");
  CHECK(parser.pending() == 0);
}

TEST_CASE("An in-band ERROR event with reason Expired stops the stream as gone", "[unit]") {
  WatchStreamParser parser;
  Collected out;
  const std::string error_line =
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)j"
      R"j("message":"too old resource version: 1 (5)","reason":"Expired","code":410}})j";
  const std::string body =
      event_line("ADDED", "a", "10", "x") + error_line + "\n" + event_line("ADDED", "b", "11", "x");
  auto result = parser.feed(body, out.handler());
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::gone);
  CHECK(result.error().http_status == 410);
  CHECK(out.events.size() == 1);
}

TEST_CASE("Malformed watch lines are refused as invalid", "[unit]") {
  const auto line = GENERATE(as<std::string>{}, "not json\n", "[1,2]\n",
                             R"({"type":"ADDED"})"
                             "\n",
                             R"({"type":"WHATEVER","object":{}})"
                             "\n",
                             R"({"type":"ADDED","object":"x"})"
                             "\n");
  WatchStreamParser parser;
  Collected out;
  auto result = parser.feed(line, out.handler());
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::invalid);
  CHECK(out.events.empty());
}

TEST_CASE("An event larger than the cap is refused", "[unit]") {
  WatchStreamParser parser{64};
  Collected out;
  auto result = parser.feed(event_line("ADDED", "a", "1", std::string(100, 'z')), out.handler());
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::invalid);
}

TEST_CASE("Randomly split streams always yield the same events in order", "[unit]") {
  const auto seed = GENERATE(take(8, random(1u, 1000000u)));
  std::mt19937 rng{seed};
  std::string body;
  std::vector<std::string> names;
  for (int i = 0; i < 60; ++i) {
    const auto size = std::uniform_int_distribution<std::size_t>{0, 3000}(rng);
    std::string payload(size, 'p');
    // JSON escapes of newlines and quotes, and UTF-8 text, must not confuse the framing.
    payload += "line\nbreak \"quoted\" \xc3\xa9\xe2\x82\xac";
    names.push_back("obj-" + std::to_string(i));
    body += event_line(i % 3 == 0 ? "ADDED" : "MODIFIED", names.back(), std::to_string(100 + i), payload);
  }
  WatchStreamParser parser;
  Collected out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto max_piece = std::uniform_int_distribution<int>{0, 2}(rng) == 0 ? 3 : 5000;
    const auto n = std::uniform_int_distribution<std::size_t>{1, static_cast<std::size_t>(max_piece)}(rng);
    REQUIRE(parser.feed(std::string_view{body}.substr(pos, n), out.handler()).has_value());
    pos += n;
  }
  REQUIRE(out.events.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(out.events[i].object.at("metadata").at("name").as_string() == names[i]);
    CHECK(out.events[i].resource_version == std::to_string(100 + i));
    CHECK(
        out.events[i].object.at("data").as_string().ends_with("line\nbreak \"quoted\" \xc3\xa9\xe2\x82\xac"));
  }
  CHECK(parser.pending() == 0);
}
