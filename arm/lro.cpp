#include "arm/lro.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "arm/arm_error.hpp"
#include "arm/token_response.hpp"
#include "core/model.hpp"

namespace podid::arm {

std::optional<PollTarget> poll_target(const http::Response& response) {
  if (const auto a = response.header("Azure-AsyncOperation"); a && !a->empty())
    return PollTarget{std::string(*a), true};
  if (const auto l = response.header("Location"); l && !l->empty()) return PollTarget{std::string(*l), false};
  return std::nullopt;
}

PollOutcome interpret_poll(const PollTarget& target, const http::Response& response, std::int64_t now_ms,
                           std::string_view what) {
  PollOutcome out;
  if (const auto ra = response.header("Retry-After")) out.retry_after_ms = parse_retry_after(*ra, now_ms);
  if (!response.success()) {
    out.state = PollState::failed;
    out.error = arm_error(response, now_ms, what);
    return out;
  }
  if (!target.async_operation) {
    out.state = response.status == 202 ? PollState::in_progress : PollState::succeeded;
    return out;
  }
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(response.body, ec);
  const auto* status = !ec && doc.is_object() ? doc.as_object().if_contains("status") : nullptr;
  if (status == nullptr || !status->is_string()) {
    out.state = PollState::failed;
    out.error = core::make_error(core::ErrorCode::transient,
                                 std::string(what) + ": the operation status has no \"status\"");
    return out;
  }
  const std::string_view s = status->as_string();
  if (core::iequals(s, "Succeeded")) {
    out.state = PollState::succeeded;
  } else if (core::iequals(s, "Failed") || core::iequals(s, "Canceled")) {
    out.state = PollState::failed;
    out.error = arm_error_from_body(response.body, std::string(what) + ": operation " + std::string(s));
    if (core::iequals(s, "Canceled") && out.error.code == core::ErrorCode::transient)
      out.error.code = core::ErrorCode::conflict;  // preempted by another update of the same resource
  }
  return out;
}

std::int64_t poll_delay_ms(std::optional<std::int64_t> retry_after_ms, std::int64_t min_ms,
                           std::int64_t default_ms, std::int64_t max_ms) {
  const std::int64_t d = retry_after_ms.value_or(default_ms);
  return std::clamp(d, min_ms, std::max(min_ms, max_ms));
}

}  // namespace podid::arm
