#pragma once
// The stored JSON form of the model types (used by the event and state codecs; not Kubernetes' form).
// Keys are lowerCamelCase; object keys are "ns/name" strings; ARM targets are their subject strings.
// Readers record problems in the JsonReader (ErrorCode::corrupt at the top level).

#include <boost/json/value.hpp>

#include "core/events.hpp"
#include "core/json_reader.hpp"
#include "core/model.hpp"

namespace podid::core::codec {

[[nodiscard]] boost::json::value to_json(const Pod& v);
[[nodiscard]] boost::json::value to_json(const AzureIdentity& v);
[[nodiscard]] boost::json::value to_json(const AzureIdentityBinding& v);
[[nodiscard]] boost::json::value to_json(const AzurePodIdentityException& v);
[[nodiscard]] boost::json::value to_json(const Node& v);
[[nodiscard]] boost::json::value to_json(const AssignedIdentity& v);
[[nodiscard]] boost::json::value to_json(const Settings& v);
[[nodiscard]] boost::json::value to_json(const VmIdentity& v);
[[nodiscard]] boost::json::value to_json(const Labels& v);
[[nodiscard]] boost::json::value to_json(const std::vector<std::string>& v);
[[nodiscard]] boost::json::value to_json(const std::vector<Seq>& v);

void read(JsonReader& r, Pod& out);
void read(JsonReader& r, AzureIdentity& out);
void read(JsonReader& r, AzureIdentityBinding& out);
void read(JsonReader& r, AzurePodIdentityException& out);
void read(JsonReader& r, Node& out);
void read(JsonReader& r, AssignedIdentity& out);
void read(JsonReader& r, Settings& out);
void read(JsonReader& r, VmIdentity& out);

[[nodiscard]] std::vector<Seq> read_seqs(JsonReader& r, std::string_view key);
[[nodiscard]] ArmTarget read_target(JsonReader& r, std::string_view key);

template <class K>
[[nodiscard]] boost::json::value key_json(const K& k) {
  return boost::json::value(k.to_string());
}

// Reads an "ns/name" key; either part may be empty, the slash is required.
template <class K>
[[nodiscard]] K read_key(JsonReader& r, std::string_view key) {
  const auto text = r.str(key);
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    if (r.ok()) r.fail(key, "expected <namespace>/<name>");
    return {};
  }
  return K{text.substr(0, slash), text.substr(slash + 1)};
}

// Reads a named child object into T (required).
template <class T>
[[nodiscard]] T read_child(JsonReader& r, std::string_view key) {
  T out{};
  auto c = r.child(key);
  read(c, out);
  return out;
}

}  // namespace podid::core::codec
