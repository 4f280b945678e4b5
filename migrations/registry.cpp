#include "migrations/registry.hpp"

#include <string>

#include "migrations/m0001_crd_field_case.hpp"

namespace podid::migrations {

std::vector<std::unique_ptr<Migration>> all_migrations() {
  std::vector<std::unique_ptr<Migration>> steps;
  steps.push_back(std::make_unique<CrdFieldCase>());
  return steps;
}

core::Result<std::vector<std::string>> apply_all(const std::vector<std::unique_ptr<Migration>>& steps,
                                                 ObjectKind kind, boost::json::object& object) {
  std::vector<std::string> changed;
  for (const auto& step : steps) {
    auto r = step->apply(kind, object);
    if (!r) return r.error();
    if (*r) changed.emplace_back(step->id());
  }
  return changed;
}

}  // namespace podid::migrations
