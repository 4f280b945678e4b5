// Classification of the API server's Status answers into our error codes.
#include "watch/status_error.hpp"

#include <catch2/catch.hpp>

using podid::core::ErrorCode;
using podid::watch::status_error;

TEST_CASE("Status answers are classified by reason and code", "[unit]") {
  struct Row {
    int code;
    std::string reason;
    ErrorCode expected;
  };
  const auto row = GENERATE(
      Row{404, "NotFound", ErrorCode::not_found}, Row{409, "Conflict", ErrorCode::conflict},
      Row{409, "AlreadyExists", ErrorCode::conflict}, Row{410, "Expired", ErrorCode::gone},
      Row{410, "Gone", ErrorCode::gone}, Row{429, "TooManyRequests", ErrorCode::throttled},
      Row{401, "Unauthorized", ErrorCode::permission}, Row{403, "Forbidden", ErrorCode::permission},
      Row{422, "Invalid", ErrorCode::invalid}, Row{400, "BadRequest", ErrorCode::invalid},
      Row{415, "UnsupportedMediaType", ErrorCode::invalid}, Row{500, "InternalError", ErrorCode::transient},
      Row{503, "ServiceUnavailable", ErrorCode::transient}, Row{504, "Timeout", ErrorCode::transient});
  const std::string body =
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"m","reason":")" + row.reason +
      R"(","code":)" + std::to_string(row.code) + "}";
  const auto error = status_error(row.code, body, std::nullopt);
  CHECK(error.code == row.expected);
  CHECK(error.http_status == row.code);
  CHECK(error.message == row.reason + ": m");
}

TEST_CASE("Throttling carries Retry-After from the header or from the Status details", "[unit]") {
  const auto from_header =
      status_error(429, R"({"kind":"Status","reason":"TooManyRequests","code":429})", "3");
  CHECK(from_header.code == ErrorCode::throttled);
  REQUIRE(from_header.retry_after.has_value());
  CHECK(*from_header.retry_after == std::chrono::seconds(3));
  const auto from_details = status_error(
      504, R"({"kind":"Status","reason":"Timeout","code":504,"details":{"retryAfterSeconds":1}})", {});
  CHECK(from_details.code == ErrorCode::transient);
  REQUIRE(from_details.retry_after.has_value());
  CHECK(*from_details.retry_after == std::chrono::seconds(1));
}

TEST_CASE("A non-JSON error body is classified by the HTTP status alone", "[unit]") {
  const auto error = status_error(404, "404 page not found", std::nullopt);
  CHECK(error.code == ErrorCode::not_found);
  CHECK(error.message == "404 page not found");
  CHECK(status_error(502, "", std::nullopt).code == ErrorCode::transient);
}
