// ImdsTokenSource against IMDS's limits (5 requests at once, 20/s, 429 beyond): a 429 is retried after its
// Retry-After within the deadline, and concurrent calls beyond the bound wait for a slot instead of
// reaching IMDS, so pods of a node asking at once are not answered 429 (issue 6's burst).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "nodeproxy/imds_token_source.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/tests/test_client.hpp"
#include "unit/nodeproxy/sources_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::TokenRequest;

namespace {

constexpr const char* kToken =
    R"({"access_token":"abc","expires_in":"86399","expires_on":"1700086399","not_before":"1699999999",
        "resource":"r","token_type":"Bearer","client_id":"c-a"})";

boost::asio::awaitable<void> fetch_into(nodeproxy::ImdsTokenSource& source, std::string client_id,
                                        std::string resource,
                                        std::vector<core::Result<nodeproxy::Token>>& out) {
  TokenRequest request{identity("id-a", client_id), std::move(resource)};
  out.push_back(co_await source.fetch(std::move(request)));
}

boost::asio::awaitable<void> all_at_once(boost::asio::io_context& io, nodeproxy::ImdsTokenSource& source,
                                         const std::string& client_id, int n,
                                         std::vector<core::Result<nodeproxy::Token>>& out) {
  for (int i = 0; i < n; ++i)
    boost::asio::co_spawn(io, fetch_into(source, client_id, "https://r" + std::to_string(i) + "/", out),
                          boost::asio::detached);
  while (out.size() < static_cast<std::size_t>(n)) {
    boost::asio::steady_timer tick(io, std::chrono::milliseconds(5));
    auto [ec] = co_await tick.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    static_cast<void>(ec);
  }
}

}  // namespace

TEST_CASE("A 429 from IMDS is retried after its Retry-After when that fits in the deadline", "[unit]") {
  SourcesFixture fx;
  nodeproxy::ImdsTokenSource source(*fx.client, fx.upstream.url(), fx.clock, std::chrono::seconds(5));
  fx.upstream.respond = [&fx](const http::Request&) {
    http::Response r;
    r.status = fx.upstream.calls.size() == 1 ? 429 : 200;
    r.body = r.status == 429 ? R"({"error":"too_many_requests"})" : kToken;
    if (r.status == 429) r.headers.emplace_back("Retry-After", "1");
    return r;
  };
  auto t = run_async(fx.io, source.fetch(TokenRequest{identity("id-a", "c-a"), "r"}));
  REQUIRE(t.has_value());
  CHECK(t->access_token.value() == "abc");
  CHECK(fx.upstream.calls.size() == 2);
}

TEST_CASE("Concurrent IMDS calls beyond the bound wait for a slot instead of being throttled", "[unit]") {
  auto config = emulator::testing::small_cloud();
  config.imds_max_concurrent = 2;
  config.imds_rate = {1000, 1000};  // only the concurrency limit matters here
  emulator::Emulator emu(config);
  REQUIRE(emu.start());
  const auto imds = emu.serve_imds(emulator::testing::vm_id("vm-0"), std::nullopt);
  REQUIRE(imds.has_value());
  const auto id = emu.identity(emulator::testing::identity_id("id-a"));
  REQUIRE(id.has_value());

  SourcesFixture fx;
  nodeproxy::ImdsTokenSource source(*fx.client, *imds, fx.clock, std::chrono::seconds(5), 2);
  std::vector<core::Result<nodeproxy::Token>> out;
  run_async(fx.io, all_at_once(fx.io, source, id->client_id, 24, out));
  REQUIRE(out.size() == 24);
  for (const auto& r : out) CHECK(r.has_value());
  CHECK(emu.counter("imds.throttled") == 0);
  CHECK(emu.counter("imds.requests") == 24);
}
