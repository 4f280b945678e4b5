#pragma once
// Test helper: a tiny ARM on a real podid::http server (plain HTTP, loopback) with one VM. GET answers the
// VM, PATCH applies the identity map and starts an operation followed through Location only (202 until
// `polls_until_done` polls, then 200). `script` holds canned answers (409, 429, 503, ...) served before the
// normal ones. Also a TokenSource handing out a fixed token that counts invalidations.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "arm/token_source.hpp"
#include "core/http/http_server.hpp"

namespace podid::arm::testing {

class StaticTokenSource final : public TokenSource {
 public:
  boost::asio::awaitable<core::Result<AccessToken>> token() override {
    AccessToken t;
    t.value = core::Secret<std::string>("token-" + std::to_string(invalidations_));
    t.expires_on_ms = std::int64_t{1} << 60U;
    co_return t;
  }
  void invalidate() override { ++invalidations_; }
  [[nodiscard]] int invalidations() const { return invalidations_; }

 private:
  int invalidations_{0};
};

struct FakeArm {
  std::set<std::string> identities;  // attached, lower case
  std::deque<http::Response> script;
  int polls_until_done{2};
  int polls{0};
  std::string poll_base;  // where Location points; empty: this server
  std::vector<http::Request> requests;

  boost::asio::awaitable<http::Response> handle(std::string base, http::Request req) {
    requests.push_back(req);
    if (!script.empty()) {
      auto r = script.front();
      script.pop_front();
      co_return r;
    }
    http::Response r;
    r.status = 200;
    r.headers = {{"x-ms-ratelimit-remaining-subscription-reads", "11999"},
                 {"x-ms-ratelimit-remaining-subscription-writes", "1199"}};
    if (req.url.starts_with("/op/")) {
      ++polls;
      if (polls < polls_until_done) {
        r.status = 202;
        r.headers.emplace_back("Location", (poll_base.empty() ? base : poll_base) + "/op/1");
        r.headers.emplace_back("Retry-After", "0");
      }
      co_return r;
    }
    if (req.method == "PATCH") {
      const auto body = boost::json::parse(req.body).as_object();
      const auto& id = body.at("identity").as_object();
      if (const auto* map = id.if_contains("userAssignedIdentities")) {
        for (const auto& [k, v] : map->as_object()) {
          if (v.is_null()) {
            identities.erase(std::string(k));
          } else {
            identities.insert(std::string(k));
          }
        }
      }
      polls = 0;
      r.status = 202;
      r.headers.emplace_back("Location", (poll_base.empty() ? base : poll_base) + "/op/1");
      r.headers.emplace_back("Retry-After", "0");
      co_return r;
    }
    boost::json::object map;
    for (const auto& i : identities) map[i] = boost::json::object{{"clientId", "c"}, {"principalId", "p"}};
    boost::json::object identity{{"type", identities.empty() ? "None" : "UserAssigned"}};
    if (!identities.empty()) identity["userAssignedIdentities"] = map;
    r.body = boost::json::serialize(
        boost::json::object{{"id", "vm"},
                            {"identity", identity},
                            {"properties", boost::json::object{{"provisioningState", "Succeeded"}}}});
    co_return r;
  }
};

inline http::Response canned(int status, std::string code, http::Headers headers = {}) {
  return http::Response{status, std::move(headers),
                        R"({"error":{"code":")" + code + R"(","message":"canned"}})"};
}

}  // namespace podid::arm::testing
