#include "nodeproxy/node_proxy.hpp"

#include "core/http/http_client.hpp"
#include "core/http/http_server.hpp"
#include "nodeproxy/aad_token_source.hpp"
#include "nodeproxy/imds_proxy.hpp"
#include "nodeproxy/imds_token_source.hpp"
#include "nodeproxy/metered_token_source.hpp"
#include "nodeproxy/snapshot_changes.hpp"
#include "nodeproxy/token_handler.hpp"
#include "nodeproxy/typed_token_source.hpp"

namespace podid::nodeproxy {

struct NodeProxy::Parts {
  Parts(boost::asio::any_io_executor ex, NodeProxyOptions opts, SnapshotSource& source, core::Logger log)
      : executor(std::move(ex)), options(std::move(opts)), snapshots(source), logger(std::move(log)) {}
  boost::asio::any_io_executor executor;
  NodeProxyOptions options;
  SnapshotSource& snapshots;
  core::Logger logger;
  std::unique_ptr<http::HttpClient> client;
  std::unique_ptr<ImdsTokenSource> imds_tokens;
  std::unique_ptr<AadTokenSource> aad_tokens;
  std::unique_ptr<NodeProxyMetrics> metrics;
  std::unique_ptr<MeteredTokenSource> metered_imds;
  std::unique_ptr<MeteredTokenSource> metered_aad;
  std::unique_ptr<MeteredTokenSource> metered_object_ids;
  std::unique_ptr<TypedTokenSource> typed;
  std::unique_ptr<TokenCache> cache;
  std::unique_ptr<ImdsProxy> proxy;
  std::unique_ptr<SnapshotChanges> changes;
  std::unique_ptr<TokenHandler> token_handler;
  std::unique_ptr<RequestPipeline> pipeline;
  std::unique_ptr<http::HttpServer> server;
};

NodeProxy::NodeProxy(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
NodeProxy::~NodeProxy() = default;

core::Result<std::unique_ptr<NodeProxy>> NodeProxy::create(const boost::asio::any_io_executor& executor,
                                                           NodeProxyOptions options,
                                                           SnapshotSource& snapshots, SecretReader& secrets,
                                                           const core::Clock& clock, core::Logger logger) {
  auto p = std::unique_ptr<Parts>(new Parts(executor, std::move(options), snapshots, std::move(logger)));
  http::ClientOptions client_options;
  client_options.tls = p->options.aad_tls;
  client_options.user_agent = "podid-nodeproxy/0.1";
  p->client = PODID_TRY(http::HttpClient::create(executor, std::move(client_options)));
  const auto timeout = p->options.upstream_timeout;
  p->imds_tokens = std::make_unique<ImdsTokenSource>(*p->client, p->options.imds_url, clock, timeout);
  p->aad_tokens = std::make_unique<AadTokenSource>(*p->client, secrets, p->options.authority_host, clock,
                                                   timeout, p->options.trusted_ad_endpoints);
  TokenSource* msi = p->imds_tokens.get();
  TokenSource* sp = p->aad_tokens.get();
  TokenSource* object_ids = p->imds_tokens.get();  // uncached: see object_id_claims.hpp
  if (p->options.metrics != nullptr) {
    p->metrics = std::make_unique<NodeProxyMetrics>(*p->options.metrics);
    p->metered_imds =
        std::make_unique<MeteredTokenSource>(*msi, *p->metrics, "adal_token_msi_userassignedid");
    p->metered_aad = std::make_unique<MeteredTokenSource>(*sp, *p->metrics, "adal_token");
    p->metered_object_ids =
        std::make_unique<MeteredTokenSource>(*msi, *p->metrics, "adal_token_msi_objectid");
    msi = p->metered_imds.get();
    sp = p->metered_aad.get();
    object_ids = p->metered_object_ids.get();
  }
  p->typed = std::make_unique<TypedTokenSource>(*msi, *sp);
  TokenSource* tokens = p->typed.get();
  if (p->options.cache_tokens) {
    p->cache = std::make_unique<TokenCache>(*p->typed, clock, p->options.cache);
    tokens = p->cache.get();
  }
  p->proxy = std::make_unique<ImdsProxy>(*p->client, p->options.imds_url, timeout);
  Parts* raw = p.get();
  p->changes = std::make_unique<SnapshotChanges>(executor, snapshots, [raw] {
    if (raw->cache) raw->cache->retain(*raw->snapshots.current());
  });
  p->token_handler = std::make_unique<TokenHandler>(p->options.pipeline, snapshots, *p->changes, *tokens,
                                                    *p->proxy, clock, object_ids);
  p->pipeline = std::make_unique<RequestPipeline>(p->options.pipeline, *p->token_handler, *p->proxy,
                                                  p->logger.with_component("nodeproxy"), p->metrics.get());
  return std::unique_ptr<NodeProxy>(new NodeProxy(std::move(p)));
}

core::Status NodeProxy::start() {
  http::ServerOptions server_options;
  server_options.address = parts_->options.listen_address;
  server_options.port = parts_->options.port;
  server_options.read_timeout = parts_->options.read_timeout;
  RequestPipeline* pipeline = parts_->pipeline.get();
  auto server = http::HttpServer::create(parts_->executor, server_options, [pipeline](http::Request r) {
    return pipeline->handle(std::move(r));
  });
  if (!server) return server.error();
  parts_->server = std::move(*server);
  parts_->server->start();
  parts_->logger.info("Node proxy listening.", {{"address", parts_->options.listen_address.c_str()},
                                                {"port", static_cast<std::int64_t>(parts_->server->port())}});
  return core::ok();
}

boost::asio::awaitable<void> NodeProxy::stop() {
  if (parts_->server) co_await parts_->server->stop();
}

std::uint16_t NodeProxy::port() const {
  return parts_->server ? parts_->server->port() : 0;
}

const PipelineCounters& NodeProxy::counters() const {
  return parts_->pipeline->counters();
}

NodeProxyMetrics* NodeProxy::metrics() const {
  return parts_->metrics.get();
}

const TokenCacheCounters* NodeProxy::cache_counters() const {
  return parts_->cache ? &parts_->cache->counters() : nullptr;
}

}  // namespace podid::nodeproxy
