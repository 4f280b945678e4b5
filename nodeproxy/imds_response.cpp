#include "nodeproxy/imds_response.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace podid::nodeproxy {
namespace json = boost::json;

namespace {

http::Response json_response(int status, const json::object& body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(body);
  return r;
}

}  // namespace

http::Response imds_error(int status, std::string_view error, std::string_view description) {
  return json_response(status, {{"error", error}, {"error_description", description}});
}

http::Response imds_retry_later(int status, std::string_view description, std::chrono::seconds retry_after) {
  auto r = imds_error(status, status == 429 ? "too_many_requests" : "temporarily_unavailable", description);
  r.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, retry_after.count())));
  return r;
}

namespace {

json::object token_object(const Token& token, std::int64_t now_s) {
  const auto expires_in = std::max<std::int64_t>(0, token.expires_on - now_s);
  return {{"access_token", token.access_token.value()},
          {"client_id", token.client_id},
          {"expires_in", std::to_string(expires_in)},
          {"expires_on", std::to_string(token.expires_on)},
          {"ext_expires_in", std::to_string(expires_in)},
          {"not_before", std::to_string(token.not_before)},
          {"refresh_token", ""},
          {"resource", token.resource},
          {"token_type", token.token_type}};
}

}  // namespace

http::Response imds_token(const Token& token, std::int64_t now_s) {
  if (token.auxiliary.empty()) return json_response(200, token_object(token, now_s));
  json::array tokens;
  tokens.push_back(token_object(token, now_s));
  for (const auto& aux : token.auxiliary) tokens.push_back(token_object(aux, now_s));
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(tokens);
  return r;
}

}  // namespace podid::nodeproxy
