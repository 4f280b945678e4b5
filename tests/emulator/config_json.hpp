#pragma once
// EmulatorConfig and its parts from JSON (the binary's config file and the admin endpoint's bodies).
// Field names are snake_case as in config.hpp; durations in milliseconds (`*_ms`) or seconds (`*_s`).

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "tests/emulator/config.hpp"

namespace podid::emulator {

[[nodiscard]] core::Result<EmulatorConfig> config_from_json(const boost::json::value& json);
[[nodiscard]] core::Result<Budget> budget_from_json(const boost::json::value& json, Budget fallback);
[[nodiscard]] core::Result<IdentityConfig> identity_from_json(const boost::json::value& json);
[[nodiscard]] core::Result<MachineConfig> machine_from_json(const boost::json::value& json);
[[nodiscard]] core::Result<AppConfig> app_from_json(const boost::json::value& json);
[[nodiscard]] core::Result<FederatedCredential> federated_from_json(const boost::json::value& json);
[[nodiscard]] core::Result<Bind> bind_from_json(const boost::json::value& json);

}  // namespace podid::emulator
