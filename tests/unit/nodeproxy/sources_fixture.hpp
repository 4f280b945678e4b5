#pragma once
// Token sources against a small loopback server: the fake upstream (IMDS or AAD) and a fixture with an HTTP
// client, a fake clock and a MemorySecretReader.

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "core/http/http_server.hpp"
#include "nodeproxy/secret_reader.hpp"
#include "unit/http/run_async.hpp"
#include "unit/nodeproxy/pipeline_fixture.hpp"

namespace podid::testing {

// Answers with the configured status and body (or what `respond` returns, when set); records requests.
struct Upstream {
  explicit Upstream(boost::asio::io_context& io) {
    auto s = http::HttpServer::create(io.get_executor(), {}, [this](http::Request r) { return serve(r); });
    REQUIRE(s.has_value());
    server = std::move(*s);
    server->start();
  }
  boost::asio::awaitable<http::Response> serve(http::Request r) {
    calls.push_back(r);
    if (respond) co_return respond(r);
    http::Response res;
    res.status = status;
    res.body = body;
    if (!retry_after.empty()) res.headers.emplace_back("Retry-After", retry_after);
    co_return res;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  int status{200};
  std::string body;
  std::string retry_after;
  std::function<http::Response(const http::Request&)> respond;
  std::vector<http::Request> calls;
  std::unique_ptr<http::HttpServer> server;
};

struct SourcesFixture {
  boost::asio::io_context io;
  core::FakeClock clock{1'700'000'000'000};
  Upstream upstream{io};
  std::unique_ptr<http::HttpClient> client;
  nodeproxy::MemorySecretReader secrets;
  SourcesFixture() { client = std::move(*http::HttpClient::create(io.get_executor(), {})); }
  ~SourcesFixture() { run_async(io, upstream.server->stop()); }
};

// A type-1 identity default/sp (client c1, tenant tenant-1) whose Secret is default/sp-secret.
inline nodeproxy::SnapshotIdentity service_principal() {
  auto id = identity("sp", "c1");
  id.type = core::IdentityType::service_principal;
  id.raw_type = 1;
  id.tenant_id = "tenant-1";
  id.secret_ref = {"sp-secret", ""};
  return id;
}

// The same with type 2 (certificate).
inline nodeproxy::SnapshotIdentity certificate_principal() {
  auto id = service_principal();
  id.type = core::IdentityType::service_principal_certificate;
  id.raw_type = 2;
  return id;
}

}  // namespace podid::testing
