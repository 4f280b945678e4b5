#pragma once
// Durations on the command line, as the original's flags take them: "500ms", "30s", "3m", "1h", or plain
// seconds ("90"). Shared by podid-controller and podid-nodeproxy.

#include <chrono>
#include <string_view>

#include "core/result.hpp"

namespace podid::cli {

// Invalid (the message quotes the text) for a negative value, garbage or an unknown unit.
[[nodiscard]] core::Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace podid::cli
