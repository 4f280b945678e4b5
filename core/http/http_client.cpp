#include "core/http/http_client.hpp"

#include <boost/asio/ssl/context.hpp>
#include <map>
#include <vector>

#include "core/http/detail/connection.hpp"
#include "core/http/detail/ssl_context.hpp"

namespace podid::http {
namespace asio = boost::asio;
using detail::Clock;
using detail::Connection;

struct HttpClient::State {
  State(asio::any_io_executor ex, ClientOptions opts, asio::ssl::context ctx)
      : executor(std::move(ex)), options(std::move(opts)), tls(std::move(ctx)) {}

  asio::any_io_executor executor;
  ClientOptions options;
  asio::ssl::context tls;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;  // key: scheme://authority
  std::uint64_t opened{0};

  asio::awaitable<core::Result<std::unique_ptr<Connection>>> open(const Url& url,
                                                                  Clock::time_point deadline) {
    ++opened;
    return Connection::open(executor, &tls, url, options.tls.server_name, !options.tls.insecure_skip_verify,
                            deadline);
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    return conn;
  }

  void give_back(const std::string& key, std::unique_ptr<Connection> conn) {
    auto& slot = idle[key];
    if (conn->reusable() && slot.size() < options.max_idle_per_host) slot.push_back(std::move(conn));
  }
};

HttpClient::HttpClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpClient::~HttpClient() = default;

core::Result<std::unique_ptr<HttpClient>> HttpClient::create(asio::any_io_executor executor,
                                                             ClientOptions options) {
  auto ctx = PODID_TRY(detail::make_client_context(options.tls));
  auto state = std::make_unique<State>(std::move(executor), std::move(options), std::move(ctx));
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(state)));
}

asio::awaitable<core::Result<Response>> HttpClient::request(Request request) {
  const auto url = PODID_CO_TRY(parse_url(request.url));
  const auto deadline = Clock::now() + request.timeout;
  const std::string key = url.scheme + "://" + url.authority();
  const detail::ExchangeLimits limits{deadline, state_->options.body_limit, state_->options.user_agent};

  if (auto pooled = state_->take_idle(key)) {
    bool nothing_received = false;
    auto res = co_await pooled->exchange(request, url, limits, nothing_received);
    if (res) {
      state_->give_back(key, std::move(pooled));
      co_return res;
    }
    if (!nothing_received) co_return res;
    // The server closed the idle connection before answering: try once more on a fresh one.
  }
  auto opened = co_await state_->open(url, deadline);
  if (!opened) co_return opened.error();
  auto conn = std::move(*opened);
  bool nothing_received = false;
  auto res = co_await conn->exchange(request, url, limits, nothing_received);
  if (res) state_->give_back(key, std::move(conn));
  co_return res;
}

asio::awaitable<core::Result<Response>> HttpClient::stream(Request request, LineHandler on_line,
                                                           std::chrono::milliseconds idle_timeout) {
  const auto url = PODID_CO_TRY(parse_url(request.url));
  const auto deadline = Clock::now() + request.timeout;
  const detail::ExchangeLimits limits{deadline, state_->options.body_limit, state_->options.user_agent};
  auto opened = co_await state_->open(url, deadline);
  if (!opened) co_return opened.error();
  auto conn = std::move(*opened);
  LineSplitter splitter{state_->options.max_line};
  co_return co_await conn->stream(request, url, limits, idle_timeout, splitter, on_line);
}

void HttpClient::close_idle() {
  state_->idle.clear();
}

std::size_t HttpClient::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, conns] : state_->idle) n += conns.size();
  return n;
}

std::uint64_t HttpClient::connections_opened() const {
  return state_->opened;
}

}  // namespace podid::http
