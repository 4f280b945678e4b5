#pragma once
// One event of a Kubernetes watch stream, and the decoder for one line of it.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace podid::watch {

enum class WatchEventType { added, modified, deleted, bookmark };

[[nodiscard]] std::string_view to_string(WatchEventType type) noexcept;

struct WatchEvent {
  WatchEventType type{WatchEventType::added};
  boost::json::object object;
  std::string resource_version;  // object.metadata.resourceVersion
};

// Decodes one compact-JSON line {"type":..,"object":..}. An in-band ERROR event becomes its classified error
// (e.g. gone for "Expired"); a line that is not a watch event is invalid.
[[nodiscard]] core::Result<WatchEvent> decode_watch_line(std::string_view line);

// The metadata.resourceVersion (or "") of an object.
[[nodiscard]] std::string resource_version_of(const boost::json::object& object);

}  // namespace podid::watch
