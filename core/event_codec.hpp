#pragma once
// The JSON form of events: {"kind": "PodObserved", "v": 1, "atMs": ..., <payload>}. Decoding an unknown kind,
// a newer version or a bad payload is ErrorCode::corrupt, naming the kind and the field.

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "core/events.hpp"
#include "core/result.hpp"

namespace podid::core {

[[nodiscard]] boost::json::value encode(const Event& e);
[[nodiscard]] Result<Event> decode_event(const boost::json::value& v);

// One line of JSON (no trailing newline), and its inverse.
[[nodiscard]] std::string encode_line(const Event& e);
[[nodiscard]] Result<Event> decode_line(std::string_view line);

// The subjects an event concerns, for the store's index: "pod/<ns>/<name>", "identity/<ns>/<name>",
// "binding/<ns>/<name>", "exception/<ns>/<name>", "assigned/<ns>/<name>", "node/<name>",
// "vm/<sub>/<rg>/<name>", "vmss/<sub>/<rg>/<name>", "settings", "migration/<id>". Sorted, no duplicates.
[[nodiscard]] std::vector<std::string> subjects(const Event& e);

[[nodiscard]] std::string_view error_class_name(ErrorCode code) noexcept;
[[nodiscard]] Result<ErrorCode> parse_error_class(std::string_view name);

}  // namespace podid::core
