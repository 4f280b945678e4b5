#include "tests/emulator/http_listener.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>

namespace podid::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
constexpr auto kIdleTimeout = 60s;

struct HttpListener::State {
  explicit State(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls;
  HttpHandler handler;
  std::size_t body_limit{0};
  std::string base_url;
  std::uint16_t port{0};
};

namespace {

HttpRequest to_request(const http::request<http::string_body>& req, const std::string& base_url) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  const std::size_t q = out.target.find('?');
  out.path = url_decode(std::string_view(out.target).substr(0, q));
  if (q != std::string::npos) out.query = parse_form(std::string_view(out.target).substr(q + 1));
  for (const auto& field : req) out.headers[std::string(field.name_string())] = std::string(field.value());
  out.body = req.body();
  out.base_url = base_url;
  return out;
}

http::response<http::string_body> to_beast(const HttpResponse& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "podid-azure-emulator");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

HttpResponse parse_failure(const beast::error_code& ec) {
  const bool too_large = ec == http::error::body_limit;
  const bool header_large = ec == http::error::header_limit;
  boost::json::object err{{"code", too_large ? "RequestEntityTooLarge" : "BadRequest"},
                          {"message", too_large ? "The request content exceeds the maximum size allowed."
                                                : "The request could not be parsed: " + ec.message()}};
  return json_response(too_large ? 413U : (header_large ? 431U : 400U), boost::json::object{{"error", err}});
}

// Serves requests until the connection ends; true when it ended cleanly (a TLS shutdown is then due).
template <class Stream>
asio::awaitable<bool> serve(Stream& stream, std::shared_ptr<HttpListener::State> st) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(st->body_limit);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTok);
    (void)n;
    // Only a malformed request gets an answer; a closed, reset, truncated or idle connection just ends.
    if (ec && ec.category() != make_error_code(http::error::bad_target).category()) co_return false;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) co_return false;
    HttpResponse response;
    bool keep_alive = true;
    unsigned version = 11;
    if (ec) {
      response = parse_failure(ec);
      keep_alive = false;
    } else {
      const auto& req = parser.get();
      keep_alive = req.keep_alive();
      version = req.version();
      response = st->handler(to_request(req, st->base_url));
    }
    if (response.hang) {
      // Never answer: hold the connection (and the response's lease) until the client gives up.
      beast::get_lowest_layer(stream).expires_never();
      std::array<char, 512> sink{};
      for (;;) {
        auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kTok);
        (void)rn;
        if (rec) co_return false;
      }
    }
    if (response.delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(response.delay);
      auto [tec] = co_await timer.async_wait(kTok);
      if (tec) co_return false;
    }
    auto res = to_beast(response, version, keep_alive);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kTok);
    (void)wn;
    if (wec) co_return false;
    if (!keep_alive) break;
  }
  co_return true;
}

asio::awaitable<void> plain_session(tcp::socket socket, std::shared_ptr<HttpListener::State> st) {
  beast::tcp_stream stream(std::move(socket));
  if (co_await serve(stream, std::move(st))) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

asio::awaitable<void> tls_session(tcp::socket socket, std::shared_ptr<HttpListener::State> st) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *st->tls);
  beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTok);
  if (ec) co_return;
  if (co_await serve(stream, st)) {
    beast::get_lowest_layer(stream).expires_after(5s);
    auto [sec] = co_await stream.async_shutdown(kTok);
    (void)sec;
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<HttpListener::State> st) {
  for (;;) {
    // Each connection lives on its own strand: tcp_stream's timer and I/O must not run concurrently.
    auto [ec, socket] =
        co_await st->acceptor.async_accept(asio::make_strand(st->acceptor.get_executor()), kTok);
    if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
    if (ec) continue;
    const auto executor = socket.get_executor();
    if (st->tls) {
      asio::co_spawn(executor, tls_session(std::move(socket), st), asio::detached);
    } else {
      asio::co_spawn(executor, plain_session(std::move(socket), st), asio::detached);
    }
  }
}

}  // namespace

core::Result<std::unique_ptr<HttpListener>> HttpListener::open(asio::io_context& io,
                                                               const ListenerOptions& options,
                                                               HttpHandler handler) {
  auto st = std::make_shared<State>(io);
  st->handler = std::move(handler);
  st->body_limit = options.body_limit;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return core::make_error(core::ErrorCode::invalid, "bad bind address " + options.address);
  const tcp::endpoint endpoint(address, options.port);
  st->acceptor.open(endpoint.protocol(), ec);
  if (!ec) st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(endpoint, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::make_error(core::ErrorCode::io, "cannot listen on " + options.address + ": " + ec.message());
  st->port = st->acceptor.local_endpoint().port();
  if (options.tls) {
    st->tls.emplace(asio::ssl::context::tls_server);
    st->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    st->tls->use_certificate_chain(asio::buffer(options.tls->cert_chain_pem), ec);
    if (!ec) st->tls->use_private_key(asio::buffer(options.tls->key_pem), asio::ssl::context::pem, ec);
    if (ec) return core::make_error(core::ErrorCode::invalid, "bad TLS material: " + ec.message());
  }
  std::string host = address.is_unspecified()
                         ? (address.is_v6() ? "[::1]" : "127.0.0.1")
                         : (address.is_v6() ? "[" + options.address + "]" : options.address);
  st->base_url = std::string(options.tls ? "https://" : "http://") + host + ":" + std::to_string(st->port);
  asio::co_spawn(io, accept_loop(st), asio::detached);
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(st)));
}

HttpListener::~HttpListener() {
  close();
}

std::uint16_t HttpListener::port() const noexcept {
  return state_->port;
}

std::string HttpListener::url() const {
  return state_->base_url;
}

void HttpListener::close() {
  asio::post(state_->acceptor.get_executor(), [st = state_] {
    boost::system::error_code ignored;
    st->acceptor.close(ignored);
  });
}

}  // namespace podid::emulator
