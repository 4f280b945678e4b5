#pragma once
// EventRecorder: what users see in `kubectl describe`. core/v1 Events for the planner's reports (reason,
// message, type Normal or Warning, involvedObject = the pod, source.component aadpodidentity.k8s.io),
// deduplicated: the same (object, type, reason, message) again bumps `count` and `lastTimestamp` of the
// Event already written (a merge patch) instead of creating another; and the Ready condition on an
// AzureIdentity's status (status subresource), written only when it changes (e.g. Ready=False with the
// reason when an assignment of the identity is quarantined). Failures are returned for the caller to log;
// recording never retries in a loop.
//
// Thread-safety: one executor, like its KubeClient. Lifetime: client and clock outlive the recorder.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "core/clock.hpp"
#include "core/model.hpp"
#include "core/plan.hpp"
#include "core/result.hpp"
#include "watch/kube_client.hpp"

namespace podid::watch {

// The core/v1 Event kind (the lenient API; events.k8s.io/v1 would require eventTime and more).
[[nodiscard]] const ResourceKind& core_events();

// RFC 3339 with whole seconds, UTC ("2024-01-02T03:04:05Z"), as metav1.Time.
[[nodiscard]] std::string rfc3339_seconds(std::int64_t unix_ms);

struct EventRecorderOptions {
  std::string component{"aadpodidentity.k8s.io"};
  std::string instance;              // reportingInstance / source.host: e.g. the pod name
  std::size_t max_remembered{4096};  // dedup entries kept; the oldest go first
};

struct EventRecorderCounters {
  std::uint64_t created{0};
  std::uint64_t aggregated{0};  // repeats counted on an existing Event
  std::uint64_t conditions{0};  // AzureIdentity status writes
  std::uint64_t failures{0};
};

struct IdentityCondition {
  bool ready{true};
  std::string reason;
  std::string message;
  bool operator==(const IdentityCondition&) const = default;
};

class EventRecorder {
 public:
  EventRecorder(KubeClient& client, const core::Clock& clock, EventRecorderOptions options = {});
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records a report about `pod` (uid may be empty).
  [[nodiscard]] boost::asio::awaitable<core::Status> record(core::Report report, core::PodKey pod,
                                                            std::string uid);
  // Sets the Ready condition of the AzureIdentity unless it already has exactly this one (from us).
  [[nodiscard]] boost::asio::awaitable<core::Status> set_condition(core::IdentityKey identity,
                                                                   IdentityCondition condition);
  // Forgets the condition written for an identity (it was deleted or re-created).
  void forget(const core::IdentityKey& identity) { conditions_.erase(identity); }

  [[nodiscard]] const EventRecorderCounters& counters() const noexcept { return counters_; }

 private:
  struct Seen {
    std::string name;
    std::int64_t count{0};
    std::uint64_t order{0};
  };
  using DedupKey = std::tuple<std::string, std::string, bool, std::string, std::string>;

  [[nodiscard]] boost::asio::awaitable<core::Status> create(const DedupKey& key, const core::Report& report,
                                                            const core::PodKey& pod, const std::string& uid);
  void remember(const DedupKey& key, std::string name);

  KubeClient& client_;
  const core::Clock& clock_;
  EventRecorderOptions options_;
  std::map<DedupKey, Seen> seen_;
  std::map<core::IdentityKey, IdentityCondition> conditions_;
  std::uint64_t order_{0};
  std::uint64_t unique_{0};
  EventRecorderCounters counters_;
};

}  // namespace podid::watch
