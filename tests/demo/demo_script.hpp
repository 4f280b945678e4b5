#pragma once
// The pieces of the demo script: progress display, the emulated cloud, Kubernetes objects as a user and a
// node simulator would write them, running the demo app in a pod, and the in-process replication of the
// event log to the node proxies.

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "store/event_store.hpp"
#include "support/control_plane.hpp"
#include "support/netns.hpp"
#include "tests/demo/demo_node.hpp"
#include "tests/emulator/emulator.hpp"

namespace podid::demo {

// Numbered steps with their duration; a live elapsed-time line while a slow step waits.
class Progress {
 public:
  void step(const std::string& title);
  void tick(const std::string& status);  // rewrites the current status line (on a terminal)
  void done();

 private:
  int n_{0};
  std::chrono::steady_clock::time_point started_;
  bool tty_{false};
};

class FileSink final : public core::Sink {
 public:
  explicit FileSink(const std::string& path) : out_(path, std::ios::trunc) {}
  void write(core::LogLevel, std::string_view line) override {
    std::lock_guard lock(mu_);
    out_ << line << '\n';
    out_.flush();
  }

 private:
  std::mutex mu_;
  std::ofstream out_;
};

struct DemoCloud {
  std::unique_ptr<emulator::Emulator> emulator;
  std::string tenant, subscription, resource_group{"demo-rg"};
  std::string controller_client_id, controller_secret;
  std::string vmss_id;
  std::string identity_id, identity_client_id;
  [[nodiscard]] std::string instance_provider_id(int instance) const;
};

[[nodiscard]] core::Result<DemoCloud> start_cloud(const std::string& address);

void register_node(testing::ControlPlane& cp, const std::string& name, const std::string& provider_id);
[[nodiscard]] std::string user_manifests(const DemoCloud& cloud);
// Creates the pod bound to `node`, then writes status.podIP / phase Running as a kubelet would.
void create_pod(testing::ControlPlane& cp, const std::string& name, const std::string& node,
                const std::string& ip, const DemoCloud& cloud, bool labelled);
[[nodiscard]] core::Status wait_assigned(testing::ControlPlane& cp, const std::string& pod,
                                         std::chrono::seconds limit, Progress& progress);

struct AppRun {
  int exit_code{-1};
  std::string output;
};
[[nodiscard]] AppRun run_app(const testing::Pod& pod, const std::string& app, const DemoCloud& cloud);
// Writes the log's events as JSON lines (the form `podidctl replay --events` reads).
[[nodiscard]] core::Status export_events(const store::EventStore& store, const std::string& path);
[[nodiscard]] std::string explain(const std::string& podidctl, const std::string& events_file,
                                  const std::string& subject);
[[nodiscard]] std::string indent(const std::string& text);
void keep_running(testing::ControlPlane& cp);

// Follows the event log and publishes each node's snapshot to its node proxy whenever the log grows:
// the in-process stand-in for the controller -> node proxy replication stream.
class Replicator {
 public:
  Replicator(store::EventStore& store, std::vector<std::unique_ptr<DemoNode>>& nodes);
  ~Replicator() { stop(); }
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;
  void sync();  // publish now
  void stop();

 private:
  store::EventStore& store_;
  std::vector<std::unique_ptr<DemoNode>>& nodes_;
  std::mutex mu_;
  core::State state_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace podid::demo
