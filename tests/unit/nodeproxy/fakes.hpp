#pragma once
// Working fakes for the node proxy's seams, with call logs: a TokenSource that mints tokens (or returns a
// configured error per client ID), optionally holding calls until released, and a fake IMDS on loopback
// (a real HttpServer) that records what reached it.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/http_server.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::testing {

class FakeTokenSource final : public nodeproxy::TokenSource {
 public:
  struct Call {
    std::string identity;  // ns/name
    std::string client_id;
    std::string resource;
  };
  FakeTokenSource(boost::asio::io_context& io, const core::Clock& clock) : clock_(clock), gate_(io) {
    gate_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  [[nodiscard]] boost::asio::awaitable<core::Result<nodeproxy::Token>> fetch(
      nodeproxy::TokenRequest request) override {
    calls_.push_back({request.identity.key.to_string(), request.identity.client_id, request.resource});
    if (hold_) {
      ++held_;
      auto [ec] = co_await gate_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      (void)ec;
      --held_;
    }
    if (const auto e = errors_.find(request.identity.client_id); e != errors_.end()) co_return e->second;
    nodeproxy::Token t;
    t.access_token = core::Secret<std::string>("tok-" + request.identity.client_id + "-" + request.resource +
                                               "-" + std::to_string(calls_.size()));
    t.not_before = clock_.now_ms() / 1000;
    t.expires_on = t.not_before + lifetime_s_;
    t.resource = request.resource;
    t.client_id = request.identity.client_id;
    co_return t;
  }

  void fail(const std::string& client_id, core::Error e) {
    errors_.insert_or_assign(client_id, std::move(e));
  }
  void hold() { hold_ = true; }
  void release() {
    hold_ = false;
    gate_.cancel();
  }
  void set_lifetime(std::int64_t seconds) { lifetime_s_ = seconds; }
  [[nodiscard]] const std::vector<Call>& calls() const { return calls_; }
  [[nodiscard]] int held() const { return held_; }

 private:
  const core::Clock& clock_;
  boost::asio::steady_timer gate_;
  bool hold_{false};
  int held_{0};
  std::int64_t lifetime_s_{3600};
  std::map<std::string, core::Error> errors_;
  std::vector<Call> calls_;
};

// A fake node IMDS: answers 200 {"from":"imds","path":...} and records every request it received.
class FakeImds {
 public:
  explicit FakeImds(boost::asio::io_context& io) {
    auto created =
        http::HttpServer::create(io.get_executor(), {}, [this](http::Request r) { return serve(r); });
    if (!created) throw std::runtime_error(created.error().describe());
    server_ = std::move(*created);
    server_->start();
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  [[nodiscard]] const std::vector<http::Request>& calls() const { return calls_; }
  [[nodiscard]] http::HttpServer& server() { return *server_; }

 private:
  boost::asio::awaitable<http::Response> serve(http::Request r) {
    calls_.push_back(r);
    http::Response res;
    res.status = 200;
    res.headers.emplace_back("Content-Type", "application/json");
    res.headers.emplace_back("X-Fake-Imds", "yes");
    res.body = R"({"from":"imds","target":")" + r.url + "\"}";
    co_return res;
  }
  std::unique_ptr<http::HttpServer> server_;
  std::vector<http::Request> calls_;
};

// A node IMDS asked by object ID (managed mode's object_id lookups): mints an unsigned JWT whose payload
// is the claims registered for that object ID; an unknown one is IMDS's refusal (permission).
class FakeObjectIdImds final : public nodeproxy::TokenSource {
 public:
  void add(const std::string& object_id, const std::string& claims_json) { claims_[object_id] = claims_json; }
  [[nodiscard]] boost::asio::awaitable<core::Result<nodeproxy::Token>> fetch(
      nodeproxy::TokenRequest request) override {
    calls_.push_back(request.identity.principal_id);
    const auto c = claims_.find(request.identity.principal_id);
    if (c == claims_.end())
      co_return core::make_error(core::ErrorCode::permission, "IMDS: Identity not found");
    nodeproxy::Token t;
    t.access_token =
        core::Secret<std::string>(base64url(R"({"alg":"RS256"})") + "." + base64url(c->second) + ".sig");
    t.expires_on = 1'700'003'600;
    t.resource = request.resource;
    co_return t;
  }
  [[nodiscard]] const std::vector<std::string>& calls() const { return calls_; }

  static std::string base64url(const std::string& raw) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : raw) {
      acc = (acc << 8) | static_cast<std::uint8_t>(ch);
      bits += 8;
      while (bits >= 6) out.push_back(kAlphabet[(acc >> (bits -= 6)) & 0x3f]);
    }
    if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
  }

 private:
  std::map<std::string, std::string> claims_;
  std::vector<std::string> calls_;
};

}  // namespace podid::testing
