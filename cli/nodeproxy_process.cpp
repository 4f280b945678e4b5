#include "cli/nodeproxy_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <variant>

#include "cli/nodeproxy_bridges.hpp"
#include "nodeproxy/iptables/backend_detection.hpp"
#include "nodeproxy/iptables/legacy_iptables_rules.hpp"
#include "nodeproxy/iptables/netlink_conntrack_table.hpp"
#include "nodeproxy/iptables/nftables_rules.hpp"
#include "nodeproxy/node_taint.hpp"
#include "nodeproxy/replica_file.hpp"
#include "watch/http_kube_client.hpp"
#include "watch/kubeconfig.hpp"

namespace podid::cli {
namespace asio = boost::asio;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string{};
}

core::Result<std::string> read_routes() {
  std::ifstream in("/proc/net/route");
  if (!in) return core::make_error(core::ErrorCode::io, "cannot read /proc/net/route");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nodeproxy::NodeProxyOptions proxy_options(const NodeProxyConfig& c, core::MetricsRegistry& metrics) {
  nodeproxy::NodeProxyOptions o;
  if (c.prometheus_port != 0) o.metrics = &metrics;
  o.listen_address = c.host_ip;
  o.port = static_cast<std::uint16_t>(c.nmi_port);
  o.imds_url =
      "http://" + c.metadata_ip + (c.metadata_port == 80 ? "" : ":" + std::to_string(c.metadata_port));
  o.authority_host = c.aad_authority_host;
  o.trusted_ad_endpoints = c.trusted_ad_endpoints;
  if (!c.aad_ca_file.empty()) o.aad_tls.ca.file = c.aad_ca_file;
  o.pipeline.metadata_header_required = c.metadata_header_required;
  o.pipeline.allow_instance_metadata = !c.block_instance_metadata;
  o.pipeline.assignment_wait = c.created_wait_ms;
  o.cache.max_entries = static_cast<std::size_t>(c.token_cache_size);
  return o;
}

}  // namespace

NodeProxyProcess::NodeProxyProcess(asio::io_context& io, const NodeProxyConfig& config,
                                   const core::Clock& clock, core::Logger logger)
    : io_(io), config_(config), clock_(clock), logger_(std::move(logger)), wait_(io) {}

NodeProxyProcess::~NodeProxyProcess() = default;

core::Result<std::unique_ptr<NodeProxyProcess>> NodeProxyProcess::create(asio::io_context& io,
                                                                         const NodeProxyConfig& config,
                                                                         const core::Clock& clock,
                                                                         core::Logger logger) {
  std::unique_ptr<NodeProxyProcess> p(new NodeProxyProcess(io, config, clock, std::move(logger)));
  const auto cluster =
      PODID_TRY(config.kubeconfig.empty()
                    ? watch::in_cluster_config(env("KUBERNETES_SERVICE_HOST"), env("KUBERNETES_SERVICE_PORT"))
                    : watch::load_kubeconfig(config.kubeconfig));
  p->kube_ = PODID_TRY(watch::HttpKubeClient::create(io.get_executor(), cluster));
  p->secrets_ = std::make_unique<nodeproxy::KubeSecretReader>(*p->kube_);
  p->proxy_ = PODID_TRY(nodeproxy::NodeProxy::create(io.get_executor(), proxy_options(config, p->metrics_),
                                                     p->snapshots_, *p->secrets_, clock,
                                                     p->logger_.with_component("imds")));
  nodeproxy::ReplicaOptions ro;
  ro.server_url = config.controller_url;
  ro.node = config.node_name;
  if (!config.controller_ca_file.empty()) ro.tls.ca.file = config.controller_ca_file;
  ro.token = nodeproxy::token_file_reader(config.token_file);
  NodeProxyProcess* self = p.get();
  ro.on_confirmed = [self] { self->replica_confirmed(); };
  if (!config.replica_file.empty())
    p->replica_file_ = std::make_unique<nodeproxy::ReplicaFileWriter>(
        nodeproxy::ReplicaFileWriterOptions{config.replica_file}, io.get_executor(),
        p->logger_.with_component("replica"));
  auto& m = p->metrics_;
  p->file_metrics_.reset(new FileMetrics{
      m.counter("aadpodidentity_nmi_replica_file_loads_total",
                "Replica file reads at start-up by result (loaded, absent, or why it was refused).",
                {"result"}),
      m.gauge("aadpodidentity_nmi_replica_from_file",
              "1 while the snapshot served was loaded from the replica file (the controller has not answered "
              "since start), else 0.")
          .with({}),
      m.gauge("aadpodidentity_nmi_replica_confirmed_age_seconds",
              "Seconds since the controller last confirmed the snapshot served (a snapshot, change or "
              "heartbeat; for a loaded file, the time in the file); -1 before any.")
          .with({}),
      m.counter("aadpodidentity_nmi_replica_file_writes_total", "Replica file writes that succeeded.")
          .with({}),
      m.counter("aadpodidentity_nmi_replica_file_write_failures_total", "Replica file writes that failed.")
          .with({})});
  p->replica_ = PODID_TRY(nodeproxy::Replica::create(io.get_executor(), std::move(ro), p->snapshots_,
                                                     p->logger_.with_component("replica")));
  http::ServerOptions so;
  so.address = "0.0.0.0";
  so.port = static_cast<std::uint16_t>(config.probe_port);
  p->probe_ = PODID_TRY(http::HttpServer::create(
      io.get_executor(), so, [self](http::Request r) { return self->probe(std::move(r)); }));
  return p;
}

core::Status NodeProxyProcess::begin() {
  // 0. The replica file: the pods this node served before a restart, if the controller confirmed them
  // recently enough; the controller's first snapshot replaces it.
  load_replica_file();
  if (replica_file_) replica_file_->start();
  // 1. Listening: until the replica syncs (or without a replica file), every caller is unknown and refused.
  PODID_TRY(proxy_->start());
  probe_->start();
  start_metrics();
  // 2. Rules in place.
  PODID_TRY(start_rules());
  // 3. The replica follows the controller; 4. ready once it synced: the taint comes off.
  replica_->start();
  asio::co_spawn(io_, become_ready(), asio::detached);
  const auto listen = config_.host_ip + ":" + std::to_string(proxy_->port());
  logger_.info("Node proxy started.", {{"node", config_.node_name.c_str()},
                                       {"listen", listen.c_str()},
                                       {"interception", config_.interception.c_str()}});
  return core::ok();
}

core::Status NodeProxyProcess::start_rules() {
  using iptables::Backend;
  if (config_.interception_mode == Interception::none) {
    logger_.warn("Interception disabled: pods reach the node proxy only by other means.");
    return core::ok();
  }
  Backend backend = config_.interception_mode == Interception::nft ? Backend::nft : Backend::legacy;
  if (config_.interception_mode == Interception::auto_detect)
    backend = PODID_TRY(iptables::detect_backend(runner_));
  if (backend == Backend::nft)
    rules_ = std::make_unique<iptables::NftablesRules>(iptables::NftablesConfig{}, runner_);
  else
    rules_ = std::make_unique<iptables::LegacyIptablesRules>(iptables::LegacyIptablesConfig{}, &runner_);
  nodeproxy::InterceptionOptions options;
  options.metadata.address = PODID_TRY(iptables::Ipv4Address::parse(config_.metadata_ip));
  options.metadata.port = static_cast<std::uint16_t>(config_.metadata_port);
  options.proxy.address = PODID_TRY(iptables::Ipv4Address::parse(config_.host_ip));
  options.proxy.port = proxy_->port();
  options.interval = config_.ipt_interval_ms;
  options.bridge_only = !config_.bridge_port_required;
  options.physdev_needs_br_netfilter = backend == Backend::legacy;
  if (config_.conntrack_flush) conntrack_ = std::make_unique<iptables::NetlinkConntrackTable>();
  BridgeSources sources;
  sources.cni_cache_dirs = config_.cni_cache_dirs;
  loop_ = std::make_unique<nodeproxy::InterceptionLoop>(
      io_.get_executor(), *rules_, snapshots_, read_routes, options, logger_.with_component("iptables"),
      conntrack_.get(), [sources] { return read_bridge_ports(sources); });
  PODID_TRY(loop_->ensure_now());
  logger_.info("Interception rules installed.",
               {{"backend", std::string(iptables::to_string(backend)).c_str()}});
  asio::co_spawn(io_, loop_->run(), asio::detached);
  return core::ok();
}

bool NodeProxyProcess::ready() const {
  // The rules must reflect the snapshot served, so that every pod the replica knows is already bound.
  const bool rules =
      !loop_ || (loop_->counters().installed && loop_->counters().seq == snapshots_.current()->seq);
  // A replica file loaded counts as synced: the node proxy serves from it, and /healthz is also the
  // liveness probe, which must not restart a serving node proxy while the controller is away.
  return rules && replica_ && (replica_->counters().synced || loaded_from_file_);
}

void NodeProxyProcess::load_replica_file() {
  if (config_.replica_file.empty()) return;
  const auto now = clock_.now_ms();
  auto loaded = nodeproxy::load_replica_file(config_.replica_file,
                                             {config_.node_name, now, config_.replica_max_age_ms});
  if (const auto* refusal = std::get_if<nodeproxy::ReplicaFileRefusal>(&loaded)) {
    const std::string reason(nodeproxy::to_string(refusal->problem));
    file_metrics_->loads.with({reason}).inc();
    if (refusal->problem == nodeproxy::ReplicaFileProblem::absent) {
      logger_.info("Replica file absent; waiting for the controller.",
                   {{"path", config_.replica_file.c_str()}});
      return;
    }
    logger_.warn("Replica file refused; waiting for the controller.", {{"path", config_.replica_file.c_str()},
                                                                       {"reason", reason.c_str()},
                                                                       {"detail", refusal->detail.c_str()}});
    return;
  }
  auto& contents = std::get<nodeproxy::ReplicaFileContents>(loaded);
  file_metrics_->loads.with({"loaded"}).inc();
  loaded_from_file_ = true;
  confirmed_at_ms_ = contents.confirmed_at_ms;
  logger_.info("Replica loaded from file.", {{"path", config_.replica_file.c_str()},
                                             {"seq", contents.snapshot.seq},
                                             {"pods", contents.snapshot.pods.size()},
                                             {"ageMs", now - contents.confirmed_at_ms}});
  snapshots_.publish(std::move(contents.snapshot));
}

void NodeProxyProcess::replica_confirmed() {
  confirmed_at_ms_ = clock_.now_ms();
  if (replica_file_) replica_file_->confirmed(snapshots_.current(), confirmed_at_ms_);
}

void NodeProxyProcess::update_replica_file_metrics() const {
  auto& m = *file_metrics_;
  m.from_file.set(loaded_from_file_ && !replica_->counters().synced ? 1 : 0);
  m.confirmed_age.set(
      confirmed_at_ms_ == 0 ? -1.0 : static_cast<double>(clock_.now_ms() - confirmed_at_ms_) / 1000.0);
  if (!replica_file_) return;
  const auto c = replica_file_->counters();
  m.writes.inc(static_cast<double>(c.writes - m.writes_seen));
  m.write_failures.inc(static_cast<double>(c.failures - m.failures_seen));
  m.writes_seen = c.writes;
  m.failures_seen = c.failures;
}

asio::awaitable<bool> NodeProxyProcess::pause(std::chrono::milliseconds delay) {
  wait_.expires_after(delay);
  const auto [ec] = co_await wait_.async_wait(asio::as_tuple(asio::use_awaitable));
  static_cast<void>(ec);  // cancelled only by shutdown(), which sets stopping_
  co_return !stopping_;
}

asio::awaitable<void> NodeProxyProcess::become_ready() {
  while (!ready()) {
    const bool go_on = co_await pause(std::chrono::milliseconds(100));
    if (!go_on) co_return;
  }
  const auto snapshot = snapshots_.current();
  logger_.info("Node proxy ready.", {{"seq", snapshot->seq},
                                     {"pods", snapshot->pods.size()},
                                     {"fromFile", loaded_from_file_ && !replica_->counters().synced}});
  const bool managed = config_.operation_mode == "managed";
  if (managed != (snapshot->mode == core::Mode::managed))
    logger_.warn("Operation mode differs from the controller's; the controller's snapshot decides.",
                 {{"flag", config_.operation_mode.c_str()}});
  if (config_.ready_taint.empty()) co_return;
  auto delay = std::chrono::milliseconds(500);
  for (;;) {
    auto removed = co_await nodeproxy::remove_node_taint(*kube_, config_.node_name, config_.ready_taint);
    if (removed) {
      logger_.info(
          *removed == nodeproxy::TaintRemoval::removed ? "Ready taint removed." : "Ready taint absent.",
          {{"taint", config_.ready_taint.c_str()}});
      co_return;
    }
    logger_.warn("Ready taint not removed.", {{"error", removed.error().describe().c_str()}});
    const bool go_on = co_await pause(delay);
    if (!go_on) co_return;
    delay = std::min(delay * 2, std::chrono::milliseconds(30000));
  }
}

asio::awaitable<http::Response> NodeProxyProcess::probe(http::Request request) const {
  http::Response r;
  r.headers.emplace_back("Content-Type", "text/plain");
  if (request.url != "/healthz" && request.url != "/readyz") {
    r.status = 404;
    co_return r;
  }
  const bool ok = ready() && !stopping_;
  r.status = ok ? 200 : 503;
  r.body = ok ? "Active" : "Not Active";
  co_return r;
}

void NodeProxyProcess::start_metrics() {
  if (config_.prometheus_port == 0) return;
  http::ServerOptions so;
  so.address = "0.0.0.0";
  so.port = static_cast<std::uint16_t>(config_.prometheus_port);
  const NodeProxyProcess* self = this;
  auto created = http::HttpServer::create(io_.get_executor(), so,
                                          [self](http::Request r) { return self->scrape(std::move(r)); });
  if (!created) {
    logger_.warn("Metrics server not started.", {{"error", created.error().describe().c_str()}});
    return;
  }
  metrics_server_ = std::move(*created);
  metrics_server_->start();
}

asio::awaitable<http::Response> NodeProxyProcess::scrape(http::Request request) const {
  // The components keep plain counters on this thread; they are copied in just before the page is built.
  if (auto* m = proxy_->metrics(); m != nullptr) {
    nodeproxy::ProxyStateReading reading;
    reading.cache = proxy_->cache_counters();
    const auto replica = replica_->counters();
    reading.replica = &replica;
    reading.interception = loop_ ? &loop_->counters() : nullptr;
    reading.ready = ready() && !stopping_;
    m->update(reading);
    update_replica_file_metrics();
  }
  co_return nodeproxy::metrics_page(metrics_, request);
}

asio::awaitable<core::Status> NodeProxyProcess::shutdown() {
  stopping_ = true;
  wait_.cancel();
  core::Status removed = core::ok();
  if (loop_) {
    loop_->stop();
    removed = loop_->remove();
    if (removed)
      logger_.info("Interception rules removed.");
    else
      logger_.error("Interception rules not removed.", {{"error", removed.error().describe().c_str()}});
  }
  co_await proxy_->stop();
  co_await replica_->stop();
  if (replica_file_) replica_file_->stop();  // writes the last confirmed state, if not yet written
  co_await probe_->stop();
  if (metrics_server_) co_await metrics_server_->stop();
  co_return removed;
}

}  // namespace podid::cli
