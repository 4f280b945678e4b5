// TokenCache with a fake clock and a fake upstream: hits, refresh before expiry, merged misses, bounds,
// retain() after the grant changed, errors not cached.
#include "nodeproxy/token_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "unit/http/run_async.hpp"
#include "unit/nodeproxy/fakes.hpp"
#include "unit/nodeproxy/pipeline_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::TokenRequest;

namespace {

struct CacheFixture {
  boost::asio::io_context io;
  core::FakeClock clock{1'700'000'000'000};
  FakeTokenSource upstream{io, clock};
  nodeproxy::TokenCache cache;
  explicit CacheFixture(nodeproxy::TokenCacheOptions o = {}) : cache(upstream, clock, o) {}
  core::Result<nodeproxy::Token> fetch(const std::string& client, const std::string& resource = "r1") {
    const std::string name = client == kClientA ? "id-a" : "id-b";
    return run_async(io, cache.fetch(TokenRequest{identity(name, client), resource}));
  }
};

}  // namespace

TEST_CASE("The cache serves a token until shortly before it expires", "[unit]") {
  CacheFixture fx;
  const auto first = fx.fetch(kClientA);
  REQUIRE(first.has_value());
  const auto again = fx.fetch(kClientA);
  REQUIRE(again.has_value());
  CHECK(again->access_token.value() == first->access_token.value());
  CHECK(fx.upstream.calls().size() == 1);
  CHECK(fx.cache.counters().hits == 1);

  REQUIRE(fx.fetch(kClientA, "r2").has_value());  // another resource is another key
  CHECK(fx.upstream.calls().size() == 2);

  fx.clock.advance((3600 - 301) * 1000);  // 301 s left: still served
  REQUIRE(fx.fetch(kClientA).has_value());
  CHECK(fx.upstream.calls().size() == 2);
  fx.clock.advance(2000);  // 299 s left: inside the refresh margin
  const auto refreshed = fx.fetch(kClientA);
  REQUIRE(refreshed.has_value());
  CHECK(fx.upstream.calls().size() == 3);
  CHECK(refreshed->access_token.value() != first->access_token.value());
}

namespace {

boost::asio::awaitable<void> fetch_into(nodeproxy::TokenCache& cache,
                                        std::vector<core::Result<nodeproxy::Token>>& out) {
  TokenRequest request{identity("id-a", kClientA), "r1"};
  out.push_back(co_await cache.fetch(std::move(request)));
}

boost::asio::awaitable<int> concurrent(CacheFixture& fx, std::vector<core::Result<nodeproxy::Token>>& out) {
  for (int i = 0; i < 5; ++i) boost::asio::co_spawn(fx.io, fetch_into(fx.cache, out), boost::asio::detached);
  while (fx.upstream.held() == 0 || fx.cache.counters().merged < 4)
    co_await boost::asio::post(fx.io, boost::asio::use_awaitable);
  const int held = fx.upstream.held();
  fx.upstream.release();
  while (out.size() < 5) co_await boost::asio::post(fx.io, boost::asio::use_awaitable);
  co_return held;
}

}  // namespace

TEST_CASE("Concurrent misses for one key share one upstream call", "[unit]") {
  CacheFixture fx;
  fx.upstream.hold();
  std::vector<core::Result<nodeproxy::Token>> out;
  CHECK(run_async(fx.io, concurrent(fx, out)) == 1);
  CHECK(fx.upstream.calls().size() == 1);
  REQUIRE(out.size() == 5);
  for (const auto& r : out) {
    REQUIRE(r.has_value());
    CHECK(r->access_token.value() == out[0]->access_token.value());
  }
  CHECK(fx.cache.counters().misses == 1);
  CHECK(fx.cache.counters().merged == 4);
}

TEST_CASE("Errors are not cached", "[unit]") {
  CacheFixture fx;
  fx.upstream.fail(kClientA, core::make_error(core::ErrorCode::transient, "down"));
  CHECK_FALSE(fx.fetch(kClientA).has_value());
  CHECK_FALSE(fx.fetch(kClientA).has_value());
  CHECK(fx.upstream.calls().size() == 2);
  CHECK(fx.cache.size() == 0);
  CHECK(fx.cache.counters().errors == 2);
}

TEST_CASE("The cache is bounded and evicts the token expiring first", "[unit]") {
  CacheFixture fx(nodeproxy::TokenCacheOptions{std::chrono::seconds(300), 2});
  REQUIRE(fx.fetch(kClientA, "r1").has_value());
  fx.clock.advance(1000);
  REQUIRE(fx.fetch(kClientA, "r2").has_value());
  REQUIRE(fx.fetch(kClientA, "r3").has_value());
  CHECK(fx.cache.size() == 2);
  CHECK(fx.cache.counters().evicted == 1);
  REQUIRE(fx.fetch(kClientA, "r2").has_value());  // still cached
  CHECK(fx.upstream.calls().size() == 3);
  REQUIRE(fx.fetch(kClientA, "r1").has_value());  // was evicted
  CHECK(fx.upstream.calls().size() == 4);
}

TEST_CASE("retain drops tokens of identities no pod may use any more", "[unit]") {
  CacheFixture fx;
  REQUIRE(fx.fetch(kClientA).has_value());
  REQUIRE(fx.fetch(kClientB).has_value());
  nodeproxy::NodeSnapshot s;
  s.pods.push_back(pod("a", kPodA, {identity("id-a", kClientA)}));
  fx.cache.retain(s);
  CHECK(fx.cache.size() == 1);
  REQUIRE(fx.fetch(kClientA).has_value());
  CHECK(fx.upstream.calls().size() == 2);
  REQUIRE(fx.fetch(kClientB).has_value());
  CHECK(fx.upstream.calls().size() == 3);
}

namespace {

boost::asio::awaitable<int> five_at_once(CacheFixture& fx, std::vector<core::Result<nodeproxy::Token>>& out) {
  for (int i = 0; i < 5; ++i) boost::asio::co_spawn(fx.io, fetch_into(fx.cache, out), boost::asio::detached);
  while (fx.upstream.held() < 5) co_await boost::asio::post(fx.io, boost::asio::use_awaitable);
  const int held = fx.upstream.held();
  fx.upstream.release();
  while (out.size() < 5) co_await boost::asio::post(fx.io, boost::asio::use_awaitable);
  co_return held;
}

}  // namespace

TEST_CASE("A cache of size 0 (--token-cache-size=0) sends every request upstream, concurrent ones too",
          "[unit]") {
  CacheFixture fx(nodeproxy::TokenCacheOptions{std::chrono::seconds(300), 0});
  REQUIRE(fx.fetch(kClientA).has_value());
  REQUIRE(fx.fetch(kClientA).has_value());
  CHECK(fx.upstream.calls().size() == 2);
  CHECK(fx.cache.size() == 0);
  CHECK(fx.cache.counters().hits == 0);

  fx.upstream.hold();
  std::vector<core::Result<nodeproxy::Token>> out;
  CHECK(run_async(fx.io, five_at_once(fx, out)) == 5);  // not merged into one call
  CHECK(fx.upstream.calls().size() == 7);
  CHECK(fx.cache.counters().misses == 7);
  CHECK(fx.cache.counters().merged == 0);
  for (const auto& r : out) CHECK(r.has_value());
}
