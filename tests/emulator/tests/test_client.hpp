#pragma once
// Test helpers: a libcurl HTTP(S) client that trusts the emulator's CA, and a small emulated cloud.

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/emulator/config.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/http_message.hpp"
#include "tests/emulator/jwt.hpp"

namespace podid::emulator::testing {

struct Reply {
  long status{0};
  std::map<std::string, std::string, CaseLess> headers;
  std::string body;
  [[nodiscard]] boost::json::value json() const;
  [[nodiscard]] std::string header(const std::string& name) const;
};

struct Call {
  Call(std::string m, std::string u, std::vector<std::string> h = {}, std::string b = {},
       long timeout = 10000)
      : method(std::move(m)),
        url(std::move(u)),
        headers(std::move(h)),
        body(std::move(b)),
        timeout_ms(timeout) {}
  std::string method;
  std::string url;
  std::vector<std::string> headers;
  std::string body;
  long timeout_ms;
};

// Performs one request; status 0 when the transfer failed (e.g. timed out).
[[nodiscard]] Reply http(const Call& call, const std::string& ca_pem = {});

inline constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
inline constexpr const char* kSub = "00000000-0000-0000-0000-00000000aaaa";
inline constexpr const char* kRg = "nodes";
inline constexpr const char* kClient = "c0ffee00-0000-0000-0000-000000000001";
inline constexpr const char* kSecret = "s3cret-value";
inline constexpr const char* kAppOid = "0b1ec700-0000-0000-0000-0000000000a1";

// One tenant with one app (secret), one subscription with resource groups "nodes" and "ids",
// identities id-a and id-b in "ids", a VM vm-0 with id-a attached, a scale set ss-0 (capacity 2).
[[nodiscard]] EmulatorConfig small_cloud();
[[nodiscard]] std::string identity_id(const std::string& name);
[[nodiscard]] std::string vm_id(const std::string& name);
[[nodiscard]] std::string vmss_id(const std::string& name);

// A v1 client-credentials token for `resource` (ARM by default) from the emulator's AAD.
[[nodiscard]] std::string arm_token(const Emulator& emu,
                                    const std::string& resource = "https://management.azure.com/");

// `token` parsed and its signature verified with the key its `kid` names in the tenant's JWKS, as a relying
// party would (through the published JWKS, not the emulator's private keys).
[[nodiscard]] Result<Jwt> verified_jwt(const Emulator& emu, const std::string& tenant,
                                       const std::string& token);

}  // namespace podid::emulator::testing
