#include "nodeproxy/replication_server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <map>
#include <set>

#include "core/http/http_server.hpp"
#include "nodeproxy/request_target.hpp"
#include "watch/kubeconfig.hpp"

namespace podid::nodeproxy {
namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kPodNameExtra = "authentication.kubernetes.io/pod-name";
constexpr std::string_view kPodUidExtra = "authentication.kubernetes.io/pod-uid";
constexpr std::string_view kNodeNameExtra = "authentication.kubernetes.io/node-name";

const watch::ResourceKind& token_reviews_kind() {
  static const watch::ResourceKind k{"authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false};
  return k;
}

namespace {

std::string first_extra(const json::object& extra, std::string_view key) {
  const auto* values = extra.if_contains(key);
  if (values == nullptr || !values->is_array() || values->as_array().empty()) return {};
  const auto& first = values->as_array().front();
  return first.is_string() ? std::string{first.as_string()} : std::string{};
}

bool same_content(const NodeSnapshot& a, const NodeSnapshot& b) {
  return a.node == b.node && a.mode == b.mode && a.pods == b.pods && a.exceptions == b.exceptions;
}

http::Response json_error(int status, std::string_view error, std::string_view message) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  r.body = json::serialize(json::object{{"error", error}, {"message", message}});
  return r;
}

}  // namespace

core::Result<ReviewedCaller> parse_token_review(const json::object& review) {
  const auto* status = review.if_contains("status");
  if (status == nullptr || !status->is_object())
    return core::make_error(core::ErrorCode::corrupt, "TokenReview without status");
  ReviewedCaller out;
  const auto& st = status->as_object();
  if (const auto* a = st.if_contains("authenticated"); a != nullptr && a->is_bool())
    out.authenticated = a->as_bool();
  if (!out.authenticated) return out;
  const auto* user = st.if_contains("user");
  if (user == nullptr || !user->is_object()) return out;
  const auto& u = user->as_object();
  if (const auto* name = u.if_contains("username"); name != nullptr && name->is_string())
    out.user = std::string{name->as_string()};
  static constexpr std::string_view kPrefix = "system:serviceaccount:";
  if (out.user.starts_with(kPrefix)) {
    const auto rest = std::string_view{out.user}.substr(kPrefix.size());
    out.pod_namespace = std::string{rest.substr(0, rest.find(':'))};
  }
  if (const auto* extra = u.if_contains("extra"); extra != nullptr && extra->is_object()) {
    out.pod_name = first_extra(extra->as_object(), kPodNameExtra);
    out.pod_uid = first_extra(extra->as_object(), kPodUidExtra);
    out.node = first_extra(extra->as_object(), kNodeNameExtra);
  }
  return out;
}

std::optional<std::int64_t> token_expiry_ms(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string payload(token.substr(first + 1, second - first - 1));
  for (char& c : payload) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (payload.size() % 4 != 0) payload.push_back('=');
  const auto decoded = watch::base64_decode(payload);
  if (!decoded) return std::nullopt;
  boost::system::error_code ec;
  const auto claims = json::parse(*decoded, ec);
  if (ec || !claims.is_object()) return std::nullopt;
  const auto* exp = claims.as_object().if_contains("exp");
  if (exp == nullptr) return std::nullopt;
  const auto seconds = exp->to_number<double>(ec);
  if (ec || seconds < 0 || seconds > 1e13) return std::nullopt;
  return static_cast<std::int64_t>(seconds * 1000);
}

struct ReplicationServer::State {
  State(asio::any_io_executor ex, ReplicationServerOptions opts, watch::KubeClient& k, Provider p,
        core::Logger log)
      : executor(std::move(ex)),
        options(std::move(opts)),
        kube(k),
        provider(std::move(p)),
        logger(std::move(log)) {}

  struct Tracked {
    std::shared_ptr<const NodeSnapshot> snapshot;
    core::Seq changed_at{0};  // seq of the first snapshot seen with this content
  };
  struct CachedReview {
    core::Result<ReviewedCaller> caller;
    Clock::time_point expires;
  };

  asio::any_io_executor executor;
  ReplicationServerOptions options;
  watch::KubeClient& kube;
  Provider provider;
  core::Logger logger;
  std::unique_ptr<http::HttpServer> http;
  ReplicationCounters counters;
  std::map<std::string, Tracked> tracked;
  std::map<std::string, CachedReview> reviews;
  std::set<asio::steady_timer*> waiters;
  core::SystemClock system_clock;
  bool stopping{false};

  const Tracked& observe(const std::string& node);
  asio::awaitable<core::Result<ReviewedCaller>> review(std::string token);
  asio::awaitable<core::Result<ReviewedCaller>> ask_api_server(const std::string& token);
  asio::awaitable<http::Response> handle(http::Request request);
  asio::awaitable<http::Response> watch(std::string node, core::Seq from);
  http::Response full(const std::string& node);
};

const ReplicationServer::State::Tracked& ReplicationServer::State::observe(const std::string& node) {
  auto current = provider(node);
  if (!current) {
    auto empty = std::make_shared<NodeSnapshot>();
    empty->node = node;
    current = std::move(empty);
  }
  auto& t = tracked[node];
  if (!t.snapshot || !same_content(*t.snapshot, *current)) t.changed_at = current->seq;
  t.snapshot = std::move(current);
  return t;
}

asio::awaitable<core::Result<ReviewedCaller>> ReplicationServer::State::ask_api_server(
    const std::string& token) {
  json::object spec{{"token", token}};
  if (!options.audiences.empty()) {
    json::array aud;
    for (const auto& a : options.audiences) aud.emplace_back(a);
    spec["audiences"] = std::move(aud);
  }
  json::object body{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", spec}};
  ++counters.reviews;
  auto answer = co_await kube.create(token_reviews_kind(), "", std::move(body));
  if (!answer) co_return answer.error();
  auto caller = parse_token_review(*answer);
  if (!caller || !caller->authenticated || caller->pod_name.empty() || !caller->node.empty())
    co_return caller;
  // Tokens from API servers without node claims: the node is the one the pod the token names runs on.
  auto pod = co_await kube.get(watch::kinds::pods(), caller->pod_namespace, caller->pod_name);
  if (!pod) {
    if (pod.error().code == core::ErrorCode::not_found) {
      caller->authenticated = false;  // the bound pod is gone
      co_return caller;
    }
    co_return pod.error();
  }
  const auto* uid = pod->at("metadata").as_object().if_contains("uid");
  if (!caller->pod_uid.empty() &&
      (uid == nullptr || !uid->is_string() || uid->as_string() != caller->pod_uid)) {
    caller->authenticated = false;  // a pod of the same name, not the one the token was bound to
    co_return caller;
  }
  if (const auto* spec_v = pod->if_contains("spec"); spec_v != nullptr && spec_v->is_object()) {
    if (const auto* n = spec_v->as_object().if_contains("nodeName"); n != nullptr && n->is_string())
      caller->node = std::string{n->as_string()};
  }
  co_return caller;
}

asio::awaitable<core::Result<ReviewedCaller>> ReplicationServer::State::review(std::string token) {
  const auto now = Clock::now();
  const auto now_ms = options.wall_clock != nullptr ? options.wall_clock->now_ms() : system_clock.now_ms();
  const auto expiry_ms = token_expiry_ms(token);
  if (expiry_ms && *expiry_ms <= now_ms) {
    ++counters.expired;
    co_return ReviewedCaller{};  // not authenticated, whatever a cached review said
  }
  if (auto it = reviews.find(token); it != reviews.end()) {
    if (it->second.expires > now) {
      ++counters.review_cache_hits;
      co_return it->second.caller;
    }
    reviews.erase(it);
  }
  auto caller = co_await ask_api_server(token);
  if (!caller && caller.error().code != core::ErrorCode::invalid) co_return caller;  // not cached
  if (reviews.size() >= options.review_cache_size) {
    std::erase_if(reviews, [&](const auto& kv) { return kv.second.expires <= now; });
    if (reviews.size() >= options.review_cache_size) reviews.clear();
  }
  auto expires = Clock::now() + options.review_ttl;
  if (expiry_ms) expires = std::min(expires, now + std::chrono::milliseconds(*expiry_ms - now_ms));
  reviews.insert_or_assign(std::move(token), CachedReview{caller, expires});
  co_return caller;
}

http::Response ReplicationServer::State::full(const std::string& node) {
  const auto& t = observe(node);
  ++counters.snapshots_served;
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = encode_snapshot(*t.snapshot);
  return r;
}

asio::awaitable<http::Response> ReplicationServer::State::watch(std::string node, core::Seq from) {
  const auto deadline = Clock::now() + options.heartbeat;
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/x-ndjson");
  for (;;) {
    if (stopping) co_return json_error(503, "unavailable", "Server stopping");
    const auto& t = observe(node);
    if (t.changed_at > from || t.snapshot->seq < from) {
      ++counters.changes_sent;
      const auto snapshot = json::parse(encode_snapshot(*t.snapshot));
      r.body = json::serialize(json::object{{"type", "snapshot"}, {"prev", from}, {"snapshot", snapshot}});
      r.body += '\n';
      co_return r;
    }
    if (Clock::now() >= deadline) {
      ++counters.heartbeats_sent;
      r.body = json::serialize(json::object{{"type", "heartbeat"}, {"seq", from}}) + "\n";
      co_return r;
    }
    asio::steady_timer timer{executor};
    timer.expires_at(deadline);
    waiters.insert(&timer);
    auto [ec] = co_await timer.async_wait(kTuple);
    (void)ec;  // cancelled: something changed; expired: heartbeat due. Both re-check above.
    waiters.erase(&timer);
  }
}

asio::awaitable<http::Response> ReplicationServer::State::handle(http::Request request) {
  const std::string_view target = request.url;
  const auto qpos = target.find('?');
  const auto path = target.substr(0, qpos);
  static constexpr std::string_view kPrefix = "/v1/nodes/";
  static constexpr std::string_view kSuffix = "/snapshot";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
      path.size() <= kPrefix.size() + kSuffix.size())
    co_return json_error(404, "not_found", "Unknown path");
  std::string node{path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size())};
  if (node.find_first_of("/%\\") != std::string::npos) co_return json_error(404, "not_found", "Unknown path");
  if (request.method != "GET") co_return json_error(405, "method_not_allowed", "Only GET");
  bool watching = false;
  core::Seq from = 0;
  if (qpos != std::string_view::npos) {
    auto params = parse_query(target.substr(qpos + 1));
    if (!params) co_return json_error(400, "invalid_request", "Bad query");
    watching = query_value(*params, "watch") == std::optional<std::string>{"1"};
    if (auto f = query_value(*params, "from")) {
      const auto* end = f->data() + f->size();
      if (auto [p, ec] = std::from_chars(f->data(), end, from); ec != std::errc{} || p != end)
        co_return json_error(400, "invalid_request", "Bad from");
    }
  }

  const auto auth = request.header("Authorization");
  if (!auth || !auth->starts_with("Bearer ") || auth->size() <= 7) {
    ++counters.unauthenticated;
    co_return json_error(401, "unauthorized", "Bearer token required");
  }
  auto caller = co_await review(std::string{auth->substr(7)});
  if (!caller) {
    logger.warn("Token review failed.",
                {{"node", node.c_str()}, {"error", caller.error().describe().c_str()}});
    co_return json_error(503, "unavailable", "Could not verify the token");
  }
  if (!caller->authenticated) {
    ++counters.unauthenticated;
    logger.warn("Refused an unauthenticated caller.",
                {{"node", node.c_str()}, {"remote", request.remote_address.c_str()}});
    co_return json_error(401, "unauthorized", "Token not accepted");
  }
  const bool user_ok = options.allowed_users.empty() ||
                       std::ranges::find(options.allowed_users, caller->user) != options.allowed_users.end();
  if (!user_ok || caller->pod_name.empty() || caller->node != node) {
    ++counters.forbidden;
    logger.warn("Refused a caller of another node.", {{"node", node.c_str()},
                                                      {"callerNode", caller->node.c_str()},
                                                      {"user", caller->user.c_str()},
                                                      {"pod", caller->pod_name.c_str()}});
    co_return json_error(403, "forbidden", "The caller does not run on this node");
  }
  if (options.serving && !options.serving())
    co_return json_error(503, "unavailable", "Not serving snapshots: a standby or a starting controller");
  if (!watching) co_return full(node);
  co_return co_await watch(std::move(node), from);
}

ReplicationServer::ReplicationServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
ReplicationServer::~ReplicationServer() = default;

core::Result<std::unique_ptr<ReplicationServer>> ReplicationServer::create(
    const asio::any_io_executor& executor, ReplicationServerOptions options, watch::KubeClient& kube,
    Provider provider, core::Logger logger) {
  auto state =
      std::make_shared<State>(executor, std::move(options), kube, std::move(provider), std::move(logger));
  http::ServerOptions so;
  so.address = state->options.address;
  so.port = state->options.port;
  so.tls = state->options.tls;
  so.body_limit = 4096;
  so.max_connections = state->options.max_connections;
  so.write_timeout = std::chrono::seconds(30);
  State* raw = state.get();  // the HttpServer lives inside State and is stopped before State dies
  auto server =
      http::HttpServer::create(executor, so, [raw](http::Request r) { return raw->handle(std::move(r)); });
  if (!server) return server.error();
  state->http = std::move(*server);
  return std::unique_ptr<ReplicationServer>(new ReplicationServer(std::move(state)));
}

void ReplicationServer::start() {
  state_->http->start();
}

asio::awaitable<void> ReplicationServer::stop() {
  auto state = state_;
  state->stopping = true;
  for (auto* t : state->waiters) t->cancel();
  co_await state->http->stop();
}

std::uint16_t ReplicationServer::port() const {
  return state_->http->port();
}

void ReplicationServer::notify_changed() {
  asio::post(state_->executor, [state = state_] {
    for (auto* t : state->waiters) t->cancel();
  });
}

ReplicationCounters ReplicationServer::counters() const {
  return state_->counters;
}

}  // namespace podid::nodeproxy
