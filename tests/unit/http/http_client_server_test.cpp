// HttpClient against HttpServer on loopback: plain HTTP, keep-alive reuse, timeouts, limits, malformed input.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "unit/http/http_server_fixture.hpp"

using podid::core::ErrorCode;
using podid::testing::run_async;
using podid::testing::send;
using podid::testing::ServerFixture;
namespace asio = boost::asio;

namespace {

// Sends raw bytes on a fresh connection and returns everything the server answered until it closed.
asio::awaitable<std::string> raw_peer(std::uint16_t port, std::string bytes) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  asio::ip::tcp::socket socket{co_await asio::this_coro::executor};
  auto [cec] = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, tuple);
  if (cec) co_return "connect failed";
  auto [wec, nw] = co_await asio::async_write(socket, asio::buffer(bytes), tuple);
  (void)wec;
  (void)nw;
  std::string answer;
  auto [rec, nr] = co_await asio::async_read(socket, asio::dynamic_buffer(answer), tuple);
  (void)rec;  // eof: the server closed after answering
  (void)nr;
  co_return answer;
}

std::string raw_exchange(ServerFixture& fx, const std::string& bytes) {
  return run_async(fx.io, raw_peer(fx.server->port(), bytes));
}

}  // namespace

TEST_CASE("A client gets the server's reply over plain HTTP on loopback", "[unit]") {
  ServerFixture fx;
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "POST", fx.base() + "/things?x=1", "hello"));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(res->body == "POST /things?x=1 probe-value hello");
  CHECK(res->header("x-peer") == std::optional<std::string_view>{"127.0.0.1"});
}

TEST_CASE("A client reuses one keep-alive connection for consecutive requests to a host", "[unit]") {
  ServerFixture fx;
  auto client = fx.client();
  for (int i = 0; i < 3; ++i) {
    auto res = run_async(fx.io, send(*client, "GET", fx.base() + "/n" + std::to_string(i)));
    REQUIRE(res.has_value());
    CHECK(res->body == "GET /n" + std::to_string(i) + " probe-value ");
  }
  CHECK(client->connections_opened() == 1);
  CHECK(client->idle_connections() == 1);
  CHECK(fx.server->counters().accepted == 1);
}

TEST_CASE("A request to a server that closed the pooled connection is retried on a fresh one", "[unit]") {
  auto fx = std::make_unique<ServerFixture>();
  auto client = fx->client();
  REQUIRE(run_async(fx->io, send(*client, "GET", fx->base() + "/a")).has_value());
  REQUIRE(client->idle_connections() == 1);
  // Stopping the server closes its side of the pooled connection; a new server takes the same port.
  podid::http::ServerOptions options;
  options.port = fx->server->port();
  const auto base = fx->base();
  run_async(fx->io, fx->server->stop());
  auto replacement = podid::http::HttpServer::create(
      fx->io.get_executor(), options,
      [&fx](podid::http::Request r) { return podid::testing::echo_handler(&fx->release, std::move(r)); });
  REQUIRE(replacement.has_value());
  (*replacement)->start();
  auto res = run_async(fx->io, send(*client, "GET", base + "/b"));
  INFO((res ? std::string{"ok"} : res.error().describe()));
  REQUIRE(res.has_value());
  CHECK(res->body == "GET /b probe-value ");
  CHECK(client->connections_opened() == 2);
  run_async(fx->io, (*replacement)->stop());
  fx->server = std::move(*replacement);
}

TEST_CASE("HTTP error statuses come back as responses, not transport errors", "[unit]") {
  ServerFixture fx;
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "GET", fx.base() + "/status/404"));
  REQUIRE(res.has_value());
  CHECK(res->status == 404);
}

TEST_CASE("A request past its deadline fails as transient and the server survives", "[unit]") {
  ServerFixture fx;
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "GET", fx.base() + "/slow", "", std::chrono::milliseconds(200)));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::transient);
  CHECK(res.error().message.find("Timed out") != std::string::npos);
  fx.release.cancel();
  auto again = run_async(fx.io, send(*client, "GET", fx.base() + "/fine"));
  REQUIRE(again.has_value());
  CHECK(again->status == 200);
}

TEST_CASE("Connecting to a closed port fails as transient", "[unit]") {
  ServerFixture fx;
  const auto port = fx.server->port();
  run_async(fx.io, fx.server->stop());
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "GET", "http://127.0.0.1:" + std::to_string(port) + "/"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::transient);
}

TEST_CASE("A bad URL is refused as invalid", "[unit]") {
  ServerFixture fx;
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "GET", "ftp://example/"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::invalid);
}

TEST_CASE("A malformed request gets 400 and the server keeps serving", "[unit]") {
  ServerFixture fx;
  const auto answer = raw_exchange(fx, "THIS IS NOT HTTP\r\n\r\n");
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  auto client = fx.client();
  auto res = run_async(fx.io, send(*client, "GET", fx.base() + "/after"));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
}

TEST_CASE("An oversized request body gets 413", "[unit]") {
  podid::http::ServerOptions options;
  options.body_limit = 16;
  ServerFixture fx{options};
  const auto answer =
      raw_exchange(fx, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
  CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(fx.server->counters().rejected == 1);
}

TEST_CASE("An oversized request header gets 431", "[unit]") {
  podid::http::ServerOptions options;
  options.header_limit = 256;
  ServerFixture fx{options};
  const auto answer =
      raw_exchange(fx, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'b') + "\r\n\r\n");
  CHECK(answer.rfind("HTTP/1.1 431", 0) == 0);
}
