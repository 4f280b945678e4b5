#pragma once
// The state every service of one emulator shares: configuration, directory (AAD), resources (ARM), traffic
// controls and counters. The URLs are set before any listener serves and are read-only afterwards.

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "tests/emulator/config.hpp"
#include "tests/emulator/directory.hpp"
#include "tests/emulator/resources.hpp"
#include "tests/emulator/traffic.hpp"

namespace podid::emulator {

// ARM's per-subscription read and write buckets.
class SubscriptionThrottle {
 public:
  SubscriptionThrottle(Budget reads, Budget writes) : reads_(reads), writes_(writes) {}
  [[nodiscard]] TokenBucket::Take take(const std::string& subscription, bool write);
  void set_budgets(Budget reads, Budget writes);  // and refills every bucket

 private:
  std::mutex mutex_;
  Budget reads_;
  Budget writes_;
  std::map<std::string, TokenBucket> buckets_;  // key: lower(sub) + "/r" or "/w"
};

struct Cloud {
  explicit Cloud(const EmulatorConfig& c)
      : config(c),
        resources(c.latencies),
        throttle(c.arm_reads, c.arm_writes),
        retry_after_seconds(c.latencies.retry_after.count()) {}
  EmulatorConfig config;
  Directory directory;
  Resources resources;
  FaultInjector faults;
  Counters counters;
  SubscriptionThrottle throttle;
  std::atomic<long long> retry_after_seconds;  // Retry-After of long-running operations
  std::string aad_url;                         // https://host:port
  std::string arm_url;
};

}  // namespace podid::emulator
