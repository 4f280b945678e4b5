#pragma once
// HttpServer: a listener plus one session coroutine per connection (plain TCP, or TLS when configured) that
// reads HTTP/1.1 requests with size limits and a read deadline, calls the async handler, and writes the
// response, keeping the connection alive when the client asks. Malformed requests get 400, oversized
// bodies 413, oversized headers 431; the connection is then closed.
//
// Thread-safety: run it on a single-threaded executor (or a strand). Lifetime: create, start(), and
// `co_await stop()` before destroying it; stop() closes the listener and every session and waits for them.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/http/message.hpp"
#include "core/http/tls_config.hpp"
#include "core/result.hpp"

namespace podid::http {

struct ServerOptions {
  std::string address{"127.0.0.1"};  // the caller decides where to bind
  std::uint16_t port{0};             // 0: an ephemeral port, see HttpServer::port()
  std::optional<TlsServerConfig> tls;
  std::uint32_t header_limit{16U * 1024U};
  std::uint64_t body_limit{1U << 20U};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // to receive one whole request
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::size_t max_connections{256};  // further connections are accepted and closed at once
};

struct ServerCounters {
  std::uint64_t accepted{0};
  std::uint64_t requests{0};
  std::uint64_t rejected{0};  // malformed, oversized, or over max_connections
};

class HttpServer {
 public:
  using Handler = std::function<boost::asio::awaitable<Response>(Request)>;

  // Binds and listens; fails (invalid/io/transient) when the address or TLS material is unusable.
  [[nodiscard]] static core::Result<std::unique_ptr<HttpServer>> create(
      const boost::asio::any_io_executor& executor, ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  [[nodiscard]] boost::asio::awaitable<void> stop();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] ServerCounters counters() const;

 private:
  struct State;
  explicit HttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace podid::http
