#pragma once
// The soak's knobs (podid_soak --help lists them with their defaults); filled by soak_main.cpp.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace podid::soak {

struct Options {
  std::chrono::milliseconds duration{std::chrono::minutes(10)};
  std::chrono::milliseconds sample_every{std::chrono::seconds(30)};
  std::chrono::milliseconds warmup{-1};  // negative: min(60 s, duration / 4)
  int pods{12};       // bound pods; the first `identities` of them are never churned (anchors)
  int identities{3};  // AzureIdentities, each with a binding; pod i is bound to identity i % identities
  int unbound{2};     // pods without a binding: every token they get is a leak
  double churn_per_minute{30};  // delete + recreate operations per minute, over the non-anchor pods
  int token_threads{3};
  std::chrono::milliseconds token_pause{std::chrono::milliseconds(20)};  // between one thread's requests
  int wrong_every{5};  // every Nth request of a thread asks, as a bound pod, for an identity it may not use
  std::uint64_t checkpoint_every{100};
  std::uint64_t retention_max_events{500};
  std::uint64_t retention_max_bytes{1u << 20};
  std::chrono::milliseconds ready_timeout{std::chrono::minutes(3)};  // until every anchor got a token

  [[nodiscard]] std::chrono::milliseconds effective_warmup() const {
    return warmup.count() >= 0 ? warmup
                               : std::min<std::chrono::milliseconds>(std::chrono::seconds(60), duration / 4);
  }
};

}  // namespace podid::soak
