#include "watch/event_recorder.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <ctime>

namespace podid::watch {

namespace asio = boost::asio;
namespace json = boost::json;

const ResourceKind& core_events() {
  static const ResourceKind kind{"", "v1", "events", "Event", true};
  return kind;
}

std::string rfc3339_seconds(std::int64_t unix_ms) {
  const auto secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EventRecorder::EventRecorder(KubeClient& client, const core::Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

void EventRecorder::remember(const DedupKey& key, std::string name) {
  seen_[key] = Seen{std::move(name), 1, ++order_};
  while (seen_.size() > options_.max_remembered) {
    auto oldest = seen_.begin();
    for (auto it = seen_.begin(); it != seen_.end(); ++it)
      if (it->second.order < oldest->second.order) oldest = it;
    seen_.erase(oldest);
  }
}

asio::awaitable<core::Status> EventRecorder::create(const DedupKey& key, const core::Report& report,
                                                    const core::PodKey& pod, const std::string& uid) {
  const auto now = clock_.now_ms();
  // client-go's name: <object>.<hex nanoseconds>; the counter keeps names unique within one millisecond.
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx",
                static_cast<unsigned long long>(now) * 1000000ULL + (++unique_ % 1000000ULL));
  const std::string name = pod.name + "." + suffix;
  json::object involved{{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", pod.ns}, {"name", pod.name}};
  if (!uid.empty()) involved["uid"] = uid;
  json::object source{{"component", options_.component}};
  if (!options_.instance.empty()) source["host"] = options_.instance;
  json::object event{{"apiVersion", "v1"},
                     {"kind", "Event"},
                     {"metadata", json::object{{"name", name}, {"namespace", pod.ns}}},
                     {"involvedObject", std::move(involved)},
                     {"reason", report.reason},
                     {"message", report.message},
                     {"type", report.warning ? "Warning" : "Normal"},
                     {"source", std::move(source)},
                     {"reportingComponent", options_.component},
                     {"reportingInstance", options_.instance},
                     {"firstTimestamp", rfc3339_seconds(now)},
                     {"lastTimestamp", rfc3339_seconds(now)},
                     {"count", 1}};
  auto created = co_await client_.create(core_events(), pod.ns, std::move(event));
  if (!created) {
    ++counters_.failures;
    co_return created.error();
  }
  ++counters_.created;
  remember(key, name);
  co_return core::ok();
}

asio::awaitable<core::Status> EventRecorder::record(core::Report report, core::PodKey pod, std::string uid) {
  DedupKey key{pod.to_string(), uid, report.warning, report.reason, report.message};
  const auto it = seen_.find(key);
  if (it == seen_.end()) co_return co_await create(key, report, pod, uid);
  const auto count = it->second.count + 1;
  const json::object patch{{"count", count}, {"lastTimestamp", rfc3339_seconds(clock_.now_ms())}};
  PatchOptions options;  // a named value: g++ 12 frees a temporary argument of a coroutine twice
  auto patched = co_await client_.patch(core_events(), pod.ns, it->second.name, PatchType::merge, patch,
                                        std::move(options));
  if (!patched) {
    if (patched.error().code == core::ErrorCode::not_found) {  // expired (event TTL): start again
      seen_.erase(key);
      co_return co_await create(key, report, pod, uid);
    }
    ++counters_.failures;
    co_return patched.error();
  }
  ++counters_.aggregated;
  // The entry may have been dropped while we waited; look it up again.
  if (const auto again = seen_.find(key); again != seen_.end()) again->second.count = count;
  co_return core::ok();
}

asio::awaitable<core::Status> EventRecorder::set_condition(core::IdentityKey identity,
                                                           IdentityCondition condition) {
  if (const auto it = conditions_.find(identity); it != conditions_.end() && it->second == condition)
    co_return core::ok();
  json::object cond{{"type", "Ready"},
                    {"status", condition.ready ? "True" : "False"},
                    {"lastTransitionTime", rfc3339_seconds(clock_.now_ms())}};
  if (!condition.reason.empty()) cond["reason"] = condition.reason;
  if (!condition.message.empty()) cond["message"] = condition.message;
  const json::object patch{{"status", json::object{{"conditions", json::array{std::move(cond)}}}}};
  PatchOptions options;
  options.subresource = "status";
  auto patched = co_await client_.patch(kinds::azure_identities(), identity.ns, identity.name,
                                        PatchType::merge, patch, std::move(options));
  if (!patched) {
    ++counters_.failures;
    co_return patched.error();
  }
  ++counters_.conditions;
  conditions_[identity] = std::move(condition);
  co_return core::ok();
}

}  // namespace podid::watch
