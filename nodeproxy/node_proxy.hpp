#pragma once
// NodeProxy: the node proxy's IMDS token API, composed for a main. It owns the HTTP server, the HTTP
// client for the node's IMDS and AAD, the token sources and cache, and the request pipeline; it reads
// its NodeSnapshot from a SnapshotSource and Kubernetes Secrets through a SecretReader.
//
//   auto proxy = NodeProxy::create(io.get_executor(), options, snapshots, secrets, clock, logger);
//   (*proxy)->start();            // binds in the calling thread's network namespace, then serves
//   io.run();  ...  co_await (*proxy)->stop();
//
// Thread-safety: run the executor on one thread. Lifetime: the source, reader, clock and log sink outlive
// it; stop() before destroying it, and destroy it while the executor runs no more of its handlers.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/tls_config.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "nodeproxy/pipeline_options.hpp"
#include "nodeproxy/proxy_metrics.hpp"
#include "nodeproxy/request_pipeline.hpp"
#include "nodeproxy/secret_reader.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "nodeproxy/token_cache.hpp"

namespace podid::nodeproxy {

struct NodeProxyOptions {
  std::string listen_address{"127.0.0.1"};
  std::uint16_t port{2579};  // 0: ephemeral, see port()
  std::string imds_url{"http://169.254.169.254"};
  std::string authority_host{"https://login.microsoftonline.com"};
  std::vector<std::string>
      trusted_ad_endpoints;       // further AAD authorities an AzureIdentity's adEndpoint may name
  http::TlsClientConfig aad_tls;  // CA for the authority (empty: system CAs)
  std::chrono::milliseconds upstream_timeout{std::chrono::seconds(10)};  // per IMDS or AAD call
  std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};      // to receive one request
  PipelineOptions pipeline;
  bool cache_tokens{true};
  TokenCacheOptions cache;
  core::MetricsRegistry* metrics{nullptr};  // null: no metrics; else outlives the NodeProxy
};

class NodeProxy {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<NodeProxy>> create(
      const boost::asio::any_io_executor& executor, NodeProxyOptions options, SnapshotSource& snapshots,
      SecretReader& secrets, const core::Clock& clock, core::Logger logger);
  ~NodeProxy();
  NodeProxy(const NodeProxy&) = delete;
  NodeProxy& operator=(const NodeProxy&) = delete;

  // Listens on listen_address:port (errors: io when the address is taken or unusable) and serves.
  [[nodiscard]] core::Status start();
  [[nodiscard]] boost::asio::awaitable<void> stop();
  [[nodiscard]] std::uint16_t port() const;

  [[nodiscard]] const PipelineCounters& counters() const;
  [[nodiscard]] const TokenCacheCounters* cache_counters() const;  // null when the cache is off
  [[nodiscard]] NodeProxyMetrics* metrics() const;                 // null without options.metrics

 private:
  struct Parts;
  explicit NodeProxy(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace podid::nodeproxy
