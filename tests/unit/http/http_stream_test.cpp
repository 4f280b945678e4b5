// HttpClient::stream against a hand-written chunked server: lines arrive as they are sent, split anywhere.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <deque>
#include <sstream>

#include "core/http/http_client.hpp"
#include "unit/http/run_async.hpp"

namespace asio = boost::asio;
namespace http = podid::http;
using podid::core::ErrorCode;
using podid::testing::run_async;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A scripted peer: after the request it sends `head`, then each body piece only once `gate` allows it (the
// client saw enough lines), proving the client delivers lines before the response is complete.
struct ChunkedPeer {
  std::string head{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"};
  std::vector<std::string> pieces;        // raw chunked-encoding bytes, sent one at a time
  std::vector<std::size_t> lines_before;  // piece i is sent once the client saw this many lines
  const std::vector<std::string>* seen{nullptr};
  bool close_early{false};
};

asio::awaitable<void> serve_once(tcp::acceptor& acceptor, ChunkedPeer& peer) {
  auto [aec, socket] = co_await acceptor.async_accept(kTuple);
  if (aec) co_return;
  std::string request;
  auto [rec, nr] = co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n", kTuple);
  (void)nr;
  if (rec) co_return;
  auto [hec, nh] = co_await asio::async_write(socket, asio::buffer(peer.head), kTuple);
  (void)nh;
  if (hec) co_return;
  asio::steady_timer poll{socket.get_executor()};
  for (std::size_t i = 0; i < peer.pieces.size(); ++i) {
    while (peer.seen->size() < peer.lines_before[i]) {  // wait until the client reported enough lines
      poll.expires_after(std::chrono::milliseconds(1));
      auto [pec] = co_await poll.async_wait(kTuple);
      (void)pec;
    }
    auto [wec, nw] = co_await asio::async_write(socket, asio::buffer(peer.pieces[i]), kTuple);
    (void)nw;
    if (wec) co_return;
  }
  if (!peer.close_early) {
    // Keep the connection until the client hangs up.
    std::string rest;
    auto [eec, ne] = co_await asio::async_read(socket, asio::dynamic_buffer(rest), kTuple);
    (void)eec;
    (void)ne;
  }
}

std::string chunk(const std::string& data) {
  std::ostringstream out;
  out << std::hex << data.size() << "\r\n" << data << "\r\n";
  return out.str();
}

asio::awaitable<podid::core::Result<http::Response>> stream_lines(http::HttpClient& client, std::string url,
                                                                  std::vector<std::string>& seen) {
  http::Request req;
  req.url = std::move(url);
  req.timeout = std::chrono::seconds(10);
  co_return co_await client.stream(
      std::move(req),
      [&seen](std::string_view line) {
        seen.emplace_back(line);
        return podid::core::ok();
      },
      std::chrono::seconds(5));
}

struct StreamFixture {
  StreamFixture() : acceptor(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}) {
    client = http::HttpClient::create(io.get_executor(), {}).value();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/w";
  }
  asio::io_context io;
  tcp::acceptor acceptor;
  std::unique_ptr<http::HttpClient> client;
};

}  // namespace

TEST_CASE("A stream hands over each line as soon as it arrives, across chunk boundaries", "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  // Line one is complete in the first piece; line two is split over three chunks; the second piece is only
  // sent after the client delivered line one.
  peer.pieces = {chunk("{\"a\":1}\n{\"b\""), chunk(":2"), chunk("}\n") + "0\r\n\r\n"};
  peer.lines_before = {0, 1, 1};
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  auto res = run_async(fx.io, stream_lines(*fx.client, fx.url(), seen));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(seen == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
}

TEST_CASE("A non-2xx stream response returns its body and delivers no lines", "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  const std::string body = "{\"kind\":\"Status\",\"code\":410}\n";
  peer.head = "HTTP/1.1 410 Gone\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  peer.pieces = {body};
  peer.lines_before = {0};
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  auto res = run_async(fx.io, stream_lines(*fx.client, fx.url(), seen));
  REQUIRE(res.has_value());
  CHECK(res->status == 410);
  CHECK(res->body == body);
  CHECK(seen.empty());
}

TEST_CASE("A stream cut in the middle of a chunk fails as transient after delivering complete lines",
          "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  peer.pieces = {chunk("{\"a\":1}\n"), "20\r\n{\"partial"};
  peer.lines_before = {0, 1};
  peer.close_early = true;
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  auto res = run_async(fx.io, stream_lines(*fx.client, fx.url(), seen));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::transient);
  CHECK(seen == std::vector<std::string>{"{\"a\":1}"});
}

TEST_CASE("A stream is cancelled through the awaiting coroutine's cancellation slot", "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  peer.pieces = {chunk("{\"a\":1}\n")};
  peer.lines_before = {0};
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  asio::cancellation_signal signal;
  std::optional<podid::core::Result<http::Response>> out;
  http::Request req;
  req.url = fx.url();
  asio::co_spawn(fx.io,
                 fx.client->stream(
                     req,
                     [&](std::string_view line) {
                       seen.emplace_back(line);  // the server now stays silent: cancel from outside
                       asio::post(fx.io, [&signal] { signal.emit(asio::cancellation_type::terminal); });
                       return podid::core::ok();
                     },
                     std::chrono::seconds(30)),
                 asio::bind_cancellation_slot(signal.slot(),
                                              [&](std::exception_ptr, podid::core::Result<http::Response> r) {
                                                out.emplace(std::move(r));
                                                fx.io.stop();
                                              }));
  fx.io.run_for(std::chrono::seconds(10));
  REQUIRE(out.has_value());
  REQUIRE_FALSE(out->has_value());
  CHECK(out->error().code == ErrorCode::cancelled);
  CHECK(seen.size() == 1);
}

TEST_CASE("A silent stream fails after its idle timeout", "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  peer.pieces = {};
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  http::Request req;
  req.url = fx.url();
  auto res = run_async(
      fx.io, fx.client->stream(
                 req, [](std::string_view) { return podid::core::ok(); }, std::chrono::milliseconds(200)));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::transient);
}

TEST_CASE("Reaching a stream's hard deadline ends it cleanly", "[unit]") {
  StreamFixture fx;
  std::vector<std::string> seen;
  ChunkedPeer peer;
  peer.seen = &seen;
  peer.pieces = {chunk("{\"a\":1}\n")};
  peer.lines_before = {0};
  asio::co_spawn(fx.io, serve_once(fx.acceptor, peer), asio::detached);
  http::Request req;
  req.url = fx.url();
  req.timeout = std::chrono::milliseconds(300);
  auto res = run_async(fx.io, fx.client->stream(
                                  req,
                                  [&seen](std::string_view line) {
                                    seen.emplace_back(line);
                                    return podid::core::ok();
                                  },
                                  std::chrono::seconds(30)));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(seen.size() == 1);
}
