#pragma once
// NodeProxyMetrics: the node proxy's Prometheus families in a core::MetricsRegistry (every name, label and
// meaning is listed in docs/metrics.md, "Node proxy"). Two kinds of instruments:
//  - per event, recorded where the event happens: every request (the original NMI's
//    aadpodidentity_nmi_operations_duration_seconds), token requests by result and identity type, and every
//    upstream call (IMDS, AAD) by operation;
//  - state the components keep in their plain counter structs (token cache, replica, interception loop,
//    readiness), copied in by update() right before each scrape: counters grow by what the struct grew.
//
//   NodeProxyMetrics metrics(registry);
//   metrics.record_request(Route::token, 200, record, 0.012);
//   metrics.update({.cache = &cache_counters, .replica = &replica_counters, .ready = true});
//   http::Response page = metrics_page(registry, request);  // GET /metrics
//
// Thread-safety: recording is thread-safe (the registry is); update() is called from one thread at a time.
// Lifetime: the registry outlives it.

#include <cstdint>
#include <string_view>

#include "core/http/message.hpp"
#include "core/metrics.hpp"
#include "nodeproxy/pipeline_options.hpp"
#include "nodeproxy/request_target.hpp"
#include "nodeproxy/token_cache.hpp"

namespace podid::nodeproxy {

struct ReplicaCounters;
struct InterceptionCounters;

// What update() copies; null parts are skipped (no cache, no interception rules).
struct ProxyStateReading {
  const TokenCacheCounters* cache{nullptr};
  const ReplicaCounters* replica{nullptr};
  const InterceptionCounters* interception{nullptr};
  bool ready{false};
};

class NodeProxyMetrics {
 public:
  explicit NodeProxyMetrics(core::MetricsRegistry& registry);
  NodeProxyMetrics(const NodeProxyMetrics&) = delete;
  NodeProxyMetrics& operator=(const NodeProxyMetrics&) = delete;

  // One request answered by the pipeline (all routes), `seconds` after it arrived.
  void record_request(Route route, int status, const RequestRecord& record, double seconds);
  // One call to the node's IMDS or to AAD; `error` is empty on success, else the error class.
  void record_upstream(std::string_view operation, std::string_view error, double seconds);
  void update(const ProxyStateReading& reading);

 private:
  // A Counter fed from a plain monotonic count: inc() by the growth since the last copy.
  struct Mirror {
    core::Counter& counter;
    std::uint64_t last{0};
    void copy(std::uint64_t now);
  };
  core::HistogramFamily& operations_;
  core::CounterFamily& token_requests_;
  core::HistogramFamily& token_duration_;
  core::HistogramFamily& upstream_duration_;
  core::CounterFamily& upstream_errors_;
  Mirror cache_hits_, cache_misses_, cache_merged_, cache_evictions_;
  Mirror resyncs_, changes_, gaps_, replica_failures_;
  core::Gauge& synced_;
  core::Gauge& replica_seq_;
  Mirror rule_changes_, rule_failures_, conntrack_deleted_, conntrack_failures_;
  core::Gauge& rules_installed_;
  core::Gauge& unrouted_pods_;
  core::Gauge& unported_pods_;
  core::Gauge& ready_;
};

// The label values of token requests: issued, denied, not_ready, bad_request, upstream_error, pass_through
// (RequestRecord::result), and the identity type ("none" when no identity was chosen).
[[nodiscard]] std::string_view identity_type_label(const RequestRecord& record);

// GET /metrics (query ignored) -> 200 with the exposition; any other target -> 404.
[[nodiscard]] http::Response metrics_page(const core::MetricsRegistry& registry,
                                          const http::Request& request);

}  // namespace podid::nodeproxy
