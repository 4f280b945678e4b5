#pragma once
// Outcomes of the soak's token requests and churn, counted from several threads. A failure is a broken
// scenario (a leak, a refused anchor pod, an error of a process or of the API server); the first few are
// kept to be printed.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace podid::soak {

class Tally {
 public:
  void count(const std::string& key, std::uint64_t n = 1);
  void fail(const std::string& message);
  // Largest age (seconds since it got its IP) at which a churned pod was refused its own identity.
  void refused_churned_at(double age_s);

  [[nodiscard]] std::map<std::string, std::uint64_t> counts() const;
  [[nodiscard]] std::uint64_t get(const std::string& key) const;
  [[nodiscard]] std::uint64_t failures() const;
  [[nodiscard]] std::vector<std::string> first_failures() const;
  [[nodiscard]] double max_churned_refusal_age_s() const;

 private:
  static constexpr std::size_t kKeep = 20;
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;
  std::uint64_t failures_{0};
  std::vector<std::string> first_failures_;
  double max_refusal_age_s_{0};
};

}  // namespace podid::soak
