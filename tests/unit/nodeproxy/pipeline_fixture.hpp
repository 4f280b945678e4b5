#pragma once
// The request pipeline wired to fakes on one io_context: a MemorySnapshotSource the test publishes to, a
// FakeTokenSource, a FakeObjectIdImds for managed-mode object_id lookups, a fake node IMDS on loopback, a
// metrics registry the pipeline records into, and a MemorySink for the log. Requests are handed to the
// pipeline directly with the caller's address injected.

#include <boost/json/parse.hpp>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "core/logger.hpp"
#include "nodeproxy/imds_proxy.hpp"
#include "nodeproxy/request_pipeline.hpp"
#include "nodeproxy/snapshot_changes.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "nodeproxy/token_handler.hpp"
#include "unit/http/run_async.hpp"
#include "unit/nodeproxy/fakes.hpp"

namespace podid::testing {

inline constexpr const char* kPodA = "10.1.0.5";  // pod default/a: identity id-a (Assigned)
inline constexpr const char* kClientA = "aaaaaaaa-0000-0000-0000-00000000000a";
inline constexpr const char* kClientB = "bbbbbbbb-0000-0000-0000-00000000000b";

inline nodeproxy::SnapshotIdentity identity(const std::string& name, const std::string& client_id,
                                            std::optional<core::Phase> phase = core::Phase::assigned) {
  nodeproxy::SnapshotIdentity id;
  id.key = {"default", name};
  id.client_id = client_id;
  id.resource_id =
      "/subscriptions/s/resourcegroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" +
      name;
  id.principal_id = "0b1ec700-" + name;
  id.phase = phase;
  return id;
}

inline nodeproxy::SnapshotPod pod(const std::string& name, const std::string& ip,
                                  std::vector<nodeproxy::SnapshotIdentity> ids, core::Labels labels = {}) {
  return {{"default", name}, ip, "Running", std::move(labels), false, std::move(ids)};
}

struct PipelineFixture {
  explicit PipelineFixture(nodeproxy::PipelineOptions opts = {})
      : options(opts), tokens(io, clock), imds(io), logger(sink, clock, "test") {
    auto c = http::HttpClient::create(io.get_executor(), {});
    if (!c) throw std::runtime_error(c.error().describe());
    client = std::move(*c);
    proxy = std::make_unique<nodeproxy::ImdsProxy>(*client, imds.url(), std::chrono::seconds(5));
    changes = std::make_unique<nodeproxy::SnapshotChanges>(io.get_executor(), source);
    handler = std::make_unique<nodeproxy::TokenHandler>(options, source, *changes, tokens, *proxy, clock,
                                                        &object_ids);
    pipeline = std::make_unique<nodeproxy::RequestPipeline>(options, *handler, *proxy, logger, &metrics);
  }
  ~PipelineFixture() { run_async(io, imds.server().stop()); }
  PipelineFixture(const PipelineFixture&) = delete;
  PipelineFixture& operator=(const PipelineFixture&) = delete;

  // One node with pod a (id-a Assigned) unless the test publishes something else.
  void publish_default() {
    nodeproxy::NodeSnapshot s;
    s.node = "node-0";
    s.pods.push_back(pod("a", kPodA, {identity("id-a", kClientA)}));
    source.publish(s);
  }

  http::Response get(const std::string& target, const std::string& caller = kPodA, bool metadata = true,
                     const std::string& method = "GET") {
    http::Request r;
    r.method = method;
    r.url = target;
    r.remote_address = caller;
    if (metadata) r.headers.emplace_back("Metadata", "true");
    return run_async(io, pipeline->handle(std::move(r)));
  }

  static std::string token_url(const std::string& extra = {}) {
    return "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" +
           extra;
  }

  boost::asio::io_context io;
  nodeproxy::PipelineOptions options;
  core::FakeClock clock{1'700'000'000'000};
  nodeproxy::MemorySnapshotSource source;
  FakeTokenSource tokens;
  FakeObjectIdImds object_ids;
  FakeImds imds;
  core::MetricsRegistry registry;
  nodeproxy::NodeProxyMetrics metrics{registry};
  core::MemorySink sink;
  core::Logger logger;
  std::unique_ptr<http::HttpClient> client;
  std::unique_ptr<nodeproxy::ImdsProxy> proxy;
  std::unique_ptr<nodeproxy::SnapshotChanges> changes;
  std::unique_ptr<nodeproxy::TokenHandler> handler;
  std::unique_ptr<nodeproxy::RequestPipeline> pipeline;
};

inline std::string json_field(const http::Response& r, const char* field) {
  const auto v = boost::json::parse(r.body);
  const auto* f = v.as_object().if_contains(field);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string("<missing>");
}

}  // namespace podid::testing
