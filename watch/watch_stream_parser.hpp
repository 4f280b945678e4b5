#pragma once
// Incremental parser of a watch response body: bytes in, WatchEvents out. Chunk boundaries are not event
// boundaries: one chunk may hold several events and one event may span many chunks. In-band ERROR events
// and malformed lines end the stream with their error.

#include <functional>

#include "core/http/line_splitter.hpp"
#include "watch/watch_event.hpp"

namespace podid::watch {

class WatchStreamParser {
 public:
  using EventHandler = std::function<core::Status(WatchEvent event)>;

  explicit WatchStreamParser(std::size_t max_event = std::size_t{16} << 20U) : lines_(max_event) {}

  // Feeds raw body bytes; hands every complete event to on_event.
  [[nodiscard]] core::Status feed(std::string_view chunk, const EventHandler& on_event);
  // Feeds one complete line (when the transport already split lines).
  [[nodiscard]] static core::Status feed_line(std::string_view line, const EventHandler& on_event);
  [[nodiscard]] std::size_t pending() const noexcept { return lines_.pending(); }

 private:
  http::LineSplitter lines_;
};

}  // namespace podid::watch
