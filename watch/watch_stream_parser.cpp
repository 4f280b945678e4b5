#include "watch/watch_stream_parser.hpp"

namespace podid::watch {

core::Status WatchStreamParser::feed(std::string_view chunk, const EventHandler& on_event) {
  return lines_.feed(chunk, [&on_event](std::string_view line) { return feed_line(line, on_event); });
}

core::Status WatchStreamParser::feed_line(std::string_view line, const EventHandler& on_event) {
  auto event = decode_watch_line(line);
  if (!event) return event.error();
  return on_event(std::move(*event));
}

}  // namespace podid::watch
