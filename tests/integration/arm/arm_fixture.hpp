#pragma once
// Integration fixture: the Azure emulator (one tenant, an app with a secret and a certificate, one
// subscription, identities id-000..id-150 plus id-a/id-b, VMs vm-0/vm-1, scale sets ss-0/ss-1), and the
// controller's side on one io_context: HttpClient trusting the emulator's CA, AadTokenSource,
// HttpArmClient and an Actuator whose sink keeps the events in memory.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "arm/aad_token_source.hpp"
#include "arm/actuator.hpp"
#include "arm/http_arm_client.hpp"
#include "core/http/http_client.hpp"
#include "tests/emulator/crypto.hpp"
#include "tests/emulator/emulator.hpp"
#include "unit/http/run_async.hpp"

namespace podid::arm::testing {

inline constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
inline constexpr const char* kSub = "00000000-0000-0000-0000-00000000aaaa";
inline constexpr const char* kClient = "c0ffee00-0000-0000-0000-000000000001";
inline constexpr const char* kAppOid = "0b1ec700-0000-0000-0000-0000000000a1";
inline constexpr const char* kSecret = "s3cret-value-planted";

inline std::string identity(const std::string& name) {
  return "/subscriptions/" + std::string(kSub) +
         "/resourcegroups/ids/providers/microsoft.managedidentity/userassignedidentities/" + name;
}
inline std::string numbered(int i) {
  std::string n = std::to_string(i);
  return identity("id-" + std::string(3 - std::min<std::size_t>(3, n.size()), '0') + n);
}
inline core::ArmTarget vmss(const std::string& name) {
  return core::ArmTarget{core::VmKind::vmss, kSub, "nodes", name};
}
inline core::ArmTarget vm(const std::string& name) {
  return core::ArmTarget{core::VmKind::vm, kSub, "nodes", name};
}

struct CloudOptions {
  std::chrono::milliseconds vm_latency{std::chrono::milliseconds(150)};
  std::chrono::milliseconds vmss_latency{std::chrono::milliseconds(250)};
};

inline emulator::EmulatorConfig cloud_config(const CloudOptions& o, const std::string& certificate_pem) {
  using namespace podid::emulator;
  EmulatorConfig c;
  c.tenants.push_back(TenantConfig{kTenant, {AppConfig{kClient, kAppOid, {kSecret}, {certificate_pem}, {}}}});
  c.subscriptions.push_back(SubscriptionConfig{kSub, kTenant, {"nodes", "ids"}});
  for (const std::string name : {"id-a", "id-b"})
    c.identities.push_back(IdentityConfig{kSub, "ids", name, "eastus", {}});
  for (int i = 0; i <= 150; ++i) {
    const std::string id = numbered(i);
    c.identities.push_back(IdentityConfig{kSub, "ids", id.substr(id.rfind('/') + 1), "eastus", {}});
  }
  c.vms.push_back(MachineConfig{kSub, "nodes", "vm-0", "eastus", true, {}, 1});
  c.vms.push_back(MachineConfig{kSub, "nodes", "vm-1", "eastus", false, {}, 1});
  c.scale_sets.push_back(MachineConfig{kSub, "nodes", "ss-0", "eastus", false, {}, 2});
  c.scale_sets.push_back(MachineConfig{kSub, "nodes", "ss-1", "eastus", false, {}, 2});
  c.latencies.vm = o.vm_latency;
  c.latencies.vmss = o.vmss_latency;
  c.latencies.retry_after = std::chrono::seconds(0);
  return c;
}

// The emulator, started; the service principal's certificate (PEM with key) for certificate tests.
struct Cloud {
  explicit Cloud(CloudOptions o = {})
      : sp(emulator::self_signed_rsa("podid-controller", 2048).value()),
        sp_pem(sp.cert.pem + sp.key.private_pem()),
        emu(cloud_config(o, sp.cert.pem)) {
    const auto started = emu.start();
    if (!started) throw std::runtime_error(started.error().describe());
  }
  emulator::KeyedCertificate sp;
  std::string sp_pem;
  emulator::Emulator emu;
};

struct Controller {
  explicit Controller(Cloud& c, ArmClientOptions o = fast_options(), ActuatorOptions ao = {}) : cloud(c) {
    http::ClientOptions ho;
    ho.tls.ca.data = cloud.emu.ca_pem();
    http = http::HttpClient::create(io.get_executor(), ho).value();
    tokens =
        std::make_unique<AadTokenSource>(*http, clock, aad_options(), core::Secret<std::string>(kSecret));
    o.endpoint = cloud.emu.arm_endpoint();
    arm = std::make_unique<HttpArmClient>(*http, *tokens, clock, o);
    actuator = std::make_unique<Actuator>(
        *arm,
        [this](std::span<const core::Event> batch) {
          events.insert(events.end(), batch.begin(), batch.end());
          return core::ok();
        },
        clock, ao);
  }
  static ArmClientOptions fast_options() {
    ArmClientOptions o;
    o.poll_min = std::chrono::milliseconds(20);
    o.backoff_base = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
  }
  AadOptions aad_options() const {
    AadOptions a;
    a.authority_host = cloud.emu.authority_host();
    a.tenant_id = kTenant;
    a.client_id = kClient;
    a.audience = "https://management.azure.com/";
    return a;
  }
  template <class T>
  T run(boost::asio::awaitable<T> work) {
    return podid::testing::run_async(io, std::move(work), std::chrono::seconds(60));
  }
  core::Status execute(core::IdentityChange change) { return run(actuator->execute(std::move(change))); }
  // Runs several operations at once; returns when all have finished.
  std::vector<core::Status> execute_all(std::vector<core::IdentityChange> changes) {
    std::vector<core::Status> out(changes.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < changes.size(); ++i) {
      boost::asio::co_spawn(io, actuator->execute(std::move(changes[i])),
                            [&out, &done, i, this](std::exception_ptr e, core::Status s) {
                              if (e) std::rethrow_exception(e);
                              out[i] = s;
                              if (++done == out.size()) io.stop();
                            });
    }
    io.restart();
    io.run_for(std::chrono::seconds(60));
    REQUIRE(done == out.size());
    return out;
  }

  Cloud& cloud;
  boost::asio::io_context io;
  core::SystemClock clock;
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<AadTokenSource> tokens;
  std::unique_ptr<HttpArmClient> arm;
  std::vector<core::Event> events;
  std::unique_ptr<Actuator> actuator;
};

inline core::IdentityChange change(core::ArmTarget target, std::vector<std::string> add,
                                   std::vector<std::string> remove = {},
                                   std::vector<core::Seq> caused_by = {7}) {
  core::IdentityChange c;
  c.target = std::move(target);
  c.add = std::move(add);
  c.remove = std::move(remove);
  c.caused_by = std::move(caused_by);
  return c;
}

}  // namespace podid::arm::testing
