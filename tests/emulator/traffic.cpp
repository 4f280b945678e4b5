#include "tests/emulator/traffic.hpp"

#include <algorithm>
#include <cmath>

namespace podid::emulator {

TokenBucket::TokenBucket(Budget budget, SteadyTime now)
    : budget_(budget), tokens_(budget.burst), last_(now) {}

void TokenBucket::refill(SteadyTime now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(budget_.burst, tokens_ + elapsed * budget_.per_second);
  last_ = now;
}

TokenBucket::Take TokenBucket::take(SteadyTime now) {
  refill(now);
  Take t;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    t.allowed = true;
  } else {
    const double wait = budget_.per_second > 0 ? (1.0 - tokens_) / budget_.per_second : 60.0;
    t.retry_after = std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
  }
  t.remaining = static_cast<long long>(std::floor(tokens_));
  return t;
}

long long TokenBucket::remaining(SteadyTime now) {
  refill(now);
  return static_cast<long long>(std::floor(tokens_));
}

void FaultInjector::add(Fault fault) {
  const std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FaultInjector::clear() {
  const std::lock_guard lock(mutex_);
  faults_.clear();
}

std::optional<Fault> FaultInjector::next(const std::string& operation) {
  const std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->operation != "*" && it->operation != operation) continue;
    Fault hit = *it;
    if (--it->count <= 0) faults_.erase(it);
    return hit;
  }
  return std::nullopt;
}

void Counters::add(const std::string& name, std::uint64_t n) {
  const std::lock_guard lock(mutex_);
  values_[name] += n;
}

std::uint64_t Counters::get(const std::string& name) const {
  const std::lock_guard lock(mutex_);
  const auto it = values_.find(name);
  return it == values_.end() ? 0 : it->second;
}

std::map<std::string, std::uint64_t> Counters::snapshot() const {
  const std::lock_guard lock(mutex_);
  return values_;
}

}  // namespace podid::emulator
