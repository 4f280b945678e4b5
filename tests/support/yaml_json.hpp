// YAML (as Kubernetes manifests use it) to JSON, for test set-up code.
// Plain scalars follow the YAML 1.2 core schema (null, true/false, integers, floats); quoted scalars and
// !!str stay strings. Throws std::runtime_error (naming the line) on malformed YAML.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>
#include <vector>

namespace podid::testing {

// One JSON value per non-empty document of a multi-document stream ("---" separated).
[[nodiscard]] std::vector<boost::json::value> yaml_documents_to_json(std::string_view yaml_text);

}  // namespace podid::testing
