// podid-controller: the controller (the original's MIC) as a process. Parses flags (CLI11), reads the
// kubeconfig (or the in-cluster service account) and azure.json, opens the event store, and runs the
// Controller with a /healthz and /readyz probe until SIGINT or SIGTERM. Logs are JSON lines on stderr.
// In managed mode (--operation-mode=managed) the user attaches identities to the VMs: the controller only
// computes and replicates node snapshots, never calls ARM, and azure.json is optional.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "arm/cloud_config.hpp"
#include "arm/http_arm_client.hpp"
#include "arm/token_source_factory.hpp"
#include "cli/controller.hpp"
#include "cli/duration.hpp"
#include "cli/main_guard.hpp"
#include "cli/nodeproxy_replication.hpp"
#include "cli/store_recovery.hpp"
#include "core/http/http_server.hpp"
#include "store/rocks_event_store.hpp"
#include "watch/http_kube_client.hpp"
#include "watch/kubeconfig.hpp"

namespace asio = boost::asio;
namespace core = podid::core;
using namespace podid;

namespace {

class StderrSink final : public core::Sink {
 public:
  void write(core::LogLevel, std::string_view line) override { std::cerr << line << '\n'; }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string env(const char* name, const std::string& fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : fallback;
}

std::vector<std::string> split(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream s(csv);
  for (std::string item; std::getline(s, item, ',');)
    if (!item.empty()) out.push_back(core::to_lower(item));
  return out;
}

// Managed mode's ArmClient: its plans are empty, so nothing should call it. Should a code path still do so
// (a store written in standard mode, say), the call fails loudly instead of reaching Azure or passing.
class ManagedModeArmClient final : public arm::ArmClient {
 public:
  asio::awaitable<core::Result<arm::VmIdentities>> get(core::ArmTarget target) override {
    co_return refused(target);
  }
  asio::awaitable<core::Status> patch(core::ArmTarget target, arm::IdentityPatch) override {
    co_return refused(target);
  }

 private:
  static core::Error refused(const core::ArmTarget& target) {
    return core::make_error(core::ErrorCode::invalid,
                            "no ARM calls in managed mode (--operation-mode=managed): " + target.to_string());
  }
};

asio::awaitable<http::Response> probe(const cli::Controller& c, http::Request request) {
  co_return cli::probe_response(c, request);
}

asio::awaitable<http::Response> serve_metrics(core::MetricsRegistry& metrics,
                                              const store::RocksEventStore& store, http::Request request) {
  cli::measure_memory(store, metrics);
  co_return cli::metrics_response(metrics, request);
}

int run(int argc, char** argv) {
  CLI::App app{"podid-controller: assigns Azure identities to pods (the MIC role)"};
  std::string kubeconfig, cloudconfig, azure_ca, store_dir, lease_ns = env("MIC_POD_NAMESPACE", "default");
  std::string lease_name = "aad-pod-identity-mic", instance, sync_retry = "3600s", drift = "3m", immutable;
  bool leader_elect = true, force_ns = env("FORCENAMESPACED") == "true";
  int probe_port = 8080;
  std::uint64_t checkpoint_every = 1000;
  std::string log_level = "info", operation_mode = "standard";
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig path; empty: in-cluster");
  app.add_option("--operation-mode", operation_mode,
                 "standard, or managed: identities attached by the user, no ARM calls, azure.json optional")
      ->capture_default_str();
  app.add_option("--cloudconfig", cloudconfig, "azure.json (required in standard mode)");
  app.add_option("--azure-ca-file", azure_ca, "CA bundle for a custom cloud's endpoints (PEM)");
  app.add_option("--store", store_dir, "event store directory")->required();
  std::string on_corrupt_store = "rebuild";
  app.add_option("--on-corrupt-store", on_corrupt_store,
                 "a damaged event store: rebuild (move it aside, rebuild from Kubernetes and Azure) or fail")
      ->capture_default_str();
  app.add_option("--namespace,--leader-election-namespace", lease_ns, "namespace of the Lease");
  app.add_option("--leader-elect", leader_elect, "use leader election")->capture_default_str();
  app.add_option("--lease-name,--leader-election-name", lease_name)->capture_default_str();
  app.add_option("--leader-election-instance", instance, "holder identity; default <hostname>_<random>");
  app.add_option("--sync-retry-interval,--syncRetryDuration", sync_retry, "longest idle between plans")
      ->capture_default_str();
  app.add_option("--identity-assignment-reconcile-interval", drift, "drift check period")
      ->capture_default_str();
  std::string batch_quiet = "1s", batch_max_wait = "5s";
  std::size_t kube_write_concurrency = 4;
  app.add_option("--arm-batch-quiet", batch_quiet,
                 "send a VM's or scale set's identity change once it has not grown for this long")
      ->capture_default_str();
  app.add_option("--arm-batch-max-wait", batch_max_wait, "... or once it has been pending this long")
      ->capture_default_str();
  app.add_option("--kube-write-concurrency", kube_write_concurrency,
                 "AzureAssignedIdentity writes and Events in flight at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--immutable-user-msis", immutable, "comma-separated client IDs never detached");
  app.add_flag("--forceNamespaced", force_ns, "namespaced matching");
  app.add_option("--http-probe-port", probe_port, "/healthz port")->capture_default_str();
  app.add_option("--checkpoint-every", checkpoint_every,
                 "events between checkpoints, at least (grows to the pods + AAIs held)")
      ->capture_default_str();
  std::string retention_age, retention_export;
  std::optional<std::uint64_t> retention_bytes, retention_events;
  app.add_option("--retention-max-age", retention_age,
                 "drop events older than this (e.g. 168h) after export");
  app.add_option("--retention-max-bytes", retention_bytes,
                 "keep the log under this many bytes, oldest dropped");
  app.add_option("--retention-max-events", retention_events, "keep at most this many events, oldest dropped");
  app.add_option("--retention-export-dir", retention_export,
                 "where dropped events are exported first (JSON lines); default <store>/retired");
  app.add_option("--log-level", log_level, "debug, info, warn, error")->capture_default_str();
  int prometheus_port = 8888;
  app.add_option("--prometheus-port", prometheus_port, "/metrics port; 0: no metrics server")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  bool migrate_on_start = true;
  std::string config_ns = env("MIC_POD_NAMESPACE", "default"), legacy_lock = "hold", legacy_ns;
  app.add_option("--migrate-on-start,--enable-type-upgrade", migrate_on_start,
                 "as leader, run pending migrations (the v1.6.0 field-case upgrade) before executing")
      ->capture_default_str();
  app.add_option(
         "--config-map-namespace", config_ns,
         "namespace of ConfigMap aad-pod-identity-config (migration marker); default $MIC_POD_NAMESPACE")
      ->capture_default_str();
  app.add_option(
         "--legacy-endpoints-lock", legacy_lock,
         "the original MIC's Endpoints lock: hold (honour it and write ours), honour (read only), off")
      ->capture_default_str();
  app.add_option("--legacy-endpoints-lock-namespace", legacy_ns,
                 "namespace of that Endpoints (named as the Lease); default: the Lease's namespace");
  cli::ReplicationFlags replication_flags;  // replication to node proxies
  cli::add_replication_flags(app, replication_flags);
  CLI11_PARSE(app, argc, argv);
  // Durations are checked before anything starts: a typo exits 2 naming the flag.
  std::chrono::milliseconds drift_ms{}, sync_retry_ms{}, retention_age_ms{}, batch_quiet_ms{},
      batch_max_wait_ms{};
  for (auto [flag, text, out] : {std::tuple{"--identity-assignment-reconcile-interval", &drift, &drift_ms},
                                 std::tuple{"--sync-retry-interval", &sync_retry, &sync_retry_ms},
                                 std::tuple{"--retention-max-age", &retention_age, &retention_age_ms},
                                 std::tuple{"--arm-batch-quiet", &batch_quiet, &batch_quiet_ms},
                                 std::tuple{"--arm-batch-max-wait", &batch_max_wait, &batch_max_wait_ms}}) {
    if (text->empty()) continue;
    auto parsed = cli::parse_duration(*text);
    if (!parsed) {
      std::cerr << "podid-controller: " << flag << ": " << parsed.error().message << '\n';
      return 2;
    }
    *out = *parsed;
  }
  if (auto valid = cli::validate(replication_flags); !valid) {
    std::cerr << "podid-controller: " << valid.error().message << '\n';
    return 2;
  }
  operation_mode = core::to_lower(operation_mode);
  if (operation_mode != "standard" && operation_mode != "managed") {
    std::cerr << "podid-controller: --operation-mode: expected standard or managed, got \"" << operation_mode
              << "\"\n";
    return 2;
  }
  const bool managed = operation_mode == "managed";
  const auto legacy_mode = watch::parse_legacy_lock_mode(legacy_lock);
  if (!legacy_mode) {
    std::cerr << "podid-controller: --legacy-endpoints-lock: " << legacy_mode.error().message << '\n';
    return 2;
  }
  const auto on_corrupt = cli::parse_on_corrupt_store(on_corrupt_store);
  if (!on_corrupt) {
    std::cerr << "podid-controller: " << on_corrupt.error().message << '\n';
    return 2;
  }
  if (!managed && cloudconfig.empty()) {
    std::cerr << "podid-controller: --cloudconfig is required in standard mode (--operation-mode=standard)\n";
    return 2;
  }

  core::SystemClock clock;
  StderrSink sink;
  const auto level = log_level == "debug"   ? core::LogLevel::debug
                     : log_level == "warn"  ? core::LogLevel::warn
                     : log_level == "error" ? core::LogLevel::error
                                            : core::LogLevel::info;
  core::Logger logger(sink, clock, "controller", level);
  try {
    asio::io_context io(1);
    auto cluster = kubeconfig.empty() ? watch::in_cluster_config(env("KUBERNETES_SERVICE_HOST"),
                                                                 env("KUBERNETES_SERVICE_PORT"))
                                      : watch::load_kubeconfig(kubeconfig);
    auto kube = watch::HttpKubeClient::create(io.get_executor(), cluster.value()).value();
    core::MetricsRegistry metrics;  // served on --prometheus-port
    std::optional<arm::CloudConfig> cloud;
    if (!cloudconfig.empty()) cloud = arm::parse_cloud_config(read_file(cloudconfig)).value();
    std::unique_ptr<http::HttpClient> arm_http;
    std::unique_ptr<arm::TokenSource> tokens;
    std::unique_ptr<arm::ArmClient> arm_client;
    if (managed) {
      arm_client = std::make_unique<ManagedModeArmClient>();
    } else {
      http::ClientOptions http_options;
      if (!azure_ca.empty()) http_options.tls.ca.file = azure_ca;
      arm_http = http::HttpClient::create(io.get_executor(), http_options).value();
      const auto cert = cloud->client_cert_path.empty() ? std::string{} : read_file(cloud->client_cert_path);
      tokens = arm::make_token_source(*arm_http, clock, *cloud, cert).value();
      arm::ArmClientOptions arm_options;
      arm_options.endpoint = cloud->cloud.resource_manager;
      arm_options.metrics = &metrics;
      arm_client = std::make_unique<arm::HttpArmClient>(*arm_http, *tokens, clock, arm_options);
    }
    // Verified at open; a damaged store is moved aside and rebuilt, or refused (cli/store_recovery.hpp).
    auto opened = cli::open_controller_store(store_dir, *on_corrupt, clock, logger, metrics);
    if (!opened) {
      logger.error("Controller failed to start.", {{"error", opened.error().describe().c_str()}});
      return 1;
    }
    auto store = std::move(opened->store);

    cli::ControllerOptions options;
    options.settings.force_namespaced = force_ns;
    options.settings.mode = managed ? core::Mode::managed : core::Mode::standard;
    options.settings.immutable_identities = split(immutable);
    if (cloud && !cloud->user_assigned_identity_id.empty())
      options.settings.cluster_identities.push_back(core::to_lower(cloud->user_assigned_identity_id));
    options.drift_interval = drift_ms;
    options.batch_quiet = batch_quiet_ms;
    options.batch_max_wait = batch_max_wait_ms;
    options.kube_write_concurrency = kube_write_concurrency;
    options.max_idle = sync_retry_ms;
    options.checkpoint_every = checkpoint_every;
    if (!retention_age.empty() || retention_bytes || retention_events) {
      store::RetentionPolicy retention;
      if (!retention_age.empty()) retention.max_age_ms = retention_age_ms.count();
      retention.max_bytes = retention_bytes;
      retention.max_events = retention_events;
      options.retention = retention;
      options.retention_export_dir = retention_export.empty() ? store_dir + "/retired" : retention_export;
      std::filesystem::create_directories(options.retention_export_dir);
    }
    options.metrics = &metrics;
    if (migrate_on_start) {
      cli::MigrateOptions migrate;
      migrate.config_namespace = config_ns;
      migrate.marker_value = std::string("podid ") + PODID_VERSION;
      options.migrate = migrate;
    }
    if (instance.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      instance = std::string(host) + "_" + std::to_string(std::random_device{}());
    }
    options.events.instance = instance;
    if (leader_elect) {
      watch::LeaderElectionOptions le;
      le.ns = lease_ns;
      le.name = lease_name;
      le.identity = instance;
      le.legacy_endpoints = {*legacy_mode, legacy_ns.empty() ? lease_ns : legacy_ns, lease_name};
      options.leader_election = le;
    }
    cli::NodeProxyReplication replication(replication_flags);
    replication.attach(options);
    cli::Controller controller(*kube, *store, *arm_client, clock, logger, options);
    replication.start(io.get_executor(), *kube, controller, logger).value();

    http::ServerOptions probe_options;
    probe_options.address = "0.0.0.0";
    probe_options.port = static_cast<std::uint16_t>(probe_port);
    auto server = http::HttpServer::create(io.get_executor(), probe_options, [&controller](http::Request r) {
                    return probe(controller, std::move(r));
                  }).value();
    server->start();
    // /metrics, apart from the probe as in the original. A port in use costs the metrics, not the controller.
    std::unique_ptr<http::HttpServer> metrics_server;
    if (prometheus_port != 0) {
      http::ServerOptions metrics_options = probe_options;
      metrics_options.port = static_cast<std::uint16_t>(prometheus_port);
      auto created = http::HttpServer::create(
          io.get_executor(), metrics_options,
          [&metrics, &store](http::Request r) { return serve_metrics(metrics, *store, std::move(r)); });
      if (created) {
        metrics_server = std::move(*created);
        metrics_server->start();
      } else {
        logger.error("Metrics server not started.",
                     {{"port", prometheus_port}, {"error", created.error().describe().c_str()}});
      }
    }

    asio::cancellation_signal stop;
    std::optional<core::Status> result;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::co_spawn(
        io, controller.run(),
        asio::bind_cancellation_slot(stop.slot(), [&](const std::exception_ptr& e, core::Status s) {
          if (e) std::rethrow_exception(e);
          result = std::move(s);
          signals.cancel();
          asio::co_spawn(io, server->stop(), asio::detached);
          if (metrics_server) asio::co_spawn(io, metrics_server->stop(), asio::detached);
          asio::co_spawn(io, replication.stop(), asio::detached);
        }));
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) stop.emit(asio::cancellation_type::terminal);
    });
    logger.info(
        "Controller started.",
        {{"instance", instance.c_str()}, {"store", store_dir.c_str()}, {"mode", operation_mode.c_str()}});
    io.run();
    if (result && !*result && result->error().code != core::ErrorCode::cancelled) {
      logger.error("Controller stopped.", {{"error", result->error().describe().c_str()}});
      return 1;
    }
    logger.info("Controller stopped.");
    return 0;
  } catch (const std::exception& e) {
    logger.error("Controller failed to start.", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return podid::cli::guarded_main("podid-controller", [&] { return run(argc, argv); });
}
