#pragma once
// Helpers for the controller integration tests: the Azure emulator with the controller's service principal,
// an ARM client for it, a Controller running on an io_context until cancelled, and the Kubernetes objects
// of the scenario (a scale-set node, identities, bindings, pods with a node and an IP).

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <memory>
#include <optional>
#include <string>

#include "arm/aad_token_source.hpp"
#include "arm/http_arm_client.hpp"
#include "cli/controller.hpp"
#include "core/http/http_client.hpp"
#include "integration/ingest/ingest_env.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/tests/test_client.hpp"

namespace podid::testing {

namespace emu = podid::emulator;

// The emulated cloud: small_cloud() (subscription kSub, scale set ss-0 in "nodes") plus the identity "demo".
inline emu::EmulatorConfig controller_cloud() {
  auto c = emu::testing::small_cloud();
  c.identities.push_back(emu::IdentityConfig{emu::testing::kSub, "ids", "demo", "eastus", {}});
  c.latencies.vmss = std::chrono::milliseconds(200);
  return c;
}

// An ArmClient for the emulator, authenticated as the controller's service principal.
struct ArmForEmulator {
  ArmForEmulator(boost::asio::io_context& io, const emu::Emulator& e, const core::Clock& clock,
                 core::MetricsRegistry* metrics = nullptr) {
    http::ClientOptions options;
    options.tls.ca.data = e.ca_pem();
    auto created = http::HttpClient::create(io.get_executor(), options);
    if (!created) throw std::runtime_error(created.error().describe());
    http_ = std::move(*created);
    arm::AadOptions aad;
    aad.authority_host = e.authority_host();
    aad.tenant_id = emu::testing::kTenant;
    aad.client_id = emu::testing::kClient;
    aad.audience = "https://management.azure.com/";
    tokens = std::make_unique<arm::AadTokenSource>(*http_, clock, aad,
                                                   core::Secret<std::string>(emu::testing::kSecret));
    arm::ArmClientOptions arm_options;
    arm_options.endpoint = e.arm_endpoint();
    arm_options.poll_min = std::chrono::milliseconds(50);
    arm_options.poll_default = std::chrono::milliseconds(100);
    arm_options.backoff_base = std::chrono::milliseconds(50);
    arm_options.metrics = metrics;
    client = std::make_unique<arm::HttpArmClient>(*http_, *tokens, clock, arm_options);
  }
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<arm::AadTokenSource> tokens;
  std::unique_ptr<arm::HttpArmClient> client;
};

inline cli::ControllerOptions controller_options(const std::string& ns) {
  cli::ControllerOptions o;
  o.ingest = ingest_options(ns);
  o.settings.force_namespaced = true;  // AAIs in the test namespace
  o.settings.retry.base_delay_ms = 50;
  o.settings.retry.max_delay_ms = 400;
  o.settings.retry.max_attempts = 2;
  o.retry_initial = std::chrono::milliseconds(50);
  o.events.instance = "controller-test";
  return o;
}

inline cli::ControllerOptions with_metrics(cli::ControllerOptions o, core::MetricsRegistry& metrics) {
  o.metrics = &metrics;
  return o;
}

// One replica: its own store, Kubernetes client, ARM client and metrics, run on `io` until stop().
struct RunningController {
  RunningController(boost::asio::io_context& io_, ControlPlane& cp, const emu::Emulator& e,
                    cli::ControllerOptions options)
      : io(io_),
        store(open_store(dir.path())),
        kube(admin_client(io_, cp)),
        arm(io_, e, clock, &metrics),
        controller(*kube, *store, *arm.client, clock,
                   core::Logger(sink, clock, "controller", core::LogLevel::debug),
                   with_metrics(std::move(options), metrics)) {
    boost::asio::co_spawn(
        io, controller.run(),
        boost::asio::bind_cancellation_slot(signal.slot(), [this](std::exception_ptr ex, core::Status s) {
          if (ex) std::rethrow_exception(ex);
          result = std::move(s);
        }));
  }
  ~RunningController() {
    if (!result) stop();
  }
  RunningController(const RunningController&) = delete;
  RunningController& operator=(const RunningController&) = delete;

  void stop() {
    signal.emit(boost::asio::cancellation_type::terminal);
    static_cast<void>(run_until(
        io, [this] { return result.has_value(); }, std::chrono::seconds(40)));
  }

  boost::asio::io_context& io;
  core::SystemClock clock;
  core::MemorySink sink;
  TempDir dir;
  std::unique_ptr<store::RocksEventStore> store;
  std::unique_ptr<watch::HttpKubeClient> kube;
  core::MetricsRegistry metrics;  // the ARM client's and the controller's
  ArmForEmulator arm;
  cli::Controller controller;
  boost::asio::cancellation_signal signal;
  std::optional<core::Status> result;
};

inline boost::json::object scale_set_node(const std::string& name) {
  return boost::json::object{
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", name}}},
      {"spec",
       {{"providerID", std::string("azure:///subscriptions/") + emu::testing::kSub +
                           "/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachineScaleSets/ss-0/"
                           "virtualMachines/0"}}}};
}

inline boost::json::object msi_identity(const std::string& name, const std::string& resource_id,
                                        const std::string& client_id) {
  return boost::json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                             {"kind", "AzureIdentity"},
                             {"metadata", {{"name", name}}},
                             {"spec", {{"type", 0}, {"clientID", client_id}, {"resourceID", resource_id}}}};
}

inline boost::json::object scheduled_pod(const std::string& name, const std::string& selector,
                                         const std::string& node) {
  auto p = pod(name, selector);
  p["spec"].as_object()["nodeName"] = node;
  return p;
}

// GET through the admin client (libcurl); the parsed body, or null when the status is not 200.
inline boost::json::value get_json(ControlPlane& cp, const std::string& path) {
  const auto reply = cp.request("GET", path);
  if (reply.status != 200) return nullptr;
  return boost::json::parse(reply.body);
}

}  // namespace podid::testing
