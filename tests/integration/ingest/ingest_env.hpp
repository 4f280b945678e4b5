#pragma once
// Helpers for the ingest integration tests: a RocksDB event store in a temp dir, an Ingest running on an
// io_context until cancelled, the State its log projects, and Kubernetes objects (pods, nodes, identities,
// bindings) to create.

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "integration/watch/kube_env.hpp"
#include "store/event_log.hpp"
#include "store/rocks_event_store.hpp"
#include "unit/watch/temp_dir.hpp"
#include "watch/ingest.hpp"

namespace podid::testing {

inline std::unique_ptr<store::RocksEventStore> open_store(const std::string& dir) {
  auto opened = store::RocksEventStore::open(dir, store::RocksOptions{.sync_writes = false});
  if (!opened) throw std::runtime_error(opened.error().describe());
  return std::move(*opened);
}

// A client for the shared control plane whose requests give up after 5 s (local requests take milliseconds).
inline std::unique_ptr<watch::HttpKubeClient> ingest_client(boost::asio::io_context& io, ControlPlane& cp) {
  auto config = watch::load_kubeconfig(cp.info().kubeconfig_path);
  if (!config) throw std::runtime_error(config.error().describe());
  auto created = watch::HttpKubeClient::create(
      io.get_executor(), *config, watch::KubeClientOptions{.request_timeout = std::chrono::seconds(5)});
  if (!created) throw std::runtime_error(created.error().describe());
  return std::move(*created);
}

inline watch::IngestOptions ingest_options(const std::string& ns) {
  watch::IngestOptions options;
  options.ns = ns;
  options.reflector.backoff_initial = std::chrono::milliseconds(50);
  options.reflector.watch_timeout_min = std::chrono::seconds(60);
  options.reflector.watch_timeout_max = std::chrono::seconds(60);
  return options;
}

// An Ingest co_spawned on `io`; stop() cancels it and runs the context until run() returned.
struct RunningIngest {
  RunningIngest(boost::asio::io_context& io_, watch::KubeClient& client, store::EventLog& log,
                const core::Clock& clock, core::Sink& sink, watch::IngestOptions options)
      : io(io_), ingest(client, log, clock, core::Logger(sink, clock, "ingest"), std::move(options)) {
    boost::asio::co_spawn(
        io, ingest.run(),
        boost::asio::bind_cancellation_slot(signal.slot(), [this](std::exception_ptr e, core::Status s) {
          if (e) std::rethrow_exception(e);
          result = std::move(s);
        }));
  }
  // Stops a still-running ingest without throwing (a failed REQUIRE may be unwinding).
  ~RunningIngest() {
    if (result) return;
    signal.emit(boost::asio::cancellation_type::terminal);
    static_cast<void>(run_until(io, [this] { return result.has_value(); }));
  }
  RunningIngest(const RunningIngest&) = delete;
  RunningIngest& operator=(const RunningIngest&) = delete;

  bool wait_synced() {
    return run_until(io, [this] { return ingest.synced() || result.has_value(); }) && ingest.synced();
  }
  void stop() {
    signal.emit(boost::asio::cancellation_type::terminal);
    if (!run_until(io, [this] { return result.has_value(); }))
      throw std::runtime_error("Ingest did not stop");
  }

  boost::asio::io_context& io;
  boost::asio::cancellation_signal signal;
  watch::Ingest ingest;
  std::optional<core::Status> result;
};

// The State the log projects: what the ingest appended (and anyone else), as the controller would see it.
inline core::State projected(const store::EventLog& log) {
  auto rebuilt = log.rebuild();
  if (!rebuilt) throw std::runtime_error(rebuilt.error().describe());
  return std::move(rebuilt->state);
}

inline boost::json::object pod(const std::string& name, const std::string& selector) {
  return boost::json::object{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"labels", {{"aadpodidbinding", selector}}}}},
      {"spec", {{"containers", boost::json::array{{{"name", "c"}, {"image", "busybox"}}}}}}};
}

inline boost::json::object node(const std::string& name) {
  return boost::json::object{{"apiVersion", "v1"},
                             {"kind", "Node"},
                             {"metadata", {{"name", name}}},
                             {"spec",
                              {{"providerID",
                                "azure:///subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/"
                                "virtualMachines/" +
                                    name}}}};
}

inline boost::json::object identity(const std::string& name, const std::string& client_id) {
  return boost::json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                             {"kind", "AzureIdentity"},
                             {"metadata", {{"name", name}}},
                             {"spec",
                              {{"type", 0},
                               {"clientID", client_id},
                               {"resourceID",
                                "/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/"
                                "userAssignedIdentities/" +
                                    name}}}};
}

inline boost::json::object binding(const std::string& name, const std::string& identity_name,
                                   const std::string& selector) {
  return boost::json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                             {"kind", "AzureIdentityBinding"},
                             {"metadata", {{"name", name}}},
                             {"spec", {{"azureIdentity", identity_name}, {"selector", selector}}}};
}

}  // namespace podid::testing
