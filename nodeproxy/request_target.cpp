#include "nodeproxy/request_target.hpp"

#include <algorithm>

#include "core/model.hpp"

namespace podid::nodeproxy {

std::string_view to_string(Route route) noexcept {
  switch (route) {
    case Route::token:
      return "token";
    case Route::token_spelling:
      return "token_spelling";
    case Route::unclean:
      return "unclean";
    case Route::instance:
      return "instance";
    case Route::host_token:
      return "host_token";
    case Route::metadata:
      return "metadata";
    case Route::not_found:
      return "not_found";
  }
  return "not_found";
}

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX; leaves malformed escapes as they are. Returns nullopt on a malformed escape when strict.
std::optional<std::string> percent_decode(std::string_view in, bool strict, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
      if (strict) return std::nullopt;
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

bool starts_with_segment(std::string_view path, std::string_view prefix) {
  return path.size() >= prefix.size() && core::iequals(path.substr(0, prefix.size()), prefix) &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

bool is_clean_path(std::string_view path) noexcept {
  if (path.empty() || path.front() != '/') return false;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\' || c == '%') return false;
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if ((segment.empty() && !last) || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string loose_path(std::string_view path) {
  // Decode repeatedly (double encoding), bounded.
  std::string text(path);
  for (int round = 0; round < 4; ++round) {
    auto decoded = *percent_decode(text, false, false);
    if (decoded == text) break;
    text = std::move(decoded);
  }
  std::replace(text.begin(), text.end(), '\\', '/');
  text = core::to_lower(text);
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find('/', start), text.size());
    std::string segment = text.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(std::move(segment));
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& s : segments) out += "/" + s;
  return out.empty() ? "/" : out;
}

namespace {

// metadata…identity…oauth2…token in this order, as upstream's guard regex, on the loose reading.
bool looks_like_token_path(std::string_view loose) {
  std::size_t at = 0;
  for (std::string_view word : {"metadata", "identity", "oauth2", "token"}) {
    at = loose.find(word, at);
    if (at == std::string_view::npos) return false;
    at += word.size();
  }
  return true;
}

}  // namespace

RoutedTarget route_target(std::string_view target) {
  RoutedTarget out;
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  const bool clean = is_clean_path(out.path);
  if (clean && out.path == kTokenPath) {
    out.route = Route::token;
  } else if (looks_like_token_path(loose_path(out.path))) {
    out.route = Route::token_spelling;
  } else if (!clean) {
    out.route = Route::unclean;
  } else if (starts_with_segment(out.path, "/metadata/instance")) {
    out.route = Route::instance;
  } else if (starts_with_segment(out.path, "/host/token")) {
    out.route = Route::host_token;
  } else if (out.path.rfind("/metadata/", 0) == 0) {
    out.route = Route::metadata;
  } else {
    out.route = Route::not_found;
  }
  return out;
}

core::Result<QueryParams> parse_query(std::string_view query) {
  QueryParams out;
  std::size_t start = 0;
  while (start < query.size()) {
    const auto end = std::min(query.find('&', start), query.size());
    const auto pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true, true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(pair.substr(eq + 1), true, true);
    if (!name || !value)
      return core::make_error(core::ErrorCode::invalid, "Malformed percent-encoding in the query");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::optional<std::string> query_value(const QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return std::nullopt;
}

std::size_t query_count(const QueryParams& params, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(params.begin(), params.end(), [&](const auto& p) { return p.first == name; }));
}

}  // namespace podid::nodeproxy
