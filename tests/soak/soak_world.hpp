#pragma once
// The soak's world: faults_test::ProcessWorld (the real API server, the Azure emulator, podid-controller and
// podid-nodeproxy as child processes, pods as 127.0.0.N source addresses) with a small event-log retention,
// a node proxy that keeps a replica file, a few identities and pods, a churn thread deleting and recreating
// pods, and token threads asking for tokens as those pods.
//
// Pod slots: slot i owns two addresses 127.0.0.(100+2i) and 127.0.0.(101+2i) and alternates between them
// (or keeps one) across recreations, so an address only ever belongs to pods of one slot, and a slot is
// bound to one identity for ever (or to none). Hence, whatever the replica's lag, a token for another
// identity, or any token for an unbound slot, is a leak. Anchor slots (the first of each identity) are
// never churned: their pods must get 200 (or 503 with Retry-After) on every request.

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/faults/process_world.hpp"
#include "soak/soak_options.hpp"
#include "soak/soak_report.hpp"
#include "soak/tally.hpp"

namespace podid::soak {

class SoakWorld {
 public:
  SoakWorld(testing::ControlPlane& cp, const Options& options);
  ~SoakWorld();  // stops the traffic, then the processes
  SoakWorld(const SoakWorld&) = delete;
  SoakWorld& operator=(const SoakWorld&) = delete;

  // Identities, bindings, the node, the pods, then both processes. Throws on a set-up error.
  void set_up();
  // Until every anchor pod got a token (false: timeout or a process died; the tally says why).
  [[nodiscard]] bool wait_ready();
  void start_traffic();
  void stop_traffic();

  // "" while both processes run, else how they ended.
  [[nodiscard]] std::string dead_processes();
  [[nodiscard]] Sample sample(double t_s) const;
  // The store directory's largest files now (what its size is made of).
  [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> largest_store_files() const {
    return largest_files(world_.store_path(), 10);
  }
  [[nodiscard]] Tally& tally() { return tally_; }
  [[nodiscard]] std::string logs() const { return world_.logs(); }

 private:
  struct Slot {
    int identity{-1};  // -1: no binding
    bool anchor{false};
    std::string ips[2];
    int ip_index{0};
    int generation{0};
    std::string pod;
    bool live{false};
    std::chrono::steady_clock::time_point live_since;
  };

  void start_nodeproxy(const std::string& token_file);
  [[nodiscard]] std::string selector(const Slot& s) const;
  void token_loop(int thread_index);
  void ask_own(std::size_t index, const Slot& s, int n);
  void ask_wrong(const Slot& s, int n);
  void ask_unbound(const Slot& s);
  void churn_loop();
  void churn_once(std::mt19937& rng);

  const Options options_;
  faults_test::ProcessWorld world_;
  std::string replica_file_, export_dir_;
  std::uint16_t nodeproxy_metrics_port_{0};
  std::vector<std::string> identity_names_, client_ids_;
  mutable std::mutex slots_mutex_;
  std::vector<Slot> slots_;
  Tally tally_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace podid::soak
