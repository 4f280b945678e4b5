#pragma once
// A seeded generator of random but well-formed event logs for the property tests. The universe is small
// (a few namespaces, nodes, identities, bindings and pods) so that events collide: the same pod is updated,
// deleted and recreated, identities are edited under their bindings, two identities share a resource ID.
// Like the real controller, the generator keeps its own projection and turns the planner's output into ARM
// operations (started, then succeeded, failed or throttled) and AzureAssignedIdentity writes, so ARM events
// refer to real targets and operations; a few refer to unknown ones, as after a lost checkpoint.
// Reproducible: the same seed yields the same events (the RNG is splitmix64, not a std distribution).

#include <cstdint>
#include <vector>

#include "core/events.hpp"
#include "core/state.hpp"

namespace podid::property {

// splitmix64: tiny, fast and identical on every platform and standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform-ish in [0, n); n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // True with probability percent/100.
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

struct GeneratedLog {
  std::vector<core::Event> events;  // numbered 1, 2, ... in order
  // Points (a number of events) after which the generator asked the planner for work, with the time it
  // used as "now"; property (d) re-plans at these points.
  std::vector<std::pair<std::size_t, std::int64_t>> plan_points;
};

class EventGenerator {
 public:
  explicit EventGenerator(std::uint64_t seed) : rng_(seed) {}

  // A log of exactly `count` events.
  [[nodiscard]] GeneratedLog generate(std::size_t count);

 private:
  void emit(core::Event e);
  void random_object_event();
  void controller_step();  // plan, then start an operation or write an AAI, as the controller would
  void finish_operation();
  void observe_azure();
  void random_arm_event();  // an operation the planner did not ask for, or one that is unknown

  Rng rng_;
  GeneratedLog log_;
  core::State state_;  // the generator's own projection, to plan from
  std::int64_t now_ms_{1'700'000'000'000};
  std::uint64_t next_op_{1};
  std::uint64_t next_version_{1};
};

}  // namespace podid::property
