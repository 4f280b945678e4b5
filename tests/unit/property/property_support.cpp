#include "tests/unit/property/property_support.hpp"

#include <stdlib.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "core/state_codec.hpp"

namespace podid::property {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::stoull(v);
}

std::string first_difference(const std::string& got, const std::string& want, const char* what) {
  if (got == want) return {};
  const auto mismatch = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  const auto at = static_cast<std::size_t>(mismatch.first - got.begin());
  const auto from = at > 160 ? at - 160 : 0;
  return std::string(what) + " differs at offset " + std::to_string(at) + "\n  got:  ..." +
         got.substr(from, 320) + "\n  want: ..." + want.substr(from, 320);
}

std::string indexes_text(const core::Indexes& i) {
  std::string out;
  for (const auto& [k, v] : i.pods_by_label) out += "label " + k + ":" + std::to_string(v.size()) + " ";
  for (const auto& [k, v] : i.pods_by_node) out += "node " + k + ":" + std::to_string(v.size()) + " ";
  for (const auto& [k, v] : i.bindings_by_selector) out += "sel " + k + ":" + std::to_string(v.size()) + " ";
  for (const auto& [k, v] : i.assignments_by_target)
    out += "target " + k.to_string() + ":" + std::to_string(v.size()) + " ";
  for (const auto& [k, v] : i.assignment_by_aai)
    out += "aai " + k.to_string() + "->" + v.pod.to_string() + " ";
  return out;
}

}  // namespace

RunConfig run_config(std::size_t default_cases) {
  return RunConfig{env_number("PODID_PROPERTY_SEED", 0x5eed0001),
                   static_cast<std::size_t>(env_number("PODID_PROPERTY_CASES", default_cases))};
}

std::string describe_difference(const core::State& got, const core::State& want) {
  if (got == want) return {};
  auto diff = first_difference(boost::json::serialize(core::encode_state(got)),
                               boost::json::serialize(core::encode_state(want)), "state");
  if (diff.empty()) diff = first_difference(indexes_text(got.index), indexes_text(want.index), "indexes");
  if (diff.empty()) diff = "states differ in a field the checkpoint form does not show";
  return diff;
}

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "podid-property-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;  // best effort: a leftover scratch directory under /tmp is harmless
  std::filesystem::remove_all(path_, ec);
}

}  // namespace podid::property
