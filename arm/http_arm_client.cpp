#include "arm/http_arm_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "arm/arm_error.hpp"
#include "arm/token_response.hpp"
#include "core/http/url.hpp"

namespace podid::arm {

namespace asio = boost::asio;

namespace {

asio::awaitable<core::Status> sleep_ms(std::int64_t ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(ms));
  const auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return core::make_error(core::ErrorCode::cancelled, "ARM call cancelled while waiting");
  co_return core::ok();
}

std::int64_t ms_until(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
      .count();
}

std::optional<std::int64_t> header_int(const http::Response& r, std::string_view name) {
  const auto v = r.header(name);
  if (!v) return std::nullopt;
  std::int64_t out = 0;
  const auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc()) return std::nullopt;
  return out;
}

core::Error throttled(std::string message, std::int64_t retry_after_ms) {
  core::Error e = core::make_error(core::ErrorCode::throttled, std::move(message));
  e.retry_after = std::chrono::milliseconds(retry_after_ms);
  return e;
}

bool same_origin(const std::string& a, const std::string& b) {
  const auto ua = http::parse_url(a);
  const auto ub = http::parse_url(b);
  return ua && ub && ua->scheme == ub->scheme && core::iequals(ua->authority(), ub->authority());
}

// The original's operation_type names (vm_get, vmss_update, ...), plus vm_poll and vmss_poll.
std::string operation_name(const core::ArmTarget& target, std::string_view verb) {
  return std::string(target.kind == core::VmKind::vmss ? "vmss_" : "vm_") + std::string(verb);
}

}  // namespace

HttpArmClient::HttpArmClient(http::HttpClient& http, TokenSource& tokens, const core::Clock& clock,
                             ArmClientOptions options)
    : http_(http),
      tokens_(tokens),
      clock_(clock),
      options_(std::move(options)),
      jitter_(std::random_device{}()) {
  if (auto* m = options_.metrics) {
    meters_.requests =
        &m->counter("aadpodidentity_arm_requests_total",
                    "ARM HTTP requests by operation, result (ok or error class) and status class.",
                    {"operation", "result", "status_class"});
    meters_.latency = &m->histogram("aadpodidentity_arm_request_duration_seconds",
                                    "Latency of one ARM HTTP request (one attempt, one poll).",
                                    core::duration_buckets(), {"operation"});
    meters_.waits = &m->counter("aadpodidentity_arm_throttled_waits_total",
                                "ARM calls held back: refused locally while ARM's Retry-After runs "
                                "(retry_after) or delayed by our own rate limit (rate_limit).",
                                {"kind", "reason"});
  }
}

void HttpArmClient::record(const Call& call, const core::Result<http::Response>& response,
                           std::chrono::steady_clock::duration took) {
  if (meters_.requests == nullptr) return;
  std::string result = "ok";
  std::string status_class = "none";  // no HTTP answer (transport failure, timeout)
  if (!response) {
    result = core::to_string(response.error().code);
  } else {
    status_class = std::to_string(response->status / 100) + "xx";
    if (!response->success()) result = core::to_string(arm_error(*response, clock_.now_ms(), call.what).code);
  }
  meters_.requests->with({call.operation, result, status_class}).inc();
  meters_.latency->with({call.operation}).observe(std::chrono::duration<double>(took).count());
}

void HttpArmClient::record_wait(const Call& call, const char* reason) {
  if (meters_.waits != nullptr)
    meters_.waits->with({call.kind == CallKind::write ? "write" : "read", reason}).inc();
}

ThrottleState& HttpArmClient::throttle(const std::string& subscription) {
  const std::string key = core::to_lower(subscription);
  auto it = throttles_.find(key);
  if (it == throttles_.end())
    it = throttles_.emplace(key, ThrottleState(options_.throttle, clock_.now_ms())).first;
  return it->second;
}

std::string HttpArmClient::resource_url(const core::ArmTarget& target) const {
  return options_.endpoint + target.arm_id() + "?api-version=" + http::url_encode(options_.api_version);
}

std::int64_t HttpArmClient::backoff_ms(int attempt) {
  const std::int64_t base = options_.backoff_base.count();
  const std::int64_t cap = options_.backoff_max.count();
  std::int64_t d = base;
  for (int i = 0; i < attempt && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  std::uniform_int_distribution<std::int64_t> pick(d / 2, std::max<std::int64_t>(d, 1));
  return pick(jitter_);
}

asio::awaitable<core::Result<http::Response>> HttpArmClient::exchange(const Call& call) {
  auto token = co_await tokens_.token();
  if (!token) co_return token.error();
  const std::int64_t left = ms_until(call.deadline);
  if (left <= 0) co_return core::make_error(core::ErrorCode::transient, call.what + ": deadline passed");
  http::Request request;
  request.method = call.method;
  request.url = call.url;
  request.headers = {{"Authorization", "Bearer " + token->value.value()},
                     {"Accept", "application/json"},
                     {"x-ms-client-request-id", new_uuid()}};
  if (!call.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = call.body;
  request.timeout = std::min(options_.request_timeout, std::chrono::milliseconds(left));
  ++(call.kind == CallKind::write ? counters_.writes : counters_.reads);
  co_return co_await http_.request(std::move(request));
}

asio::awaitable<core::Result<http::Response>> HttpArmClient::send(Call call) {
  int attempt = 0;
  bool reauthorised = false;
  const std::string_view remaining_header = call.kind == CallKind::write
                                                ? "x-ms-ratelimit-remaining-subscription-writes"
                                                : "x-ms-ratelimit-remaining-subscription-reads";
  for (;;) {
    ThrottleState& th = throttle(call.subscription);
    const std::int64_t now = clock_.now_ms();
    if (const auto blocked = th.blocked_for_ms(call.kind, now)) {
      ++counters_.blocked;
      record_wait(call, "retry_after");
      co_return throttled(call.what + ": ARM throttles this subscription's " +
                              (call.kind == CallKind::write ? "writes" : "reads") + " for another " +
                              std::to_string(*blocked) + " ms",
                          *blocked);
    }
    const std::int64_t wait = th.reserve(call.kind, now);
    if (wait > 0) {
      if (wait >= ms_until(call.deadline))
        co_return throttled(call.what + ": the client-side ARM rate limit leaves no slot before the deadline",
                            wait);
      counters_.rate_waits_ms += static_cast<std::uint64_t>(wait);
      record_wait(call, "rate_limit");
      const auto waited = co_await sleep_ms(wait);
      if (!waited) co_return waited.error();
    }
    const auto sent_at = std::chrono::steady_clock::now();
    auto response = co_await exchange(call);
    record(call, response, std::chrono::steady_clock::now() - sent_at);
    std::optional<core::Error> failure;
    if (!response) {
      failure = response.error();
    } else {
      const std::int64_t at = clock_.now_ms();
      const auto ra = response->header("Retry-After");
      th.observe(call.kind, response->status, ra ? parse_retry_after(*ra, at) : std::nullopt,
                 header_int(*response, remaining_header), at);
      if (response->status == 429) ++counters_.throttled;
      if (response->success()) co_return std::move(*response);
      if (response->status == 401 && !reauthorised) {
        tokens_.invalidate();
        reauthorised = true;
        continue;
      }
      failure = arm_error(*response, at, call.what);
    }
    const bool retryable =
        failure->code == core::ErrorCode::transient || failure->code == core::ErrorCode::conflict;
    if (!retryable || attempt >= options_.max_retries) co_return *failure;
    std::int64_t delay = backoff_ms(attempt);
    if (failure->retry_after) delay = std::max<std::int64_t>(delay, failure->retry_after->count());
    if (delay >= ms_until(call.deadline)) co_return *failure;
    ++attempt;
    ++counters_.retries;
    const auto slept = co_await sleep_ms(delay);
    if (!slept) co_return slept.error();
  }
}

asio::awaitable<core::Result<VmIdentities>> HttpArmClient::get(core::ArmTarget target) {
  Call call{CallKind::read,
            "GET",
            resource_url(target),
            {},
            target.subscription,
            "GET " + target.to_string(),
            std::chrono::steady_clock::now() + options_.call_timeout,
            operation_name(target, "get")};
  auto response = co_await send(std::move(call));
  if (!response) co_return response.error();
  co_return decode_vm_identities(response->body);
}

asio::awaitable<core::Status> HttpArmClient::patch(core::ArmTarget target, IdentityPatch patch) {
  const auto deadline = std::chrono::steady_clock::now() + options_.operation_timeout;
  Call call{CallKind::write,
            "PATCH",
            resource_url(target),
            encode_identity_patch(patch),
            target.subscription,
            "PATCH " + target.to_string(),
            deadline,
            operation_name(target, "update")};
  auto response = co_await send(std::move(call));
  if (!response) co_return response.error();
  auto poll = poll_target(*response);
  if (!poll) co_return core::ok();
  if (!same_origin(poll->url, options_.endpoint)) {
    co_return core::make_error(
        core::ErrorCode::invalid,
        "PATCH " + target.to_string() + ": ARM named a poll URL outside its endpoint: " + poll->url);
  }
  const auto ra = response->header("Retry-After");
  co_return co_await follow(target, std::move(*poll),
                            ra ? parse_retry_after(*ra, clock_.now_ms()) : std::nullopt, deadline);
}

asio::awaitable<core::Status> HttpArmClient::follow(const core::ArmTarget& target, PollTarget poll,
                                                    std::optional<std::int64_t> first_delay_ms,
                                                    Deadline deadline) {
  const std::string what = "PATCH " + target.to_string();
  std::optional<std::int64_t> retry_after = first_delay_ms;
  for (;;) {
    const std::int64_t delay = poll_delay_ms(retry_after, options_.poll_min.count(),
                                             options_.poll_default.count(), options_.poll_max.count());
    if (delay >= ms_until(deadline)) {
      co_return core::make_error(core::ErrorCode::transient,
                                 what + ": the operation did not complete before the deadline");
    }
    const auto slept = co_await sleep_ms(delay);
    if (!slept) co_return slept.error();
    ++counters_.polls;
    // g++ 12 destroys temporaries in a co_await expression twice: name the call first.
    Call poll_call{CallKind::read,      "GET", poll.url, {},
                   target.subscription, what,  deadline, operation_name(target, "poll")};
    auto response = co_await send(std::move(poll_call));
    if (!response && ms_until(deadline) <= 0) {
      // A sleep can overshoot the deadline on a loaded machine: report the operation's deadline.
      const std::string late = what + ": the operation did not complete before the deadline";
      co_return core::make_error(core::ErrorCode::transient, late + " (" + response.error().message + ")");
    }
    if (!response) co_return response.error();
    PollOutcome outcome = interpret_poll(poll, *response, clock_.now_ms(), what);
    if (outcome.state == PollState::succeeded) co_return core::ok();
    if (outcome.state == PollState::failed) co_return outcome.error;
    retry_after = outcome.retry_after_ms;
  }
}

}  // namespace podid::arm
