// Support snapshots carry the projection and the newest events, and never a secret or a token.

#include "cli/snapshot.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "golden_logs.hpp"
#include "store/event_log.hpp"
#include "store/memory_event_store.hpp"

using namespace podid;

TEST_CASE("A support snapshot holds the state and the newest events", "[unit]") {
  const auto events = test::read_golden("vm_assign");
  store::MemoryEventStore mem;
  store::EventLog log(mem);
  REQUIRE(log.append(events).has_value());
  auto bundle = cli::make_bundle(mem, 3);
  REQUIRE(bundle.has_value());
  const auto& o = bundle->as_object();
  CHECK(o.at("lastSeq").to_number<std::uint64_t>() == events.size());
  CHECK(o.at("events").as_array().size() == 3);
  CHECK(o.at("events").as_array().back().at("seq").to_number<std::uint64_t>() == events.size());
  CHECK(o.at("state").as_object().contains("assignments"));
}

TEST_CASE("A token or secret planted anywhere in a bundle is redacted", "[unit]") {
  const std::string planted = "eyJhbGciOiJSUzI1NiJ9.planted-token-value";
  boost::json::value v = boost::json::parse(R"({"a":{"accessToken":")" + planted +
                                            R"(","clientSecret":"s3cr3t","nested":[{"password":"pw"}]},
                                              "clientID":"keep-me"})");
  cli::redact(v);
  const auto text = boost::json::serialize(v);
  CHECK(text.find(planted) == std::string::npos);
  CHECK(text.find("s3cr3t") == std::string::npos);
  CHECK(text.find("\"pw\"") == std::string::npos);
  CHECK(text.find("keep-me") != std::string::npos);
  CHECK(v.at("a").at("accessToken") == "[redacted]");
}
