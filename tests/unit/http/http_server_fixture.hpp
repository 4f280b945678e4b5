#pragma once
// Test fixture: an HttpServer on loopback with an echo handler, and a client, on one io_context.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>

#include "core/http/http_client.hpp"
#include "core/http/http_server.hpp"
#include "unit/http/run_async.hpp"

namespace podid::testing {

// Replies with the method, target and body; "/slow" waits until `release` is cancelled; "/status/N" answers
// N.
inline boost::asio::awaitable<http::Response> echo_handler(boost::asio::steady_timer* release,
                                                           http::Request req) {
  if (req.url == "/slow") {
    auto [ec] = co_await release->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)ec;
  }
  http::Response res;
  res.status = 200;
  if (req.url.rfind("/status/", 0) == 0) res.status = std::stoi(req.url.substr(8));
  res.headers.emplace_back("Content-Type", "text/plain");
  res.headers.emplace_back("X-Peer", req.remote_address);
  const auto probe = req.header("X-Probe");
  res.body = req.method + " " + req.url + " " + std::string{probe.value_or("")} + " " + req.body;
  co_return res;
}

struct ServerFixture {
  explicit ServerFixture(http::ServerOptions options = {}) : release(io) {
    release.expires_at(boost::asio::steady_timer::time_point::max());
    auto created = http::HttpServer::create(io.get_executor(), std::move(options), [this](http::Request r) {
      return echo_handler(&release, std::move(r));
    });
    if (!created) throw std::runtime_error(created.error().describe());
    server = std::move(*created);
    server->start();
  }
  ~ServerFixture() {
    release.cancel();
    run_async(io, server->stop());
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  [[nodiscard]] std::string base(const std::string& scheme = "http",
                                 const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(server->port());
  }
  std::unique_ptr<http::HttpClient> client(http::ClientOptions options = {}) {
    auto created = http::HttpClient::create(io.get_executor(), std::move(options));
    if (!created) throw std::runtime_error(created.error().describe());
    return std::move(*created);
  }

  boost::asio::io_context io;
  boost::asio::steady_timer release;
  std::unique_ptr<http::HttpServer> server;
};

inline boost::asio::awaitable<core::Result<http::Response>> send(
    http::HttpClient& client, std::string method, std::string url, std::string body = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  http::Request req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.body = std::move(body);
  req.timeout = timeout;
  req.headers.emplace_back("X-Probe", "probe-value");
  co_return co_await client.request(std::move(req));
}

}  // namespace podid::testing
