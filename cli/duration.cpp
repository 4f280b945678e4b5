#include "cli/duration.hpp"

#include <charconv>
#include <string>

namespace podid::cli {

core::Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0)
    return core::make_error(core::ErrorCode::invalid, "not a duration: \"" + std::string(text) + "\"");
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  double ms = value * 1000;
  if (unit == "ms")
    ms = value;
  else if (unit == "m")
    ms = value * 60000;
  else if (unit == "h")
    ms = value * 3600000;
  else if (!unit.empty() && unit != "s")
    return core::make_error(core::ErrorCode::invalid,
                            "unknown unit in \"" + std::string(text) + "\" (ms, s, m, h)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace podid::cli
