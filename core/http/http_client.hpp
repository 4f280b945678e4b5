#pragma once
// HttpClient: HTTP/1.1 over TCP or TLS (Beast + OpenSSL) with a deadline per request, host-name verification,
// SNI, keep-alive connection reuse per host, and a streaming mode that hands body lines to a callback as they
// arrive (Kubernetes watches). Transport failures come back classified as core::Error; HTTP error statuses
// come back as responses (the caller classifies their bodies).
//
// Thread-safety: not thread-safe; use one client from one thread or strand. Lifetime: must outlive every
// request() and stream() it started. Cancellation: both operations honour the awaiting coroutine's
// cancellation slot (result: ErrorCode::cancelled).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "core/http/message.hpp"
#include "core/http/tls_config.hpp"
#include "core/result.hpp"

namespace podid::http {

struct ClientOptions {
  TlsClientConfig tls;
  std::string user_agent{"podid/0.1"};
  std::size_t max_idle_per_host{4};
  std::uint64_t body_limit{std::uint64_t{64} << 20U};  // for request(); streams are unlimited
  std::size_t max_line{std::size_t{16} << 20U};        // for stream(): one line (one watch event)
};

class HttpClient {
 public:
  using LineHandler = std::function<core::Status(std::string_view line)>;

  // Fails (invalid/io) when the TLS material cannot be loaded.
  [[nodiscard]] static core::Result<std::unique_ptr<HttpClient>> create(boost::asio::any_io_executor executor,
                                                                        ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange. request.url is absolute; request.timeout bounds the whole exchange. A stale pooled
  // connection that fails before any response byte is retried once on a fresh connection.
  [[nodiscard]] boost::asio::awaitable<core::Result<Response>> request(Request request);

  // Streams the response body. For a 2xx status every complete line goes to on_line as soon as it arrives
  // and the returned response has an empty body when the stream ends; otherwise the whole body is read and
  // returned (on_line is not called). request.timeout is the hard deadline (reaching it is a clean end:
  // the response is returned); idle_timeout bounds the silence between two reads (transient error).
  // An error from on_line stops the stream and is returned. Stream connections are never pooled.
  [[nodiscard]] boost::asio::awaitable<core::Result<Response>> stream(Request request, LineHandler on_line,
                                                                      std::chrono::milliseconds idle_timeout);

  // Drops pooled idle connections (e.g. after credentials changed).
  void close_idle();
  [[nodiscard]] std::size_t idle_connections() const;
  [[nodiscard]] std::uint64_t connections_opened() const;

 private:
  struct State;
  explicit HttpClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace podid::http
