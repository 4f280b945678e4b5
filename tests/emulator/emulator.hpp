#pragma once
// Emulator: Azure in a box for tests, benchmarks and the demo. AAD and ARM over HTTPS (certificates from a CA
// it generates and writes to a file), IMDS over plain HTTP, one per VM or scale-set instance, and an
// optional plain-HTTP admin endpoint. Construct with a config, start(), use the URLs; stop() or destroy.
// Thread-safety: every method may be called from any thread while the emulator runs.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/emulator/config.hpp"
#include "tests/emulator/resources.hpp"

namespace podid::emulator {

struct Cloud;

class Emulator {
 public:
  explicit Emulator(EmulatorConfig config);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Creates the configured cloud, the CA and the listeners, then serves on its own threads.
  [[nodiscard]] Status start();
  void stop();

  [[nodiscard]] std::string authority_host() const;  // https://127.0.0.1:<port> (AAD)
  [[nodiscard]] std::string arm_endpoint() const;    // https://127.0.0.1:<port>
  [[nodiscard]] std::string admin_url() const;       // empty when no admin endpoint
  [[nodiscard]] std::string ca_pem() const;
  [[nodiscard]] const std::string& ca_file() const;

  // Starts an IMDS for a VM (instance empty) or one scale-set instance; returns http://<address>:<port>.
  [[nodiscard]] Result<std::string> serve_imds(const std::string& machine_id, std::optional<int> instance,
                                               const Bind& bind = {});

  // State for tests (all take effect at once, as if done behind the controller's back).
  [[nodiscard]] Status add_tenant(const TenantConfig& tenant);
  [[nodiscard]] Status add_app(const std::string& tenant_id, const AppConfig& app);
  [[nodiscard]] Status add_certificate(const std::string& tenant_id, const std::string& client_id,
                                       const std::string& pem);
  [[nodiscard]] Status add_federated(const std::string& tenant_id, const std::string& client_id,
                                     const FederatedCredential& credential);
  [[nodiscard]] Status add_subscription(const SubscriptionConfig& subscription);
  [[nodiscard]] Result<ManagedIdentity> create_identity(const IdentityConfig& identity);
  [[nodiscard]] std::optional<ManagedIdentity> identity(const std::string& resource_id) const;
  [[nodiscard]] Result<std::string> add_vm(const MachineConfig& vm);
  [[nodiscard]] Result<std::string> add_scale_set(const MachineConfig& vmss);
  [[nodiscard]] std::optional<Machine> machine(const std::string& resource_id) const;
  [[nodiscard]] Status attach(const std::string& machine_id, const std::string& identity_id);
  [[nodiscard]] Status detach(const std::string& machine_id, const std::string& identity_id);
  [[nodiscard]] Status set_assigners(const std::string& identity_id, std::vector<std::string> principals);
  void inject_fault(Fault fault);
  void clear_faults();
  void set_arm_budgets(Budget reads, Budget writes);
  void set_latencies(Latencies latencies);
  [[nodiscard]] std::string jwks_json(const std::string& tenant_id) const;

  // Counters: "arm.vmss.patch", "arm.throttled", "arm.reads", "aad.token", "imds.<machine id>.token", ...
  [[nodiscard]] std::uint64_t counter(const std::string& name) const;
  [[nodiscard]] std::map<std::string, std::uint64_t> counters() const;

 private:
  struct Runtime;
  EmulatorConfig config_;
  std::unique_ptr<Cloud> cloud_;
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace podid::emulator
