// LineSplitter and URL helpers: pure functions.
#include "core/http/line_splitter.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "core/http/url.hpp"

namespace http = podid::http;
using podid::core::ErrorCode;

TEST_CASE("LineSplitter joins lines split at every possible boundary", "[unit]") {
  const std::string stream = "{\"a\":1}\n\n{\"b\":\"x y\"}\r\n{\"c\":3}\n";
  const std::vector<std::string> expected{"{\"a\":1}", "{\"b\":\"x y\"}", "{\"c\":3}"};
  std::mt19937 rng{GENERATE(1u, 2u, 3u, 42u)};
  for (int round = 0; round < 200; ++round) {
    http::LineSplitter splitter;
    std::vector<std::string> seen;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const auto n = std::uniform_int_distribution<std::size_t>{1, 7}(rng);
      REQUIRE(splitter.feed(std::string_view{stream}.substr(pos, n), [&](std::string_view line) {
        seen.emplace_back(line);
        return podid::core::ok();
      }));
      pos += n;
    }
    REQUIRE(seen == expected);
    CHECK(splitter.pending() == 0);
  }
}

TEST_CASE("LineSplitter refuses a line over its cap", "[unit]") {
  http::LineSplitter splitter{8};
  auto noop = [](std::string_view) { return podid::core::ok(); };
  REQUIRE(splitter.feed("12345", noop).has_value());
  auto r = splitter.feed("6789", noop);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::invalid);
}

TEST_CASE("LineSplitter stops at the first handler error", "[unit]") {
  http::LineSplitter splitter;
  int calls = 0;
  auto r = splitter.feed("a\nb\nc\n", [&](std::string_view) -> podid::core::Status {
    ++calls;
    return podid::core::make_error(ErrorCode::gone, "stop");
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::gone);
  CHECK(calls == 1);
}

TEST_CASE("LineSplitter flushes an unterminated last line on finish", "[unit]") {
  http::LineSplitter splitter;
  std::vector<std::string> seen;
  auto keep = [&](std::string_view line) {
    seen.emplace_back(line);
    return podid::core::ok();
  };
  REQUIRE(splitter.feed("one\ntw", keep).has_value());
  REQUIRE(splitter.finish(keep).has_value());
  CHECK(seen == std::vector<std::string>{"one", "tw"});
}

TEST_CASE("URLs parse into scheme, host, port and target", "[unit]") {
  auto u = http::parse_url("https://10.0.0.1:6443/api/v1/pods?limit=2").value();
  CHECK(u.scheme == "https");
  CHECK(u.host == "10.0.0.1");
  CHECK(u.port == "6443");
  CHECK(u.target == "/api/v1/pods?limit=2");
  auto v6 = http::parse_url("https://[fd00::1]/x").value();
  CHECK(v6.host == "fd00::1");
  CHECK(v6.port == "443");
  CHECK(v6.authority() == "[fd00::1]:443");
  CHECK(http::parse_url("http://host").value().target == "/");
  CHECK(http::parse_url("http://host?x=1").value().target == "/?x=1");
  CHECK_FALSE(http::parse_url("host:80/x").has_value());
  CHECK_FALSE(http::parse_url("https://:80/").has_value());
  CHECK_FALSE(http::parse_url("https://h:8x/").has_value());
}

TEST_CASE("Query values are percent-encoded and IP literals recognised", "[unit]") {
  CHECK(http::url_encode("app in (a,b),tier!=x") == "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
  CHECK(http::url_encode("aZ0-_.~") == "aZ0-_.~");
  CHECK(http::is_ip_literal("127.0.0.1"));
  CHECK(http::is_ip_literal("::1"));
  CHECK_FALSE(http::is_ip_literal("localhost"));
}
