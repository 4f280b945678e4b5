#pragma once
// The end-to-end benchmark's cluster: its size, the emulated cloud (scale sets, VMs, identities, Azure's ARM
// budgets and a tenth of its operation latency), the Kubernetes objects (nodes, AzureIdentities, bindings,
// pods created and deleted by worker threads through the control plane's blocking client), and a replica of
// the controller composed as in tests/integration/controller (its env helpers), with a sink that counts
// log lines instead of keeping them, so that they do not count against the controller's memory.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "integration/controller/controller_env.hpp"
#include "tests/bench/per_node_arm_client.hpp"

namespace podid::bench {

struct E2eSize {
  int pods{2'000};
  int identities{100};
  int scale_sets{5};
  int instances{10};  // nodes per scale set
  int vms{10};
  std::chrono::milliseconds vmss_latency{4'000};
  std::chrono::milliseconds vm_latency{1'500};
  std::chrono::seconds retry_after{1};  // the LRO's Retry-After (Azure's, scaled like the latency)
  int churn_rounds{5};
  double churn_share{0.10};
  std::chrono::milliseconds churn_period{std::chrono::seconds(15)};  // "a minute", scaled down
  std::chrono::milliseconds drift{std::chrono::seconds(20)};
  int idle_cycles{3};
  std::chrono::milliseconds limit{std::chrono::minutes(15)};  // give up on a phase after this
};

[[nodiscard]] E2eSize full_size();
[[nodiscard]] E2eSize smoke_size();

struct E2ePod {
  std::string name;
  std::string node;
  std::string scale_set;    // empty on a VM
  std::string identity;     // the AzureIdentity (and the binding's selector)
  std::string identity_id;  // its lower-case ARM resource ID
};

class CountingSink final : public core::Sink {
 public:
  void write(core::LogLevel, std::string_view) override { ++lines_; }
  [[nodiscard]] std::uint64_t lines() const { return lines_; }

 private:
  std::uint64_t lines_{0};
};

// One controller replica on `io`; `per_node` set: the original's strategy (PerNodeArmClient over the ARM
// client, and the caller sets max_concurrent = 1).
struct E2eController {
  E2eController(boost::asio::io_context& io, testing::ControlPlane& cp, const emulator::Emulator& e,
                cli::ControllerOptions options, const Placement* per_node);
  ~E2eController();
  E2eController(const E2eController&) = delete;
  E2eController& operator=(const E2eController&) = delete;
  void stop();

  boost::asio::io_context& io;
  core::SystemClock clock;
  CountingSink sink;
  testing::TempDir dir;
  std::unique_ptr<store::RocksEventStore> store;
  std::unique_ptr<watch::HttpKubeClient> kube;
  core::MetricsRegistry metrics;
  testing::ArmForEmulator arm;
  std::unique_ptr<PerNodeArmClient> baseline;
  cli::Controller controller;
  boost::asio::cancellation_signal signal;
  std::optional<core::Status> result;
};

// The cluster of one scenario: its namespace, emulator, nodes, identities and the live pods.
class E2eCluster {
 public:
  E2eCluster(testing::ControlPlane& cp, const E2eSize& size, const std::string& prefix);
  ~E2eCluster();
  E2eCluster(const E2eCluster&) = delete;
  E2eCluster& operator=(const E2eCluster&) = delete;

  [[nodiscard]] const std::string& ns() const { return ns_; }
  [[nodiscard]] emulator::Emulator& azure() { return emulator_; }
  [[nodiscard]] Placement& placement() { return placement_; }
  [[nodiscard]] const std::vector<E2ePod>& live() const { return live_; }
  [[nodiscard]] int targets() const { return size_.scale_sets + size_.vms; }

  // `count` new pods, each with a random node and identity (`like`: the identities of these pods instead).
  [[nodiscard]] std::vector<E2ePod> make_pods(std::size_t count, const std::vector<E2ePod>* like = nullptr);
  // The oldest `count` live pods, taken out of live().
  [[nodiscard]] std::vector<E2ePod> take_oldest(std::size_t count);
  void add_live(const std::vector<E2ePod>& pods) { live_.insert(live_.end(), pods.begin(), pods.end()); }

  // Blocking, callable from any thread: pods [from, end) stepping by `step` created (scheduled, Running
  // with an IP) or deleted; failures counted.
  void create(const std::vector<E2ePod>& pods, std::size_t from, std::size_t step);
  void remove(const std::vector<E2ePod>& pods, std::size_t from, std::size_t step);
  [[nodiscard]] int failures() const { return failures_.load(); }

 private:
  void create_identities();
  void create_nodes();

  testing::ControlPlane& cp_;
  E2eSize size_;
  std::string ns_;
  emulator::Emulator emulator_;
  Placement placement_;
  std::vector<std::string> node_names_;
  std::vector<std::string> node_scale_set_;  // "" for VMs
  std::vector<E2ePod> live_;
  std::mt19937 random_{20261129};
  std::uint64_t next_pod_{0};
  std::atomic<int> failures_{0};
  std::atomic<std::uint32_t> next_ip_{1};
};

// /proc/self/status VmHWM and VmRSS in KiB.
struct Rss {
  std::uint64_t hwm_kib{0};
  std::uint64_t rss_kib{0};
};
[[nodiscard]] Rss read_rss();

}  // namespace podid::bench
