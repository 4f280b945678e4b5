#pragma once
// ARM's JSON shapes for identities, VMs, scale sets, their instances, operations and errors.

#include <boost/json/object.hpp>

#include "tests/emulator/http_message.hpp"
#include "tests/emulator/resources.hpp"

namespace podid::emulator {

[[nodiscard]] boost::json::object identity_json(const ManagedIdentity& mi);
[[nodiscard]] boost::json::object machine_json(const Machine& machine);
[[nodiscard]] boost::json::object instance_json(const Machine& scale_set, int index);
[[nodiscard]] boost::json::object operation_json(const Operation& op);
[[nodiscard]] HttpResponse arm_error(const ApiError& error);
[[nodiscard]] std::string instance_name(const Machine& scale_set, int index);

}  // namespace podid::emulator
