#include "soak/tally.hpp"

#include <algorithm>

namespace podid::soak {

void Tally::count(const std::string& key, std::uint64_t n) {
  const std::lock_guard lock(mutex_);
  counts_[key] += n;
}

void Tally::fail(const std::string& message) {
  const std::lock_guard lock(mutex_);
  ++failures_;
  if (first_failures_.size() < kKeep) first_failures_.push_back(message);
}

void Tally::refused_churned_at(double age_s) {
  const std::lock_guard lock(mutex_);
  max_refusal_age_s_ = std::max(max_refusal_age_s_, age_s);
}

std::map<std::string, std::uint64_t> Tally::counts() const {
  const std::lock_guard lock(mutex_);
  return counts_;
}

std::uint64_t Tally::get(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

std::uint64_t Tally::failures() const {
  const std::lock_guard lock(mutex_);
  return failures_;
}

std::vector<std::string> Tally::first_failures() const {
  const std::lock_guard lock(mutex_);
  return first_failures_;
}

double Tally::max_churned_refusal_age_s() const {
  const std::lock_guard lock(mutex_);
  return max_refusal_age_s_;
}

}  // namespace podid::soak
