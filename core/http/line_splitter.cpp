#include "core/http/line_splitter.hpp"

namespace podid::http {
namespace {

core::Status deliver(std::string_view line, const LineSplitter::LineHandler& on_line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return core::ok();
  return on_line(line);
}

}  // namespace

core::Status LineSplitter::feed(std::string_view chunk, const LineHandler& on_line) {
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (buffer_.size() + chunk.size() > max_line_) {
        buffer_.clear();
        return core::make_error(core::ErrorCode::invalid, "Stream line exceeded the size limit");
      }
      buffer_.append(chunk);
      return core::ok();
    }
    const auto piece = chunk.substr(0, nl);
    chunk.remove_prefix(nl + 1);
    if (buffer_.empty()) {
      if (piece.size() > max_line_)
        return core::make_error(core::ErrorCode::invalid, "Stream line exceeded the size limit");
      PODID_TRY(deliver(piece, on_line));
      continue;
    }
    if (buffer_.size() + piece.size() > max_line_) {
      buffer_.clear();
      return core::make_error(core::ErrorCode::invalid, "Stream line exceeded the size limit");
    }
    buffer_.append(piece);
    std::string line;
    line.swap(buffer_);
    PODID_TRY(deliver(line, on_line));
  }
  return core::ok();
}

core::Status LineSplitter::finish(const LineHandler& on_line) {
  std::string line;
  line.swap(buffer_);
  return deliver(line, on_line);
}

}  // namespace podid::http
