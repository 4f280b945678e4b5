#include "nodeproxy/token_json.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <optional>

namespace podid::nodeproxy {
namespace json = boost::json;

namespace {

std::optional<std::int64_t> number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_string()) {
    const auto& s = v->as_string();
    std::int64_t out = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && p == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string{};
}

}  // namespace

core::Result<Token> parse_token_json(std::string_view body, std::string_view client_id,
                                     std::string_view resource, std::int64_t now_s) {
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return core::make_error(core::ErrorCode::transient, "Token endpoint answered something that is not JSON");
  const auto& o = v.as_object();
  const std::string access = text(o, "access_token");
  if (access.empty())
    return core::make_error(core::ErrorCode::transient, "Token endpoint answered no access_token");
  Token t;
  t.access_token = core::Secret<std::string>(access);
  const auto expires_in = number(o, "expires_in");
  const auto expires_on = number(o, "expires_on");
  if (!expires_on && !expires_in)
    return core::make_error(core::ErrorCode::transient, "Token endpoint answered no expiry");
  t.expires_on = expires_on ? *expires_on : now_s + *expires_in;
  t.not_before = number(o, "not_before").value_or(now_s);
  t.resource = text(o, "resource");
  if (t.resource.empty()) t.resource = std::string(resource);
  t.token_type = text(o, "token_type");
  if (t.token_type.empty()) t.token_type = "Bearer";
  t.client_id = text(o, "client_id");
  if (t.client_id.empty()) t.client_id = std::string(client_id);
  return t;
}

core::Error upstream_error(std::string_view upstream, int status, std::string_view body,
                           std::string_view retry_after_header) {
  std::string description;
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    description = text(v.as_object(), "error_description");
    if (description.empty()) description = text(v.as_object(), "error");
  }
  std::string msg = std::string(upstream) + " answered " + std::to_string(status);
  if (!description.empty()) msg += ": " + description;
  core::ErrorCode code = core::ErrorCode::permission;
  if (status == 429)
    code = core::ErrorCode::throttled;
  else if (status >= 500 || status == 404 || status == 410 || status == 408)
    code = core::ErrorCode::transient;
  auto e = core::make_error(code, std::move(msg));
  e.http_status = status;
  std::int64_t seconds = 0;
  const auto [p, fec] = std::from_chars(retry_after_header.data(),
                                        retry_after_header.data() + retry_after_header.size(), seconds);
  if (fec == std::errc{} && seconds > 0) e.retry_after = std::chrono::seconds(seconds);
  return e;
}

}  // namespace podid::nodeproxy
