#pragma once
// HttpArmClient: ArmClient over podid::http. Every call has a deadline (call_timeout for GET, the whole
// operation_timeout for a PATCH with its polling) and each HTTP exchange its own request_timeout within it.
// Per subscription it keeps a ThrottleState: calls fail fast as throttled while ARM's Retry-After blocks
// their kind, wait for our own rate limit, and slow down when x-ms-ratelimit-remaining-* runs low.
// 409 and 5xx (and transient transport failures) are retried with exponential backoff and full jitter,
// within the deadline; a 401 drops the cached token and retries once. Long-running operations are followed
// through Azure-AsyncOperation or Location at the pace of Retry-After; poll URLs must point at the ARM
// endpoint (the bearer token goes nowhere else).
//
// Thread-safety and lifetime: as ArmClient; the HttpClient, TokenSource and Clock must outlive it.

#include <chrono>
#include <map>
#include <random>

#include "arm/arm_client.hpp"
#include "arm/lro.hpp"
#include "arm/throttle.hpp"
#include "arm/token_source.hpp"
#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "core/metrics.hpp"

namespace podid::arm {

struct ArmClientOptions {
  std::string endpoint{"https://management.azure.com"};  // no trailing slash
  std::string api_version{"2019-12-01"};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds call_timeout{std::chrono::minutes(2)};
  std::chrono::milliseconds operation_timeout{std::chrono::minutes(15)};
  std::chrono::milliseconds poll_min{std::chrono::seconds(1)};
  std::chrono::milliseconds poll_default{std::chrono::seconds(5)};
  std::chrono::milliseconds poll_max{std::chrono::seconds(60)};
  int max_retries{3};  // after the first attempt, for 409, 5xx and transient transport errors
  std::chrono::milliseconds backoff_base{std::chrono::seconds(2)};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  ThrottleOptions throttle;
  // When set: aadpodidentity_arm_requests_total, _arm_request_duration_seconds and _arm_throttled_waits_total
  // (docs/metrics.md). Must outlive the client.
  core::MetricsRegistry* metrics{nullptr};
};

struct ArmClientCounters {
  std::uint64_t reads{0};
  std::uint64_t writes{0};
  std::uint64_t polls{0};
  std::uint64_t retries{0};
  std::uint64_t throttled{0};      // 429 answers
  std::uint64_t blocked{0};        // calls refused locally while ARM's Retry-After ran
  std::uint64_t rate_waits_ms{0};  // time spent waiting for our own limit
};

class HttpArmClient final : public ArmClient {
 public:
  HttpArmClient(http::HttpClient& http, TokenSource& tokens, const core::Clock& clock,
                ArmClientOptions options);

  [[nodiscard]] boost::asio::awaitable<core::Result<VmIdentities>> get(core::ArmTarget target) override;
  [[nodiscard]] boost::asio::awaitable<core::Status> patch(core::ArmTarget target,
                                                           IdentityPatch patch) override;

  [[nodiscard]] const ArmClientCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] ThrottleState& throttle(const std::string& subscription);

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  struct Call {
    CallKind kind{CallKind::read};
    std::string method;
    std::string url;
    std::string body;
    std::string subscription;
    std::string what;  // for messages: "GET vmss/sub/rg/name"
    Deadline deadline;
    std::string operation;  // metric label: vm_get, vmss_update, vmss_poll, ...
  };
  struct Meters {
    core::CounterFamily* requests{nullptr};
    core::HistogramFamily* latency{nullptr};
    core::CounterFamily* waits{nullptr};
  };
  void record(const Call& call, const core::Result<http::Response>& response,
              std::chrono::steady_clock::duration took);
  void record_wait(const Call& call, const char* reason);
  [[nodiscard]] boost::asio::awaitable<core::Result<http::Response>> send(Call call);
  [[nodiscard]] boost::asio::awaitable<core::Result<http::Response>> exchange(const Call& call);
  [[nodiscard]] boost::asio::awaitable<core::Status> follow(const core::ArmTarget& target, PollTarget poll,
                                                            std::optional<std::int64_t> first_delay_ms,
                                                            Deadline deadline);
  [[nodiscard]] std::string resource_url(const core::ArmTarget& target) const;
  [[nodiscard]] std::int64_t backoff_ms(int attempt);

  http::HttpClient& http_;
  TokenSource& tokens_;
  const core::Clock& clock_;
  ArmClientOptions options_;
  std::map<std::string, ThrottleState> throttles_;  // by lower-case subscription
  ArmClientCounters counters_;
  Meters meters_;
  std::mt19937_64 jitter_;
};

}  // namespace podid::arm
