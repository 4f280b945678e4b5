#include "watch/watch_event.hpp"

#include <boost/json/parse.hpp>

#include "watch/status_error.hpp"

namespace podid::watch {
namespace json = boost::json;

std::string_view to_string(WatchEventType type) noexcept {
  switch (type) {
    case WatchEventType::added:
      return "ADDED";
    case WatchEventType::modified:
      return "MODIFIED";
    case WatchEventType::deleted:
      return "DELETED";
    case WatchEventType::bookmark:
      return "BOOKMARK";
  }
  return "UNKNOWN";
}

std::string resource_version_of(const json::object& object) {
  const auto* meta = object.if_contains("metadata");
  if (meta == nullptr || !meta->is_object()) return {};
  const auto* rv = meta->get_object().if_contains("resourceVersion");
  return rv != nullptr && rv->is_string() ? std::string{rv->get_string()} : std::string{};
}

core::Result<WatchEvent> decode_watch_line(std::string_view line) {
  boost::system::error_code ec;
  auto parsed = json::parse(line, ec);
  if (ec || !parsed.is_object()) {
    return core::make_error(core::ErrorCode::invalid, "Watch line is not a JSON object");
  }
  auto& root = parsed.get_object();
  const auto* type = root.if_contains("type");
  auto* object = root.if_contains("object");
  if (type == nullptr || !type->is_string() || object == nullptr || !object->is_object()) {
    return core::make_error(core::ErrorCode::invalid, "Watch line lacks type or object");
  }
  const auto& t = type->get_string();
  WatchEvent event;
  if (t == "ADDED") {
    event.type = WatchEventType::added;
  } else if (t == "MODIFIED") {
    event.type = WatchEventType::modified;
  } else if (t == "DELETED") {
    event.type = WatchEventType::deleted;
  } else if (t == "BOOKMARK") {
    event.type = WatchEventType::bookmark;
  } else if (t == "ERROR") {
    return status_error(object->get_object());
  } else {
    return core::make_error(core::ErrorCode::invalid, "Unknown watch event type " + std::string{t});
  }
  event.object = std::move(object->get_object());
  event.resource_version = resource_version_of(event.object);
  return event;
}

}  // namespace podid::watch
