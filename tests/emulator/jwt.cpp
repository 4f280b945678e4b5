#include "tests/emulator/jwt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace podid::emulator {
namespace {

Result<boost::json::object> decode_part(std::string_view part) {
  const std::string raw = PODID_TRY(base64url_decode(part));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(raw, ec);
  if (ec || !v.is_object())
    return core::make_error(core::ErrorCode::invalid, "JWT part is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

std::string Jwt::header_string(std::string_view name) const {
  const auto* v = header.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string Jwt::claim_string(std::string_view name) const {
  const auto* v = claims.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

long long Jwt::claim_time(std::string_view name) const {
  const auto* v = claims.if_contains(name);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<long long>(v->as_uint64());
  if (v->is_double()) return static_cast<long long>(v->as_double());
  return -1;
}

bool Jwt::audience_contains(std::string_view value) const {
  const auto* v = claims.if_contains("aud");
  if (v == nullptr) return false;
  if (v->is_string()) return v->as_string() == value;
  if (v->is_array()) {
    for (const auto& item : v->as_array()) {
      if (item.is_string() && item.as_string() == value) return true;
    }
  }
  return false;
}

Result<std::string> jwt_sign(const Key& key, SignatureAlg alg, boost::json::object header,
                             const boost::json::object& claims) {
  header["alg"] = alg == SignatureAlg::rs256 ? "RS256" : "PS256";
  if (!header.contains("typ")) header["typ"] = "JWT";
  std::string input = base64url_encode(boost::json::serialize(header));
  input += '.';
  input += base64url_encode(boost::json::serialize(claims));
  const std::string sig = PODID_TRY(key.sign(alg, input));
  return input + "." + base64url_encode(sig);
}

Result<Jwt> jwt_parse(std::string_view token) {
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return core::make_error(core::ErrorCode::invalid, "JWT must have three parts");
  }
  Jwt jwt;
  jwt.header = PODID_TRY(decode_part(token.substr(0, first)));
  jwt.claims = PODID_TRY(decode_part(token.substr(first + 1, second - first - 1)));
  jwt.signing_input = std::string(token.substr(0, second));
  jwt.signature = PODID_TRY(base64url_decode(token.substr(second + 1)));
  return jwt;
}

bool jwt_verify(const Jwt& jwt, const Key& key) {
  const auto alg = parse_signature_alg(jwt.header_string("alg"));
  if (!alg) return false;
  return key.verify(*alg, jwt.signing_input, jwt.signature);
}

}  // namespace podid::emulator
