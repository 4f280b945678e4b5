#include "support/yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <regex>
#include <stdexcept>
#include <string>

namespace podid::testing {
namespace {

// The YAML 1.2 core schema's resolution of a plain (unquoted) scalar.
boost::json::value resolve_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  auto parse_int = [&s](size_t skip, int base) -> boost::json::value {
    std::int64_t out = 0;
    const char* first = s.data() + skip;
    if (*first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), out, base);
    if (ec == std::errc() && ptr == s.data() + s.size()) return out;
    return std::stod(s);  // out of int64 range: JSON number as double
  };
  if (std::regex_match(s, kDecimal)) return parse_int(0, 10);
  if (std::regex_match(s, kOctal)) return parse_int(2, 8);
  if (std::regex_match(s, kHex)) return parse_int(2, 16);
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return boost::json::string(s);
}

boost::json::value scalar_to_json(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return boost::json::string(text);  // quoted or !!str
  if (tag == "?" || tag.empty()) return resolve_plain(text);
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" || tag == "tag:yaml.org,2002:bool" ||
      tag == "tag:yaml.org,2002:null") {
    return resolve_plain(text);
  }
  throw std::runtime_error("unsupported YAML tag " + tag + " at line " +
                           std::to_string(node.Mark().line + 1));
}

boost::json::value to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      boost::json::array out;
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      boost::json::object out;
      for (const auto& entry : node) out[entry.first.Scalar()] = to_json(entry.second);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<boost::json::value> yaml_documents_to_json(std::string_view yaml_text) {
  std::vector<boost::json::value> out;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(std::string("malformed YAML: ") + e.what());
  }
  for (const auto& doc : documents) {
    if (doc.IsNull() || !doc.IsDefined()) continue;
    out.push_back(to_json(doc));
  }
  return out;
}

}  // namespace podid::testing
