#include "arm/token_response.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <ctime>

#include "core/model.hpp"

namespace podid::arm {

namespace {

std::optional<std::int64_t> number_of(const boost::json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  if (const auto* s = v->if_string()) {
    std::int64_t out = 0;
    const auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && ptr == s->data() + s->size()) return out;
  }
  return std::nullopt;
}

std::string string_of(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The first line of AAD's description: "AADSTS7000215: Invalid client secret provided. ..." without the
// trace and correlation IDs that follow.
std::string short_description(std::string description) {
  if (const auto cut = description.find(" Trace ID:"); cut != std::string::npos) description.resize(cut);
  if (const auto nl = description.find_first_of("\r\n"); nl != std::string::npos) description.resize(nl);
  return description;
}

core::Error classify(const http::Response& r, const boost::json::object* body, std::int64_t now_ms,
                     std::string_view who) {
  const std::string error = body != nullptr ? string_of(*body, "error") : std::string();
  std::string description = body != nullptr ? short_description(string_of(*body, "error_description")) : "";
  if (description.empty() && body != nullptr) description = string_of(*body, "message");
  std::string message = std::string(who) + " refused the token request";
  if (!error.empty()) message += ": " + error;
  if (!description.empty()) message += ": " + description;
  const bool refused =
      r.status == 401 || r.status == 403 || error == "invalid_client" || error == "unauthorized_client";
  // IMDS answers 404 and 410 while it starts; Azure says to retry them.
  const bool starting = !refused && (r.status == 404 || r.status == 410);
  core::ErrorCode code = core::ErrorCode::invalid;
  if (r.status == 429) {
    code = core::ErrorCode::throttled;
  } else if (r.status >= 500 || error == "temporarily_unavailable" || starting) {
    code = core::ErrorCode::transient;
  } else if (refused) {
    code = core::ErrorCode::permission;
  }
  core::Error e = core::make_error(code, std::move(message));
  e.http_status = r.status;
  if (const auto ra = r.header("Retry-After")) {
    if (const auto ms = parse_retry_after(*ra, now_ms)) e.retry_after = std::chrono::milliseconds(*ms);
  }
  return e;
}

}  // namespace

core::Result<AccessToken> parse_token_response(const http::Response& response, std::int64_t now_ms,
                                               std::string_view who) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(response.body, ec);
  const boost::json::object* body = !ec && doc.is_object() ? &doc.as_object() : nullptr;
  if (!response.success()) return classify(response, body, now_ms, who);
  if (body == nullptr)
    return core::make_error(core::ErrorCode::transient,
                            std::string(who) + " answered a token that is not JSON");
  const std::string token = string_of(*body, "access_token");
  if (token.empty())
    return core::make_error(core::ErrorCode::transient, std::string(who) + " answered without access_token");
  AccessToken out;
  out.value = core::Secret<std::string>(token);
  out.issued_ms = now_ms;
  if (const auto on = number_of(body->if_contains("expires_on"))) {
    out.expires_on_ms = *on * 1000;
  } else if (const auto in = number_of(body->if_contains("expires_in"))) {
    out.expires_on_ms = now_ms + *in * 1000;
  } else {
    return core::make_error(core::ErrorCode::transient,
                            std::string(who) + " answered a token without expires_on or expires_in");
  }
  return out;
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size())
    return std::max<std::int64_t>(seconds, 0) * 1000;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::int64_t at_ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  return std::max<std::int64_t>(at_ms - now_ms, 0);
}

}  // namespace podid::arm
