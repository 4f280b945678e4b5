#pragma once
// JsonReader: reads fields of a JSON object and remembers the first problem with its path
// ("spec.type: expected an integer"), so decoders read straight through and check status() once.

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"

namespace podid::core {

class JsonReader {
 public:
  // `what` prefixes error messages ("AzureIdentity ns/name"); `code` is the class of the error returned.
  // With case_insensitive_keys a key matches when no exact key exists but one equal ignoring ASCII case does
  // (Go's encoding/json rule, which read pre-1.6.0 objects).
  JsonReader(const boost::json::value& v, std::string what, ErrorCode code,
             bool case_insensitive_keys = false);

  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] const boost::json::value* find(std::string_view key) const;

  [[nodiscard]] std::string str(std::string_view key);  // required
  [[nodiscard]] std::string opt_str(std::string_view key, std::string_view fallback = {});
  [[nodiscard]] std::int64_t i64(std::string_view key);  // required
  [[nodiscard]] std::int64_t opt_i64(std::string_view key, std::int64_t fallback = 0);
  [[nodiscard]] std::uint64_t u64(std::string_view key);  // required
  [[nodiscard]] bool opt_bool(std::string_view key, bool fallback = false);
  [[nodiscard]] std::vector<std::string> strings(std::string_view key);  // optional array of strings
  [[nodiscard]] std::vector<std::int64_t> ints(std::string_view key);    // optional array of integers
  [[nodiscard]] Labels string_map(std::string_view key);                 // optional object of strings
  [[nodiscard]] JsonReader child(std::string_view key);                  // required object
  [[nodiscard]] JsonReader opt_child(std::string_view key);              // missing or null: empty object
  [[nodiscard]] std::vector<JsonReader> items(std::string_view key);     // optional array of objects

  // Records a problem at this object's path (first one wins).
  void fail(std::string_view key, std::string_view problem);
  [[nodiscard]] bool ok() const { return !first_->has_value(); }
  [[nodiscard]] Status status() const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  JsonReader(const boost::json::value* v, std::string path, const JsonReader& parent);
  [[nodiscard]] std::string path_of(std::string_view key) const;

  const boost::json::object* obj_{nullptr};
  std::string what_;
  std::string path_;
  ErrorCode code_;
  bool case_insensitive_;
  std::shared_ptr<std::optional<std::string>> first_;
};

// Finds `key` in `obj`: the exact key if present, else (when allowed) the first key equal ignoring ASCII
// case.
[[nodiscard]] const boost::json::value* find_key(const boost::json::object& obj, std::string_view key,
                                                 bool case_insensitive);

}  // namespace podid::core
