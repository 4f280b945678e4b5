#pragma once
// Logging: a copyable Logger handle over a Sink (no global logger). Each record is one JSON line:
// {"ts": <ms>, "level": "info", "component": "mic", "msg": "Identity attached.", <fields>...}.
// Messages are constant, capitalised, past tense; field keys lowerCamelCase. Secret<T> fields serialise as
// "[redacted]". Thread-safety: Logger is as safe as its Sink; MemorySink is not thread-safe (tests only).

#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace podid::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

[[nodiscard]] std::string_view to_string(LogLevel level) noexcept;

// Holds a value that must never be logged; only value() reveals it.
template <class T>
class Secret {
 public:
  explicit Secret(T value) : value_(std::move(value)) {}
  [[nodiscard]] const T& value() const { return value_; }

 private:
  T value_;
};

// A log field: key and JSON value. Secrets become "[redacted]".
struct Field {
  Field(std::string_view k, boost::json::value v) : key(k), value(std::move(v)) {}
  template <class T>
  Field(std::string_view k, const Secret<T>&) : key(k), value("[redacted]") {}
  std::string key;
  boost::json::value value;
};

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  virtual ~Sink() = default;
  // Receives one complete JSON line without the trailing newline.
  virtual void write(LogLevel level, std::string_view line) = 0;
};

// Keeps lines in memory, for tests.
class MemorySink final : public Sink {
 public:
  void write(LogLevel, std::string_view line) override { lines_.emplace_back(line); }
  [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

class Logger {
 public:
  Logger(Sink& sink, const Clock& clock, std::string component, LogLevel min_level = LogLevel::info)
      : sink_(&sink), clock_(&clock), component_(std::move(component)), min_level_(min_level) {}

  // The same sink and clock, another component name.
  [[nodiscard]] Logger with_component(std::string component) const;

  void log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields = {}) const;
  void debug(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    log(LogLevel::debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    log(LogLevel::info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    log(LogLevel::warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    log(LogLevel::error, msg, fields);
  }

 private:
  Sink* sink_;
  const Clock* clock_;
  std::string component_;
  LogLevel min_level_;
};

}  // namespace podid::core
