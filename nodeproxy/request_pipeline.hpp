#pragma once
// RequestPipeline: the node proxy's HTTP handler. Routes the target (request_target.hpp), applies the
// per-route rule, and writes one JSON log line per request (route, pod, identity, clientId, resource,
// status, outcome, latencyMs; never a token) and, given NodeProxyMetrics, records it (proxy_metrics.hpp).
//
//   token            -> TokenHandler
//   token_spelling   -> 400 "Non-canonical token path" (never proxied: CVE-2022-23551 class)
//   unclean          -> 400 "Non-canonical request path" (never proxied)
//   instance         -> 403 unless allow_instance_metadata; then as metadata
//   metadata         -> Metadata-header rule (400), then relayed to the node's IMDS
//   host_token       -> 403: /host/token is disabled (its callers cannot be authenticated, see README)
//   not_found        -> 404, never proxied
// Thread-safety: one single-threaded executor.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>

#include "core/logger.hpp"
#include "nodeproxy/proxy_metrics.hpp"
#include "nodeproxy/token_handler.hpp"

namespace podid::nodeproxy {

struct PipelineCounters {
  std::uint64_t requests{0};
  std::map<int, std::uint64_t> by_status;
  std::map<std::string, std::uint64_t> by_outcome;
};

class RequestPipeline {
 public:
  // metrics: null records none.
  RequestPipeline(const PipelineOptions& options, TokenHandler& tokens, ImdsProxy& proxy, core::Logger logger,
                  NodeProxyMetrics* metrics = nullptr)
      : options_(options), tokens_(tokens), proxy_(proxy), logger_(std::move(logger)), metrics_(metrics) {}

  [[nodiscard]] boost::asio::awaitable<http::Response> handle(http::Request request);
  [[nodiscard]] const PipelineCounters& counters() const { return counters_; }

 private:
  [[nodiscard]] boost::asio::awaitable<http::Response> dispatch(const http::Request& request,
                                                                const RoutedTarget& target,
                                                                RequestRecord& record);
  const PipelineOptions& options_;
  TokenHandler& tokens_;
  ImdsProxy& proxy_;
  core::Logger logger_;
  NodeProxyMetrics* metrics_;
  PipelineCounters counters_;
};

}  // namespace podid::nodeproxy
