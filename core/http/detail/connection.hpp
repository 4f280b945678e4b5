#pragma once
// Internal: one client connection (plain TCP or TLS over TCP) that performs HTTP/1.1 exchanges against an
// absolute deadline. Only core/http/*.cpp include this header: it pulls in Beast and Asio SSL.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "core/http/line_splitter.hpp"
#include "core/http/message.hpp"
#include "core/http/url.hpp"
#include "core/result.hpp"

namespace podid::http::detail {

using Clock = std::chrono::steady_clock;

struct ExchangeLimits {
  Clock::time_point deadline;
  std::uint64_t body_limit{0};
  std::string_view user_agent;
};

class Connection {
 public:
  // Resolves, connects and (for https) handshakes with SNI and host-name verification before the deadline.
  [[nodiscard]] static boost::asio::awaitable<core::Result<std::unique_ptr<Connection>>> open(
      boost::asio::any_io_executor executor, boost::asio::ssl::context* tls, const Url& url,
      const std::string& server_name, bool verify, Clock::time_point deadline);

  // Writes the request and reads the whole response. `nothing_received` tells the caller whether a failure
  // happened before any response byte (a stale keep-alive connection: safe to retry on a new one).
  [[nodiscard]] boost::asio::awaitable<core::Result<Response>> exchange(const Request& request,
                                                                        const Url& url,
                                                                        const ExchangeLimits& limits,
                                                                        bool& nothing_received);

  // Writes the request and streams the body lines of a 2xx response to on_line (see HttpClient::stream).
  [[nodiscard]] boost::asio::awaitable<core::Result<Response>> stream(
      const Request& request, const Url& url, const ExchangeLimits& limits, std::chrono::milliseconds idle,
      LineSplitter& splitter, const LineSplitter::LineHandler& on_line);

  [[nodiscard]] bool reusable() const noexcept { return reusable_; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

 private:
  explicit Connection(boost::asio::any_io_executor executor, boost::asio::ssl::context* tls);
  boost::beast::tcp_stream& tcp();

  template <class Stream>
  boost::asio::awaitable<core::Result<Response>> exchange_on(Stream& s, const Request& request,
                                                             const Url& url, const ExchangeLimits& limits,
                                                             bool& nothing_received);
  template <class Stream>
  boost::asio::awaitable<core::Result<Response>> stream_on(Stream& s, const Request& request, const Url& url,
                                                           const ExchangeLimits& limits,
                                                           std::chrono::milliseconds idle,
                                                           LineSplitter& splitter,
                                                           const LineSplitter::LineHandler& on_line);

  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream>> tls_;
  boost::beast::flat_buffer buffer_;
  bool reusable_{false};
};

}  // namespace podid::http::detail
