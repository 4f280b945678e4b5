#include "core/logger.hpp"

#include <boost/json.hpp>

namespace podid::core {

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

Logger Logger::with_component(std::string component) const {
  Logger copy = *this;
  copy.component_ = std::move(component);
  return copy;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) const {
  if (static_cast<int>(level) < static_cast<int>(min_level_)) return;
  boost::json::object o{
      {"ts", clock_->now_ms()}, {"level", to_string(level)}, {"component", component_}, {"msg", msg}};
  for (const auto& f : fields) {
    // The fixed keys come first and are not overwritten by a field of the same name.
    if (!o.contains(f.key)) o[f.key] = f.value;
  }
  sink_->write(level, boost::json::serialize(o));
}

}  // namespace podid::core
