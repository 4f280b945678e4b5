#include "nodeproxy/replica.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <fstream>
#include <sstream>

#include "core/http/http_client.hpp"

namespace podid::nodeproxy {
namespace asio = boost::asio;
namespace json = boost::json;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::function<core::Result<std::string>()> token_file_reader(std::string path) {
  return [path = std::move(path)]() -> core::Result<std::string> {
    std::ifstream in{path, std::ios::binary};
    if (!in) return core::make_error(core::ErrorCode::io, "Could not read the token file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (!token.empty() && is_space(token.back())) token.pop_back();
    token.erase(token.begin(), std::ranges::find_if_not(token, is_space));
    if (token.empty()) return core::make_error(core::ErrorCode::invalid, "Empty token file " + path);
    return token;
  };
}

struct Replica::State {
  State(asio::any_io_executor ex, ReplicaOptions opts, MemorySnapshotSource& t, core::Logger log,
        std::unique_ptr<http::HttpClient> c)
      : executor(std::move(ex)),
        options(std::move(opts)),
        target(t),
        logger(std::move(log)),
        client(std::move(c)),
        done(executor) {}

  asio::any_io_executor executor;
  ReplicaOptions options;
  MemorySnapshotSource& target;
  core::Logger logger;
  std::unique_ptr<http::HttpClient> client;
  asio::cancellation_signal cancel;
  asio::steady_timer done;
  bool running{false};
  bool stopping{false};
  bool need_full{true};
  core::Seq seq{0};
  struct {
    std::atomic<std::uint64_t> resyncs{0}, changes{0}, heartbeats{0}, failures{0}, gaps{0};
    std::atomic<core::Seq> seq{0};
    std::atomic<bool> synced{false};
  } counters;

  [[nodiscard]] std::string snapshot_url() const {
    return options.server_url + "/v1/nodes/" + options.node + "/snapshot";
  }
  [[nodiscard]] core::Result<http::Request> make_request(std::string url,
                                                         std::chrono::milliseconds timeout) const;
  void adopt(NodeSnapshot snapshot);
  void confirm() const {
    if (options.on_confirmed) options.on_confirmed();
  }
  [[nodiscard]] core::Status on_line(std::string_view line);
  asio::awaitable<core::Status> resync();
  asio::awaitable<core::Status> follow();
  asio::awaitable<void> run();
};

namespace {

core::Error from_status(const http::Response& r) {
  const auto code =
      (r.status == 401 || r.status == 403) ? core::ErrorCode::permission : core::ErrorCode::transient;
  return core::make_error(code, "Replication server answered " + std::to_string(r.status) + ": " + r.body);
}

}  // namespace

core::Result<http::Request> Replica::State::make_request(std::string url,
                                                         std::chrono::milliseconds timeout) const {
  auto token = options.token ? options.token() : core::Result<std::string>{std::string{}};
  if (!token) return token.error();
  http::Request request;
  request.url = std::move(url);
  request.timeout = timeout;
  if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  return request;
}

void Replica::State::adopt(NodeSnapshot snapshot) {
  seq = snapshot.seq;
  counters.seq = seq;
  counters.synced = true;
  if (*target.current() == snapshot) return;  // a resync that brought nothing new
  target.publish(std::move(snapshot));
}

core::Status Replica::State::on_line(std::string_view line) {
  if (line.empty()) return core::ok();
  boost::system::error_code ec;
  auto value = json::parse(line, ec);
  if (ec || !value.is_object())
    return core::make_error(core::ErrorCode::corrupt, "Replication line is not JSON");
  const auto& obj = value.as_object();
  const auto* type = obj.if_contains("type");
  if (type != nullptr && type->is_string() && type->as_string() == "heartbeat") {
    ++counters.heartbeats;
    // Nothing changed since `seq`: the snapshot held is the controller's current one.
    const auto* at = obj.if_contains("seq");
    if (at == nullptr || (at->to_number<core::Seq>(ec) == seq && !ec)) confirm();
    return core::ok();
  }
  if (type == nullptr || !type->is_string() || type->as_string() != "snapshot")
    return core::ok();  // unknown kinds of line are for newer servers
  const auto* prev = obj.if_contains("prev");
  const auto* snap = obj.if_contains("snapshot");
  if (prev == nullptr || snap == nullptr)
    return core::make_error(core::ErrorCode::corrupt, "Incomplete change line");
  const auto prev_seq = prev->to_number<core::Seq>(ec);
  if (ec || prev_seq != seq) {
    ++counters.gaps;
    need_full = true;
    return core::make_error(core::ErrorCode::gone, "Change does not follow the held snapshot");
  }
  auto decoded = decode_snapshot(json::serialize(*snap));
  if (!decoded) return decoded.error();
  if (decoded->node != options.node)
    return core::make_error(core::ErrorCode::corrupt, "Change for another node: " + decoded->node);
  ++counters.changes;
  adopt(std::move(*decoded));
  confirm();
  return core::ok();
}

asio::awaitable<core::Status> Replica::State::resync() {
  auto request = make_request(snapshot_url(), options.request_timeout);
  if (!request) co_return request.error();
  auto response = co_await client->request(std::move(*request));
  if (!response) co_return response.error();
  if (response->status != 200) co_return from_status(*response);
  auto snapshot = decode_snapshot(response->body);
  if (!snapshot) co_return snapshot.error();
  if (snapshot->node != options.node)
    co_return core::make_error(core::ErrorCode::corrupt, "Snapshot of another node: " + snapshot->node);
  adopt(std::move(*snapshot));
  need_full = false;
  ++counters.resyncs;
  logger.info("Replica resynced.", {{"node", options.node.c_str()}, {"seq", seq}});
  confirm();
  co_return core::ok();
}

asio::awaitable<core::Status> Replica::State::follow() {
  auto request = make_request(snapshot_url() + "?watch=1&from=" + std::to_string(seq), options.poll_timeout);
  if (!request) co_return request.error();
  auto response = co_await client->stream(
      std::move(*request), [this](std::string_view line) { return on_line(line); }, options.idle_timeout);
  if (!response) co_return response.error();
  if (!response->success()) co_return from_status(*response);
  co_return core::ok();
}

asio::awaitable<void> Replica::State::run() {
  auto backoff = options.backoff_min;
  while (!stopping) {
    // Not a conditional expression: g++ 12 destroys the result of co_await in ?: twice.
    core::Status status = core::ok();
    if (need_full) {
      status = co_await resync();
    } else {
      status = co_await follow();
    }
    if (stopping) break;
    if (status) {
      backoff = options.backoff_min;
      continue;
    }
    if (status.error().code == core::ErrorCode::cancelled) break;
    ++counters.failures;
    need_full = true;
    logger.warn("Replication failed.", {{"node", options.node.c_str()},
                                        {"error", status.error().describe().c_str()},
                                        {"backoffMs", backoff.count()}});
    asio::steady_timer timer{executor};
    timer.expires_after(backoff);
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) break;  // cancelled by stop()
    backoff = std::min(backoff * 2, options.backoff_max);
  }
}

Replica::Replica(std::unique_ptr<State> state) : state_(std::move(state)) {}
Replica::~Replica() = default;

core::Result<std::unique_ptr<Replica>> Replica::create(const asio::any_io_executor& executor,
                                                       ReplicaOptions options, MemorySnapshotSource& target,
                                                       core::Logger logger) {
  if (options.node.empty() || options.server_url.empty())
    return core::make_error(core::ErrorCode::invalid, "Replica needs a node and a server URL");
  http::ClientOptions co;
  co.tls = options.tls;
  co.user_agent = "podid-nodeproxy/0.1";
  auto client = PODID_TRY(http::HttpClient::create(executor, co));
  return std::unique_ptr<Replica>(new Replica(
      std::make_unique<State>(executor, std::move(options), target, std::move(logger), std::move(client))));
}

void Replica::start() {
  auto* s = state_.get();
  s->running = true;
  s->done.expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(s->executor, s->run(),
                 asio::bind_cancellation_slot(s->cancel.slot(), [s](const std::exception_ptr& e) {
                   s->running = false;
                   s->done.cancel();
                   if (e && !s->stopping) s->logger.error("Replica stopped unexpectedly.");
                 }));
}

asio::awaitable<void> Replica::stop() {
  auto* s = state_.get();
  s->stopping = true;
  s->cancel.emit(asio::cancellation_type::terminal);
  if (s->running) {
    auto [ec] = co_await s->done.async_wait(kTuple);
    (void)ec;  // cancelled on purpose when run() ended
  }
}

ReplicaCounters Replica::counters() const {
  const auto& c = state_->counters;
  return ReplicaCounters{c.resyncs, c.changes, c.heartbeats, c.failures, c.gaps, c.seq, c.synced};
}

}  // namespace podid::nodeproxy
