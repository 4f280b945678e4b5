#include "core/http/detail/connection.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <variant>

#include "core/http/detail/transport_error.hpp"

namespace podid::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

bhttp::request<bhttp::string_body> to_beast(const Request& request, const Url& url,
                                            std::string_view user_agent) {
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  req.method_string(request.method);
  req.target(url.target);
  req.set(bhttp::field::host, url.authority());
  req.set(bhttp::field::user_agent, user_agent);
  for (const auto& [name, value] : request.headers) req.insert(name, value);
  req.body() = request.body;
  req.prepare_payload();
  req.keep_alive(true);
  return req;
}

template <class Fields>
Headers from_beast(const Fields& fields) {
  Headers out;
  for (const auto& field : fields)
    out.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  return out;
}

}  // namespace

Connection::Connection(asio::any_io_executor executor, ssl::context* tls) {
  if (tls != nullptr) {
    tls_.emplace(beast::tcp_stream{executor}, *tls);
  } else {
    plain_.emplace(executor);
  }
}

Connection::~Connection() = default;

beast::tcp_stream& Connection::tcp() {
  return tls_ ? tls_->next_layer() : *plain_;
}

asio::awaitable<core::Result<std::unique_ptr<Connection>>> Connection::open(asio::any_io_executor executor,
                                                                            ssl::context* tls, const Url& url,
                                                                            const std::string& server_name,
                                                                            bool verify,
                                                                            Clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  std::unique_ptr<Connection> conn{new Connection(executor, url.tls() ? tls : nullptr)};
  tcp::resolver resolver{executor};
  asio::steady_timer timer{executor, deadline};
  const auto flags = is_ip_literal(url.host) ? tcp::resolver::numeric_host : tcp::resolver::flags{};
  auto raced =
      co_await (resolver.async_resolve(url.host, url.port, flags, kTuple) || timer.async_wait(kTuple));
  if (raced.index() == 1)
    co_return core::make_error(core::ErrorCode::transient, "Timed out resolving " + url.host);
  auto [rec, endpoints] = std::get<0>(std::move(raced));
  if (rec) co_return transport_error(rec, "resolving " + url.host);

  conn->tcp().expires_at(deadline);
  auto [cec, endpoint] = co_await conn->tcp().async_connect(endpoints, kTuple);
  if (cec) co_return transport_error(cec, "connecting to " + url.authority());
  (void)endpoint;
  conn->tcp().socket().set_option(tcp::no_delay{true});
  conn->tcp().socket().set_option(asio::socket_base::keep_alive{true});

  if (conn->tls_) {
    const std::string& name = server_name.empty() ? url.host : server_name;
    if (!is_ip_literal(name) && SSL_ctrl(conn->tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                         TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str())) != 1) {
      co_return core::make_error(core::ErrorCode::invalid, "Could not set SNI for " + name);
    }
    if (verify) {
      conn->tls_->set_verify_mode(ssl::verify_peer);
      conn->tls_->set_verify_callback(ssl::host_name_verification(name));
    } else {
      conn->tls_->set_verify_mode(ssl::verify_none);
    }
    auto [hec] = co_await conn->tls_->async_handshake(ssl::stream_base::client, kTuple);
    if (hec) co_return transport_error(hec, "TLS handshake with " + url.authority());
  }
  co_return conn;
}

template <class Stream>
asio::awaitable<core::Result<Response>> Connection::exchange_on(Stream& s, const Request& request,
                                                                const Url& url, const ExchangeLimits& limits,
                                                                bool& nothing_received) {
  reusable_ = false;
  nothing_received = true;
  auto req = to_beast(request, url, limits.user_agent);
  tcp().expires_at(limits.deadline);
  auto [wec, written] = co_await bhttp::async_write(s, req, kTuple);
  (void)written;
  if (wec) co_return transport_error(wec, "writing request to " + url.authority());

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(limits.body_limit);
  tcp().expires_at(limits.deadline);
  const auto before = buffer_.size();
  auto [rec, read] = co_await bhttp::async_read(s, buffer_, parser, kTuple);
  if (rec) {
    nothing_received = read == 0 && buffer_.size() == before &&
                       (rec == bhttp::error::end_of_stream || rec == asio::error::eof ||
                        rec == asio::error::connection_reset || rec == ssl::error::stream_truncated);
    co_return transport_error(rec, "reading response from " + url.authority());
  }
  nothing_received = false;
  auto res = parser.release();
  reusable_ = res.keep_alive();
  co_return Response{static_cast<int>(res.result_int()), from_beast(res.base()), std::move(res.body())};
}

template <class Stream>
asio::awaitable<core::Result<Response>> Connection::stream_on(Stream& s, const Request& request,
                                                              const Url& url, const ExchangeLimits& limits,
                                                              std::chrono::milliseconds idle,
                                                              LineSplitter& splitter,
                                                              const LineSplitter::LineHandler& on_line) {
  reusable_ = false;
  auto req = to_beast(request, url, limits.user_agent);
  tcp().expires_at(limits.deadline);
  auto [wec, written] = co_await bhttp::async_write(s, req, kTuple);
  (void)written;
  if (wec) co_return transport_error(wec, "writing request to " + url.authority());

  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  tcp().expires_at(std::min(limits.deadline, Clock::now() + idle));
  auto [hec, hread] = co_await bhttp::async_read_header(s, buffer_, parser, kTuple);
  (void)hread;
  if (hec) co_return transport_error(hec, "reading response header from " + url.authority());
  Response response{static_cast<int>(parser.get().result_int()), from_beast(parser.get().base()), {}};
  const bool streaming = response.success();

  std::array<char, 16384> chunk{};
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    const bool hard = limits.deadline <= Clock::now() + idle;
    tcp().expires_at(hard ? limits.deadline : Clock::now() + idle);
    auto [ec, n] = co_await bhttp::async_read_some(s, buffer_, parser, kTuple);
    (void)n;
    if (ec == bhttp::error::need_buffer) ec = {};
    const auto got = chunk.size() - parser.get().body().size;
    const std::string_view data{chunk.data(), got};
    if (streaming) {
      PODID_CO_TRY(splitter.feed(data, on_line));
    } else if (response.body.size() + got > limits.body_limit) {
      co_return core::make_error(core::ErrorCode::invalid, "Error response body exceeded the size limit");
    } else {
      response.body.append(data);
    }
    if (ec == beast::error::timeout && hard && streaming)
      co_return response;  // the hard deadline: a clean end
    if (ec) co_return transport_error(ec, "reading stream from " + url.authority());
  }
  if (streaming) PODID_CO_TRY(splitter.finish(on_line));
  co_return response;
}

asio::awaitable<core::Result<Response>> Connection::exchange(const Request& request, const Url& url,
                                                             const ExchangeLimits& limits,
                                                             bool& nothing_received) {
  if (tls_) co_return co_await exchange_on(*tls_, request, url, limits, nothing_received);
  co_return co_await exchange_on(*plain_, request, url, limits, nothing_received);
}

asio::awaitable<core::Result<Response>> Connection::stream(const Request& request, const Url& url,
                                                           const ExchangeLimits& limits,
                                                           std::chrono::milliseconds idle,
                                                           LineSplitter& splitter,
                                                           const LineSplitter::LineHandler& on_line) {
  if (tls_) co_return co_await stream_on(*tls_, request, url, limits, idle, splitter, on_line);
  co_return co_await stream_on(*plain_, request, url, limits, idle, splitter, on_line);
}

}  // namespace podid::http::detail
