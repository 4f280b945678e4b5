#pragma once
// Helpers of the property tests: how many cases and which seed (overridable from the environment, so a
// failure printed as "seed N" can be rerun alone), a scratch directory, and a readable state comparison.

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/state.hpp"

namespace podid::property {

struct RunConfig {
  std::uint64_t seed;  // the first case's seed; case i uses seed + i
  std::size_t cases;
};

// PODID_PROPERTY_SEED (decimal) and PODID_PROPERTY_CASES override the defaults; rerun one failing case with
// PODID_PROPERTY_SEED=<printed seed> PODID_PROPERTY_CASES=1.
[[nodiscard]] RunConfig run_config(std::size_t default_cases);

// The state's checkpoint form and its indexes; empty when equal, else where they first differ.
[[nodiscard]] std::string describe_difference(const core::State& got, const core::State& want);

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace podid::property
