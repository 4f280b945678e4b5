#pragma once
// Traffic controls shared by the services: token buckets (throttling), fault injection, call counters.
// All three are thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace podid::emulator {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Budget {
  double burst{250};
  double per_second{25};
};

// A token bucket: take() spends one token if there is one, else says when the next one comes.
class TokenBucket {
 public:
  explicit TokenBucket(Budget budget = {}, SteadyTime now = std::chrono::steady_clock::now());
  struct Take {
    bool allowed{false};
    long long remaining{0};
    std::chrono::seconds retry_after{0};
  };
  [[nodiscard]] Take take(SteadyTime now);
  [[nodiscard]] long long remaining(SteadyTime now);

 private:
  void refill(SteadyTime now);
  Budget budget_;
  double tokens_;
  SteadyTime last_;
};

// A failure to inject into the next `count` calls of one operation ("arm.vmss.patch", "aad.token", "*").
struct Fault {
  std::string operation{"*"};
  unsigned status{500};  // 500, 429, 409, 503, ...
  int count{1};
  bool hang{false};  // never answer instead of answering `status`
  std::chrono::seconds retry_after{1};
};

class FaultInjector {
 public:
  void add(Fault fault);
  void clear();
  // The fault that applies to this call (and consumes one count of it), if any.
  [[nodiscard]] std::optional<Fault> next(const std::string& operation);

 private:
  std::mutex mutex_;
  std::deque<Fault> faults_;
};

class Counters {
 public:
  void add(const std::string& name, std::uint64_t n = 1);
  [[nodiscard]] std::uint64_t get(const std::string& name) const;
  [[nodiscard]] std::map<std::string, std::uint64_t> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> values_;
};

}  // namespace podid::emulator
