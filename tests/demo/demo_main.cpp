// podid-demo: the original project's README demo, played for real on this machine (`make demo`).
// A real kube-apiserver and etcd, the Azure emulator (AAD, ARM, IMDS), two nodes as network namespaces with
// their IMDS, node proxy and interception rules, the controller with leader election, the users' manifests
// applied unchanged, and pods materialised as network namespaces with real IPs running the demo app.
//   podid-demo [--keep] [--app PATH] [--podidctl PATH]

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "nodeproxy/iptables/process_runner.hpp"
#include "store/event_log.hpp"
#include "support/control_plane.hpp"
#include "tests/demo/demo_controller.hpp"
#include "tests/demo/demo_node.hpp"
#include "tests/demo/demo_script.hpp"

namespace {

using namespace podid;
using demo::Progress;

struct Options {
  bool keep{false};
  std::string app;       // podid-demo-app
  std::string podidctl;  // podidctl
};

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "\npodid-demo: " << what << "\n";
  throw std::runtime_error(what);
}

template <class T>
T must(core::Result<T> r, const std::string& what) {
  if (!r) fail(what + ": " + r.error().describe());
  return std::move(*r);
}
void must(const core::Status& s, const std::string& what) {
  if (!s) fail(what + ": " + s.error().describe());
}

int play(const Options& o) {
  Progress progress;
  core::SystemClock clock;
  demo::FileSink log_sink("/tmp/podid-demo.log");
  iptables::ProcessRunner runner;
  testing::sweep_dead_runs(runner);

  progress.step("Checking that this machine can run the demo (root, network namespaces)");
  if (auto why = testing::root_test_precondition(runner); !why.empty()) fail("cannot run the demo: " + why);
  progress.done();

  progress.step("Starting the control plane: etcd 3.7.3 and kube-apiserver 1.37.2 with our CRDs");
  testing::ControlPlane* cp = testing::ControlPlane::shared();
  if (cp == nullptr) fail(testing::ControlPlane::unavailable_reason());
  progress.done();

  progress.step("Creating two nodes as network namespaces with an uplink to the cloud");
  std::vector<std::unique_ptr<demo::DemoNode>> nodes;
  for (int i = 0; i < 2; ++i)
    nodes.push_back(
        must(demo::DemoNode::create(runner, "aks-nodepool1-" + std::to_string(i), i, clock, log_sink),
             "node " + std::to_string(i)));
  progress.done();

  progress.step("Starting the Azure emulator: a scale set of two instances, identity `demo`");
  demo::DemoCloud cloud = must(demo::start_cloud(demo::DemoNode::kCloudAddress), "Azure emulator");
  progress.done();

  progress.step("Starting each node's IMDS, node proxy and interception rules");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    must(nodes[i]->start(*cloud.emulator, cloud.vmss_id, static_cast<int>(i)), "node " + std::to_string(i));
    demo::register_node(*cp, nodes[i]->name(), cloud.instance_provider_id(static_cast<int>(i)));
  }
  progress.done();

  progress.step("Starting the controller (leader election, event log in RocksDB)");
  auto controller = must(demo::start_controller(*cp, cloud, clock, log_sink), "controller");
  demo::Replicator replicator(controller->store(), nodes);
  progress.done();

  progress.step("Applying the AzureIdentity and AzureIdentityBinding of the original README, unchanged");
  const auto manifests = demo::user_manifests(cloud);
  cp->apply_yaml(manifests, "default");
  std::cout << demo::indent(manifests);
  progress.done();

  progress.step("Creating pod `demo` (label aadpodidbinding: demo) and pod `no-identity` (no label)");
  auto* demo_pod = must(nodes[0]->add_pod(), "pod network");
  auto* plain_pod = must(nodes[1]->add_pod(), "pod network");
  demo::create_pod(*cp, "demo", nodes[0]->name(), demo_pod->ip, cloud, true);
  demo::create_pod(*cp, "no-identity", nodes[1]->name(), plain_pod->ip, cloud, false);
  progress.done();

  progress.step("Waiting for the controller to attach identity `demo` to the scale set and mark it Assigned");
  const std::string events = "/tmp/podid-demo-events.jsonl";
  if (auto assigned = demo::wait_assigned(*cp, "demo", std::chrono::seconds(90), progress); !assigned) {
    // Show why from the log before giving up.
    if (demo::export_events(controller->store(), events))
      std::cout << demo::indent(demo::explain(o.podidctl, events, "pod/default/demo"));
    must(assigned, "assignment");
  }
  replicator.sync();
  progress.done();

  progress.step("Running the demo app in pod `demo` (it calls http://169.254.169.254 like any Azure SDK)");
  const auto ok_run = demo::run_app(*demo_pod, o.app, cloud);
  std::cout << demo::indent(ok_run.output);
  progress.done();

  progress.step("Running the demo app in pod `no-identity`: it must get no token");
  const auto no_run = demo::run_app(*plain_pod, o.app, cloud);
  std::cout << demo::indent(no_run.output);
  progress.done();

  progress.step("Why? `podidctl replay --explain` from the controller's event log");
  must(demo::export_events(controller->store(), events), "exporting the event log");
  std::cout << demo::indent(demo::explain(o.podidctl, events, "pod/default/demo"));
  std::cout << demo::indent(demo::explain(o.podidctl, events, "pod/default/no-identity"));
  progress.done();

  const bool success = ok_run.exit_code == 0 && no_run.exit_code != 0;
  std::cout
      << (success
              ? "\nThe demo worked: pod `demo` got a token for identity `demo`; pod `no-identity` got none.\n"
              : "\nThe demo did NOT behave as expected; see /tmp/podid-demo.log.\n");
  if (o.keep) demo::keep_running(*cp);
  progress.step("Cleaning up pods, nodes, iptables chains and processes");
  replicator.stop();
  controller.reset();
  nodes.clear();
  progress.done();
  return success ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"podid-demo: AAD Pod Identity end to end on this machine, no Azure needed"};
  Options o;
  app.add_flag("--keep", o.keep, "Keep the cluster running after the demo and print how to explore it");
  app.add_option("--app", o.app, "Path of podid-demo-app")->required();
  app.add_option("--podidctl", o.podidctl, "Path of podidctl")->required();
  CLI11_PARSE(app, argc, argv);
  if (o.keep) {
    // Blocked before any thread starts, so every thread inherits the mask and Ctrl-C waits for
    // keep_running()'s sigwait; the demo then cleans up its namespaces, rules and processes in order.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  }
  try {
    return play(o);
  } catch (const std::exception& e) {
    std::cerr << "podid-demo failed: " << e.what() << "\n";
    return 1;
  }
}
