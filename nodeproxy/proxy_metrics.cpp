#include "nodeproxy/proxy_metrics.hpp"

#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/replica.hpp"

namespace podid::nodeproxy {

namespace {

// The original labelled by URL path; a path a pod chose would let any pod grow the registry without bound,
// so the label is the route's canonical path (or its name for routes without one).
std::string operation_type(Route route) {
  switch (route) {
    case Route::token:
      return "/metadata/identity/oauth2/token";
    case Route::host_token:
      return "/host/token";
    case Route::instance:
      return "/metadata/instance";
    case Route::metadata:
      return "/metadata";
    default:
      return std::string(to_string(route));
  }
}

core::Counter& single(core::MetricsRegistry& r, std::string_view name, std::string_view help) {
  return r.counter(name, help).with({});
}

core::Gauge& single_gauge(core::MetricsRegistry& r, std::string_view name, std::string_view help) {
  return r.gauge(name, help).with({});
}

}  // namespace

void NodeProxyMetrics::Mirror::copy(std::uint64_t now) {
  if (now > last) counter.inc(static_cast<double>(now - last));
  last = now;
}

NodeProxyMetrics::NodeProxyMetrics(core::MetricsRegistry& r)
    : operations_(
          r.histogram("aadpodidentity_nmi_operations_duration_seconds",
                      "Requests answered by the node proxy, by path, status, pod namespace and resource.",
                      core::duration_buckets(), {"operation_type", "status_code", "namespace", "resource"})),
      token_requests_(r.counter("aadpodidentity_nmi_token_requests_total", "Token requests by result.",
                                {"result", "identity_type"})),
      token_duration_(r.histogram("aadpodidentity_nmi_token_request_duration_seconds",
                                  "Latency of token requests, arrival to answer.", core::duration_buckets(),
                                  {"result"})),
      upstream_duration_(r.histogram("aadpodidentity_imds_operations_duration_seconds",
                                     "Latency of calls to the node's IMDS and to AAD.",
                                     core::duration_buckets(), {"operation_type"})),
      upstream_errors_(r.counter("aadpodidentity_imds_operations_errors_count",
                                 "Failed calls to the node's IMDS and to AAD.", {"operation_type", "error"})),
      cache_hits_{
          r.counter("aadpodidentity_nmi_token_cache_requests_total", "Token cache lookups.", {"result"})
              .with({"hit"})},
      cache_misses_{
          r.counter("aadpodidentity_nmi_token_cache_requests_total", "Token cache lookups.", {"result"})
              .with({"miss"})},
      cache_merged_{
          r.counter("aadpodidentity_nmi_token_cache_requests_total", "Token cache lookups.", {"result"})
              .with({"merged"})},
      cache_evictions_{single(r, "aadpodidentity_nmi_token_cache_evictions_total", "Cached tokens dropped.")},
      resyncs_{single(r, "aadpodidentity_nmi_replica_resyncs_total", "Full snapshots fetched.")},
      changes_{single(r, "aadpodidentity_nmi_replica_changes_total", "Snapshot changes applied.")},
      gaps_{single(r, "aadpodidentity_nmi_replica_gaps_total",
                   "Changes that did not follow the held snapshot.")},
      replica_failures_{
          single(r, "aadpodidentity_nmi_replica_failures_total", "Replication connections failed.")},
      synced_(single_gauge(r, "aadpodidentity_nmi_replica_synced", "1 once a snapshot arrived, else 0.")),
      replica_seq_(
          single_gauge(r, "aadpodidentity_nmi_replica_seq", "Sequence number of the snapshot held.")),
      rule_changes_{single(r, "aadpodidentity_nmi_interception_rule_changes_total",
                           "Rule checks that changed the rules (first install, repairs).")},
      rule_failures_{single(r, "aadpodidentity_nmi_interception_failures_total", "Rule checks that failed.")},
      conntrack_deleted_{
          single(r, "aadpodidentity_nmi_conntrack_entries_deleted_total",
                 "Conntrack entries of connections to the IMDS deleted after the first install.")},
      conntrack_failures_{
          single(r, "aadpodidentity_nmi_conntrack_flush_failures_total", "Conntrack flushes that failed.")},
      rules_installed_(
          single_gauge(r, "aadpodidentity_nmi_interception_installed", "1 if the last check succeeded.")),
      unrouted_pods_(
          single_gauge(r, "aadpodidentity_nmi_interception_unrouted_pods", "Live pods left unbound.")),
      unported_pods_(single_gauge(r, "aadpodidentity_nmi_interception_unported_pods",
                                  "Live pods on a bridge whose port of it is unknown.")),
      ready_(single_gauge(r, "aadpodidentity_nmi_ready", "1 while the node proxy is ready, else 0.")) {
  // Every result series exists from the start, so rate() and absence alerts work before the first request.
  for (const char* result :
       {"issued", "denied", "not_ready", "bad_request", "upstream_error", "pass_through"})
    token_duration_.with({result});
}

std::string_view identity_type_label(const RequestRecord& record) {
  if (!record.identity_type) return "none";
  return core::to_string(*record.identity_type);
}

void NodeProxyMetrics::record_request(Route route, int status, const RequestRecord& record, double seconds) {
  // Only an issued token's resource is a label: upstream accepted it, so it names a real resource and
  // refused requests cannot add series.
  const std::string resource = status == 200 && route == Route::token ? record.resource : std::string();
  const std::string ns = record.pod.substr(0, record.pod.find('/'));
  operations_.with({operation_type(route), std::to_string(status), ns, resource}).observe(seconds);
  if (route != Route::token || record.result.empty()) return;
  token_requests_.with({record.result, std::string(identity_type_label(record))}).inc();
  token_duration_.with({record.result}).observe(seconds);
}

void NodeProxyMetrics::record_upstream(std::string_view operation, std::string_view error, double seconds) {
  upstream_duration_.with({std::string(operation)}).observe(seconds);
  if (!error.empty()) upstream_errors_.with({std::string(operation), std::string(error)}).inc();
}

void NodeProxyMetrics::update(const ProxyStateReading& s) {
  if (s.cache != nullptr) {
    cache_hits_.copy(s.cache->hits);
    cache_misses_.copy(s.cache->misses);
    cache_merged_.copy(s.cache->merged);
    cache_evictions_.copy(s.cache->evicted);
  }
  if (s.replica != nullptr) {
    resyncs_.copy(s.replica->resyncs);
    changes_.copy(s.replica->changes);
    gaps_.copy(s.replica->gaps);
    replica_failures_.copy(s.replica->failures);
    synced_.set(s.replica->synced ? 1 : 0);
    replica_seq_.set(static_cast<double>(s.replica->seq));
  }
  if (s.interception != nullptr) {
    rule_changes_.copy(s.interception->changes);
    rule_failures_.copy(s.interception->failures);
    conntrack_deleted_.copy(s.interception->conntrack_deleted);
    conntrack_failures_.copy(s.interception->conntrack_failures);
    rules_installed_.set(s.interception->installed ? 1 : 0);
    unrouted_pods_.set(static_cast<double>(s.interception->unrouted_pods));
    unported_pods_.set(static_cast<double>(s.interception->unported_pods));
  }
  ready_.set(s.ready ? 1 : 0);
}

http::Response metrics_page(const core::MetricsRegistry& registry, const http::Request& request) {
  http::Response out;
  out.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  if (request.url != "/metrics" && !request.url.starts_with("/metrics?")) {
    out.status = 404;
    return out;
  }
  out.status = 200;
  out.body = registry.expose();
  return out;
}

}  // namespace podid::nodeproxy
