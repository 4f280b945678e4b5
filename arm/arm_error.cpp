#include "arm/arm_error.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "arm/token_response.hpp"
#include "core/model.hpp"

namespace podid::arm {

namespace {

struct ArmCode {
  std::string code;
  std::string message;
};

ArmCode read_error(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  ArmCode out;
  if (ec || !doc.is_object()) return out;
  const boost::json::object* err = &doc.as_object();
  if (const auto* nested = err->if_contains("error"); nested != nullptr && nested->is_object())
    err = &nested->as_object();
  if (const auto* c = err->if_contains("code"); c != nullptr && c->is_string()) out.code = c->as_string();
  if (const auto* m = err->if_contains("message"); m != nullptr && m->is_string())
    out.message = m->as_string();
  return out;
}

std::string describe(std::string_view what, const ArmCode& e, std::string_view fallback) {
  std::string out(what);
  out += ": ";
  out += e.code.empty() ? std::string(fallback) : e.code;
  if (!e.message.empty()) out += ": " + e.message;
  return out;
}

}  // namespace

core::ErrorCode classify_arm_code(std::string_view code) {
  using core::ErrorCode;
  if (core::iequals(code, "LinkedAuthorizationFailed") || core::iequals(code, "AuthorizationFailed") ||
      core::iequals(code, "InvalidAuthenticationToken") || core::iequals(code, "AuthenticationFailed"))
    return ErrorCode::permission;
  if (core::iequals(code, "FailedIdentityOperation") || core::iequals(code, "InvalidParameter") ||
      core::iequals(code, "BadRequest") || core::iequals(code, "InvalidRequestContent"))
    return ErrorCode::invalid;
  if (core::iequals(code, "NotFound") || core::iequals(code, "ResourceNotFound") ||
      core::iequals(code, "ResourceGroupNotFound"))
    return ErrorCode::not_found;
  if (core::iequals(code, "Conflict") || core::iequals(code, "OperationPreempted"))
    return ErrorCode::conflict;
  if (core::iequals(code, "TooManyRequests") || core::iequals(code, "SubscriptionRequestsThrottled"))
    return ErrorCode::throttled;
  return ErrorCode::transient;
}

core::Error arm_error(const http::Response& response, std::int64_t now_ms, std::string_view what) {
  using core::ErrorCode;
  const ArmCode e = read_error(response.body);
  ErrorCode code = ErrorCode::invalid;
  const int s = response.status;
  if (s == 404) {
    code = ErrorCode::not_found;
  } else if (s == 409) {
    code = ErrorCode::conflict;
  } else if (s == 429) {
    code = ErrorCode::throttled;
  } else if (s == 401 || s == 403) {
    code = ErrorCode::permission;
  } else if (s >= 500 || s == 408) {
    code = ErrorCode::transient;
  }
  core::Error out = core::make_error(code, describe(what, e, "HTTP " + std::to_string(s)));
  out.http_status = s;
  if (const auto ra = response.header("Retry-After")) {
    if (const auto ms = parse_retry_after(*ra, now_ms)) out.retry_after = std::chrono::milliseconds(*ms);
  }
  return out;
}

core::Error arm_error_from_body(std::string_view body, std::string_view what) {
  const ArmCode e = read_error(body);
  return core::make_error(classify_arm_code(e.code), describe(what, e, "operation failed"));
}

std::vector<std::string> named_identities(std::string_view message) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = message.find('\'', pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = message.find('\'', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view list = message.substr(open + 1, close - open - 1);
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      std::string_view one = list.substr(0, comma);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
      if (core::is_valid_identity_resource_id(one)) out.push_back(core::to_lower(one));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    pos = close;  // every text between two consecutive quotes: nested quotes shift pairs
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace podid::arm
