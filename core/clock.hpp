#pragma once
// Clock: the seam for "now". Production code outside core/ stamps events with it; the projection never reads
// it. FakeClock is the working fake for tests. Thread-safety: SystemClock is safe to share; FakeClock is not
// (tests drive it from one thread).

#include <chrono>
#include <cstdint>

namespace podid::core {

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  [[nodiscard]] virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t start_ms = 0) : now_(start_ms) {}
  [[nodiscard]] std::int64_t now_ms() const override { return now_; }
  void advance(std::int64_t ms) { now_ += ms; }
  void set(std::int64_t ms) { now_ = ms; }

 private:
  std::int64_t now_;
};

}  // namespace podid::core
