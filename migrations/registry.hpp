#pragma once
// The registry: every migration step, in order, as an explicit list (no static registration).

#include <memory>
#include <vector>

#include "migrations/migration.hpp"

namespace podid::migrations {

[[nodiscard]] std::vector<std::unique_ptr<Migration>> all_migrations();

// Applies every step in order to one object; returns the IDs of the steps that changed it.
[[nodiscard]] core::Result<std::vector<std::string>> apply_all(
    const std::vector<std::unique_ptr<Migration>>& steps, ObjectKind kind, boost::json::object& object);

}  // namespace podid::migrations
