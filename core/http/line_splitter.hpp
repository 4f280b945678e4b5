#pragma once
// Splits a byte stream into '\n'-terminated lines. Chunk boundaries are arbitrary: a line may span many
// chunks and one chunk may hold many lines. A line longer than the cap is an error (protocol violation).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace podid::http {

class LineSplitter {
 public:
  using LineHandler = std::function<core::Status(std::string_view line)>;

  explicit LineSplitter(std::size_t max_line = std::size_t{16} << 20U) : max_line_(max_line) {}

  // Hands every complete line (without '\n' and a trailing '\r'; empty lines skipped) to on_line.
  // Stops at and returns the first error from on_line.
  [[nodiscard]] core::Status feed(std::string_view chunk, const LineHandler& on_line);

  // Bytes of an incomplete line held back.
  [[nodiscard]] std::size_t pending() const noexcept { return buffer_.size(); }
  // Flushes a final line that had no '\n' (end of stream).
  [[nodiscard]] core::Status finish(const LineHandler& on_line);

 private:
  std::size_t max_line_;
  std::string buffer_;
};

}  // namespace podid::http
