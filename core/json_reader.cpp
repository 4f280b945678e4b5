#include "core/json_reader.hpp"

#include <boost/json.hpp>

namespace podid::core {
namespace {

const boost::json::value& empty_object() {
  static const boost::json::value kEmpty = boost::json::object{};
  return kEmpty;
}

}  // namespace

const boost::json::value* find_key(const boost::json::object& obj, std::string_view key,
                                   bool case_insensitive) {
  if (const auto* exact = obj.if_contains(key)) return exact;
  if (!case_insensitive) return nullptr;
  for (const auto& kv : obj)
    if (iequals(kv.key(), key)) return &kv.value();
  return nullptr;
}

JsonReader::JsonReader(const boost::json::value& v, std::string what, ErrorCode code,
                       bool case_insensitive_keys)
    : obj_(v.if_object()),
      what_(std::move(what)),
      code_(code),
      case_insensitive_(case_insensitive_keys),
      first_(std::make_shared<std::optional<std::string>>()) {
  if (obj_ == nullptr) {
    obj_ = &empty_object().get_object();
    *first_ = "expected a JSON object";
  }
}

JsonReader::JsonReader(const boost::json::value* v, std::string path, const JsonReader& parent)
    : obj_(v != nullptr ? v->if_object() : nullptr),
      what_(parent.what_),
      path_(std::move(path)),
      code_(parent.code_),
      case_insensitive_(parent.case_insensitive_),
      first_(parent.first_) {
  if (obj_ == nullptr) obj_ = &empty_object().get_object();
}

std::string JsonReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void JsonReader::fail(std::string_view key, std::string_view problem) {
  if (first_->has_value()) return;
  *first_ = path_of(key) + ": " + std::string(problem);
}

Status JsonReader::status() const {
  if (!first_->has_value()) return core::ok();
  return make_error(code_, what_.empty() ? **first_ : what_ + ": " + **first_);
}

bool JsonReader::has(std::string_view key) const {
  const auto* v = find(key);
  return v != nullptr && !v->is_null();
}

const boost::json::value* JsonReader::find(std::string_view key) const {
  return find_key(*obj_, key, case_insensitive_);
}

std::string JsonReader::str(std::string_view key) {
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) {
    fail(key, "required field is missing");
    return {};
  }
  return opt_str(key);
}

std::string JsonReader::opt_str(std::string_view key, std::string_view fallback) {
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return std::string(fallback);
  if (const auto* s = v->if_string()) return std::string(s->begin(), s->end());
  fail(key, "expected a string");
  return std::string(fallback);
}

std::int64_t JsonReader::i64(std::string_view key) {
  if (!has(key)) {
    fail(key, "required field is missing");
    return 0;
  }
  return opt_i64(key);
}

std::int64_t JsonReader::opt_i64(std::string_view key, std::int64_t fallback) {
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (const auto* i = v->if_int64()) return *i;
  if (const auto* u = v->if_uint64(); u != nullptr && *u <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(*u);
  fail(key, "expected an integer");
  return fallback;
}

std::uint64_t JsonReader::u64(std::string_view key) {
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) {
    fail(key, "required field is missing");
    return 0;
  }
  if (const auto* u = v->if_uint64()) return *u;
  if (const auto* i = v->if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  fail(key, "expected a non-negative integer");
  return 0;
}

bool JsonReader::opt_bool(std::string_view key, bool fallback) {
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (const auto* b = v->if_bool()) return *b;
  fail(key, "expected true or false");
  return fallback;
}

std::vector<std::string> JsonReader::strings(std::string_view key) {
  std::vector<std::string> out;
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return out;
  const auto* a = v->if_array();
  if (a == nullptr) {
    fail(key, "expected an array of strings");
    return out;
  }
  for (const auto& e : *a) {
    if (const auto* s = e.if_string()) {
      out.emplace_back(s->begin(), s->end());
    } else {
      fail(key, "expected an array of strings");
      return {};
    }
  }
  return out;
}

std::vector<std::int64_t> JsonReader::ints(std::string_view key) {
  std::vector<std::int64_t> out;
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return out;
  const auto* a = v->if_array();
  if (a == nullptr) {
    fail(key, "expected an array of integers");
    return out;
  }
  for (const auto& e : *a) {
    if (const auto* i = e.if_int64()) {
      out.push_back(*i);
    } else if (const auto* u = e.if_uint64(); u != nullptr && *u <= static_cast<std::uint64_t>(INT64_MAX)) {
      out.push_back(static_cast<std::int64_t>(*u));
    } else {
      fail(key, "expected an array of integers");
      return {};
    }
  }
  return out;
}

Labels JsonReader::string_map(std::string_view key) {
  Labels out;
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return out;
  const auto* o = v->if_object();
  if (o == nullptr) {
    fail(key, "expected an object of strings");
    return out;
  }
  for (const auto& kv : *o) {
    const auto* s = kv.value().if_string();
    if (s == nullptr) {
      fail(path_of(key) + "." + std::string(kv.key()), "expected a string");
      return {};
    }
    out.emplace(std::string(kv.key()), std::string(s->begin(), s->end()));
  }
  return out;
}

JsonReader JsonReader::child(std::string_view key) {
  const auto* v = find(key);
  if (v == nullptr || !v->is_object())
    fail(key, v == nullptr ? "required field is missing" : "expected an object");
  return JsonReader(v, path_of(key), *this);
}

JsonReader JsonReader::opt_child(std::string_view key) {
  const auto* v = find(key);
  if (v != nullptr && !v->is_null() && !v->is_object()) fail(key, "expected an object");
  return JsonReader(v, path_of(key), *this);
}

std::vector<JsonReader> JsonReader::items(std::string_view key) {
  std::vector<JsonReader> out;
  const auto* v = find(key);
  if (v == nullptr || v->is_null()) return out;
  const auto* a = v->if_array();
  if (a == nullptr) {
    fail(key, "expected an array");
    return out;
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto& e = (*a)[i];
    const auto item_path = path_of(key) + "[" + std::to_string(i) + "]";
    if (!e.is_object()) fail(std::string(key) + "[" + std::to_string(i) + "]", "expected an object");
    out.push_back(JsonReader(&e, item_path, *this));
  }
  return out;
}

}  // namespace podid::core
