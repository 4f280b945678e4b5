#include "watch/status_error.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <string>

namespace podid::watch {
namespace json = boost::json;
using core::ErrorCode;

namespace {

std::string string_field(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string{v->get_string()} : std::string{};
}

ErrorCode classify(int code, std::string_view reason) {
  if (reason == "Expired" || reason == "Gone" || code == 410) return ErrorCode::gone;
  if (reason == "NotFound" || code == 404) return ErrorCode::not_found;
  if (reason == "Conflict" || reason == "AlreadyExists" || code == 409) return ErrorCode::conflict;
  if (reason == "TooManyRequests" || code == 429) return ErrorCode::throttled;
  if (reason == "Unauthorized" || reason == "Forbidden" || code == 401 || code == 403)
    return ErrorCode::permission;
  if (reason == "Invalid" || reason == "BadRequest" || reason == "UnsupportedMediaType" || code == 400 ||
      code == 415 || code == 422 || code == 405 || code == 406) {
    return ErrorCode::invalid;
  }
  return ErrorCode::transient;  // 5xx, Timeout, InternalError, ServiceUnavailable, and anything unknown
}

std::optional<std::chrono::milliseconds> retry_after_of(const json::object& status,
                                                        std::optional<std::string_view> header) {
  if (header) {
    long seconds = 0;
    const auto* end = header->data() + header->size();
    if (auto [p, ec] = std::from_chars(header->data(), end, seconds); ec == std::errc{} && p == end) {
      return std::chrono::seconds(seconds);
    }
  }
  if (const auto* details = status.if_contains("details"); details != nullptr && details->is_object()) {
    if (const auto* s = details->get_object().if_contains("retryAfterSeconds");
        s != nullptr && s->is_int64()) {
      return std::chrono::seconds(s->get_int64());
    }
  }
  return std::nullopt;
}

core::Error build(int code, const json::object& status, std::optional<std::string_view> retry_after_header,
                  std::string_view fallback_message) {
  const auto reason = string_field(status, "reason");
  auto message = string_field(status, "message");
  if (message.empty()) message = std::string{fallback_message};
  core::Error error =
      core::make_error(classify(code, reason), reason.empty() ? message : reason + ": " + message);
  error.http_status = code;
  if (error.code == ErrorCode::throttled || error.code == ErrorCode::transient) {
    error.retry_after = retry_after_of(status, retry_after_header);
  }
  return error;
}

}  // namespace

core::Error status_error(int http_status, std::string_view body,
                         std::optional<std::string_view> retry_after_header) {
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  static const json::object kEmpty;
  const json::object& status = (!ec && parsed.is_object()) ? parsed.get_object() : kEmpty;
  const auto excerpt = body.substr(0, 200);
  return build(http_status, status, retry_after_header,
               excerpt.empty() ? "HTTP " + std::to_string(http_status) : std::string{excerpt});
}

core::Error status_error(const json::object& status) {
  int code = 0;
  if (const auto* c = status.if_contains("code"); c != nullptr && c->is_int64()) {
    code = static_cast<int>(c->get_int64());
  }
  return build(code, status, std::nullopt, "watch error event");
}

}  // namespace podid::watch
