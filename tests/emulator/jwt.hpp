#pragma once
// Compact JWS (JWT) encoding, parsing and signature checks for RS256 and PS256.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "tests/emulator/crypto.hpp"

namespace podid::emulator {

struct Jwt {
  boost::json::object header;
  boost::json::object claims;
  std::string signing_input;  // base64url(header) "." base64url(claims)
  std::string signature;      // raw bytes

  [[nodiscard]] std::string header_string(std::string_view name) const;
  [[nodiscard]] std::string claim_string(std::string_view name) const;
  // A numeric date claim, or -1 when absent or not a number.
  [[nodiscard]] long long claim_time(std::string_view name) const;
  // True when `aud` equals the value or is an array containing it.
  [[nodiscard]] bool audience_contains(std::string_view value) const;
};

[[nodiscard]] Result<std::string> jwt_sign(const Key& key, SignatureAlg alg, boost::json::object header,
                                           const boost::json::object& claims);
[[nodiscard]] Result<Jwt> jwt_parse(std::string_view token);
// Checks the signature with the header's alg (RS256 or PS256 only).
[[nodiscard]] bool jwt_verify(const Jwt& jwt, const Key& key);

}  // namespace podid::emulator
