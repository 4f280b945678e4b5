#include "core/http/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <map>

#include "core/http/detail/ssl_context.hpp"

namespace podid::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct HttpServer::State : std::enable_shared_from_this<State> {
  State(const asio::any_io_executor& ex, ServerOptions opts, Handler h)
      : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex), drained(ex) {}

  asio::any_io_executor executor;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  std::map<std::uint64_t, tcp::socket*> sessions;  // to close them on stop()
  std::uint64_t next_id{0};
  bool stopping{false};
  bool accepting{false};
  asio::steady_timer drained;  // cancelled when the last coroutine finished after stop()
  ServerCounters counters;

  void finished_one() {
    if (stopping && sessions.empty() && !accepting) drained.cancel();
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& transport, const std::string& peer);
};

namespace {

bhttp::response<bhttp::string_body> plain_response(bhttp::status status, std::string_view text) {
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::string{text} + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

}  // namespace

template <class Stream>
asio::awaitable<void> HttpServer::State::serve(Stream& stream, beast::tcp_stream& transport,
                                               const std::string& peer) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(options.header_limit);
    parser.body_limit(options.body_limit);
    transport.expires_after(options.read_timeout);
    auto [rec, nread] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    (void)nread;
    if (rec == bhttp::error::end_of_stream || rec == asio::error::operation_aborted ||
        rec == beast::error::timeout || rec == asio::error::eof || rec == asio::error::connection_reset ||
        rec == ssl::error::stream_truncated) {
      co_return;  // the peer went away, was idle too long, or we are stopping
    }
    std::optional<bhttp::response<bhttp::string_body>> reply;
    if (rec == bhttp::error::body_limit) {
      reply = plain_response(bhttp::status::payload_too_large, "Request body too large");
    } else if (rec == bhttp::error::header_limit) {
      reply = plain_response(bhttp::status::request_header_fields_too_large, "Request header too large");
    } else if (rec) {
      reply = plain_response(bhttp::status::bad_request, "Malformed request");
    }
    if (reply) {
      ++counters.rejected;
      transport.expires_after(options.write_timeout);
      auto [wec, nw] = co_await bhttp::async_write(stream, *reply, kTuple);
      (void)wec;  // closing anyway: a failed error reply changes nothing
      (void)nw;
      co_return;
    }
    ++counters.requests;
    auto req = parser.release();
    Request request;
    request.method = std::string{req.method_string()};
    request.url = std::string{req.target()};
    for (const auto& field : req) request.headers.emplace_back(field.name_string(), field.value());
    request.body = std::move(req.body());
    request.remote_address = peer;
    const bool keep_alive = req.keep_alive();
    Response response = co_await handler(std::move(request));

    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) res.insert(name, value);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive && !stopping);
    res.prepare_payload();
    transport.expires_after(options.write_timeout);
    auto [wec, nw] = co_await bhttp::async_write(stream, res, kTuple);
    (void)nw;
    if (wec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> HttpServer::State::session(tcp::socket socket) {
  auto self = shared_from_this();
  const auto id = next_id++;
  boost::system::error_code pec;
  const auto remote = socket.remote_endpoint(pec);
  const std::string peer = pec ? std::string{} : remote.address().to_string();
  beast::tcp_stream transport{std::move(socket)};
  sessions[id] = &transport.socket();
  if (tls) {
    ssl::stream<beast::tcp_stream&> stream{transport, *tls};
    transport.expires_after(options.read_timeout);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (!hec) {
      co_await serve(stream, transport, peer);
      transport.expires_after(options.write_timeout);
      auto [sec] = co_await stream.async_shutdown(kTuple);
      (void)sec;  // best effort: the socket is closed below either way
    } else {
      ++counters.rejected;
    }
  } else {
    co_await serve(transport, transport, peer);
    boost::system::error_code ec;
    transport.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  sessions.erase(id);
  finished_one();
}

asio::awaitable<void> HttpServer::State::accept_loop() {
  auto self = shared_from_this();
  accepting = true;
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) break;
      continue;  // e.g. ECONNABORTED or EMFILE on one connection: keep listening
    }
    ++counters.accepted;
    if (sessions.size() >= options.max_connections) {
      ++counters.rejected;
      continue;  // the socket closes when it goes out of scope
    }
    // Answers are written whole: without TCP_NODELAY a small answer (a long-poll line, a token) can wait
    // for the peer's delayed ACK (Nagle), tens of milliseconds on loopback.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    asio::co_spawn(executor, session(std::move(socket)), asio::detached);
  }
  accepting = false;
  finished_one();
}

HttpServer::HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
HttpServer::~HttpServer() = default;

core::Result<std::unique_ptr<HttpServer>> HttpServer::create(const asio::any_io_executor& executor,
                                                             ServerOptions options, Handler handler) {
  auto state = std::make_shared<State>(executor, std::move(options), std::move(handler));
  if (state->options.tls) state->tls.emplace(PODID_TRY(detail::make_server_context(*state->options.tls)));
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(state->options.address, ec);
  if (ec) return core::make_error(core::ErrorCode::invalid, "Bad bind address " + state->options.address);
  const tcp::endpoint endpoint{address, state->options.port};
  auto& acc = state->acceptor;
  if (acc.open(endpoint.protocol(), ec); !ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::make_error(core::ErrorCode::io,
                            "Could not listen on " + state->options.address + ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

void HttpServer::start() {
  asio::co_spawn(state_->executor, state_->accept_loop(), asio::detached);
}

asio::awaitable<void> HttpServer::stop() {
  auto state = state_;
  state->stopping = true;
  boost::system::error_code ec;
  state->acceptor.close(ec);
  for (auto& [id, socket] : state->sessions) socket->close(ec);
  if (!state->sessions.empty() || state->accepting) {
    state->drained.expires_at(asio::steady_timer::time_point::max());
    auto [wec] = co_await state->drained.async_wait(kTuple);
    (void)wec;  // cancelled on purpose when drained
  }
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

ServerCounters HttpServer::counters() const {
  return state_->counters;
}

}  // namespace podid::http
