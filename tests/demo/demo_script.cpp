#include "tests/demo/demo_script.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/event_codec.hpp"
#include "store/event_log.hpp"
#include "tests/demo/demo_node.hpp"

namespace podid::demo {
namespace {

constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr const char* kSubscription = "9a1c5d1e-3c0f-4f6e-8d9b-2b6f0c3e5a10";
constexpr const char* kControllerClient = "0d6c7e52-1a5b-4c8e-9f0a-6b2e3d4c5f61";

}  // namespace

void Progress::step(const std::string& title) {
  tty_ = isatty(STDOUT_FILENO) != 0;
  started_ = std::chrono::steady_clock::now();
  std::cout << "\n[" << ++n_ << "] " << title << std::endl;
}

void Progress::tick(const std::string& status) {
  const auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::ostringstream line;
  line.precision(1);
  line << std::fixed << "    ... " << s << " s  " << status;
  if (tty_) {
    std::cout << "\r" << line.str() << "\033[K" << std::flush;
  } else {
    std::cout << line.str() << "\n";
  }
}

void Progress::done() {
  const auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (tty_) std::cout << "\r\033[K";
  std::ostringstream line;
  line.precision(1);
  line << std::fixed << "    done in " << s << " s";
  std::cout << line.str() << std::endl;
}

std::string DemoCloud::instance_provider_id(int instance) const {
  return "azure://" + vmss_id + "/virtualMachines/" + std::to_string(instance);
}

core::Result<DemoCloud> start_cloud(const std::string& address) {
  DemoCloud c;
  c.tenant = kTenant;
  c.subscription = kSubscription;
  c.controller_client_id = kControllerClient;
  c.controller_secret = "demo-controller-secret-" + std::to_string(getpid());
  emulator::EmulatorConfig config;
  config.tenants.push_back({c.tenant, {{c.controller_client_id, "", {c.controller_secret}, {}, {}}}});
  config.subscriptions.push_back({c.subscription, c.tenant, {c.resource_group}});
  config.identities.push_back({c.subscription, c.resource_group, "demo", "eastus", {}});
  emulator::MachineConfig vmss;
  vmss.subscription_id = c.subscription;
  vmss.resource_group = c.resource_group;
  vmss.name = "aks-nodepool1-vmss";
  vmss.capacity = 2;
  config.scale_sets.push_back(vmss);
  config.latencies.vmss = std::chrono::seconds(3);
  config.latencies.retry_after = std::chrono::seconds(1);
  config.aad.address = address;
  config.arm.address = address;
  config.extra_sans = {address};
  config.ca_file = "/tmp/podid-demo-ca-" + std::to_string(getpid()) + ".pem";
  c.emulator = std::make_unique<emulator::Emulator>(config);
  PODID_TRY(c.emulator->start());
  c.vmss_id = "/subscriptions/" + c.subscription + "/resourceGroups/" + c.resource_group +
              "/providers/Microsoft.Compute/virtualMachineScaleSets/" + vmss.name;
  c.identity_id = "/subscriptions/" + c.subscription + "/resourcegroups/" + c.resource_group +
                  "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo";
  const auto identity = c.emulator->identity(c.identity_id);
  if (!identity) return core::make_error(core::ErrorCode::not_found, "the emulator has no identity demo");
  c.identity_client_id = identity->client_id;
  return c;
}

void register_node(testing::ControlPlane& cp, const std::string& name, const std::string& provider_id) {
  const boost::json::object node{{"apiVersion", "v1"},
                                 {"kind", "Node"},
                                 {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/os", "linux"}}}}},
                                 {"spec", {{"providerID", provider_id}}}};
  const auto reply = cp.request("POST", "/api/v1/nodes", boost::json::serialize(node));
  if (reply.status != 201) throw std::runtime_error("creating node " + name + ": " + reply.body);
}

std::string user_manifests(const DemoCloud& cloud) {
  return "apiVersion: \"aadpodidentity.k8s.io/v1\"\n"
         "kind: AzureIdentity\n"
         "metadata:\n"
         "  name: demo\n"
         "spec:\n"
         "  type: 0\n"
         "  resourceID: " +
         cloud.identity_id +
         "\n"
         "  clientID: " +
         cloud.identity_client_id +
         "\n"
         "---\n"
         "apiVersion: \"aadpodidentity.k8s.io/v1\"\n"
         "kind: AzureIdentityBinding\n"
         "metadata:\n"
         "  name: demo-binding\n"
         "spec:\n"
         "  azureIdentity: demo\n"
         "  selector: demo\n";
}

void create_pod(testing::ControlPlane& cp, const std::string& name, const std::string& node,
                const std::string& ip, const DemoCloud& cloud, bool labelled) {
  boost::json::object metadata{{"name", name}};
  if (labelled) metadata["labels"] = boost::json::object{{"aadpodidbinding", "demo"}};
  const boost::json::array args{"--subscriptionid=" + cloud.subscription,
                                "--clientid=" + cloud.identity_client_id,
                                "--resourcegroup=" + cloud.resource_group};
  const boost::json::object pod{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", metadata},
      {"spec",
       {{"nodeName", node},
        {"nodeSelector", {{"kubernetes.io/os", "linux"}}},
        {"containers",
         boost::json::array{{{"name", "demo"}, {"image", "podid-demo-app"}, {"args", args}}}}}}};
  auto reply = cp.request("POST", "/api/v1/namespaces/default/pods", boost::json::serialize(pod));
  if (reply.status != 201) throw std::runtime_error("creating pod " + name + ": " + reply.body);
  // The node simulator's part: the pod runs, with its network namespace's address.
  const boost::json::object status{{"status",
                                    {{"phase", "Running"},
                                     {"podIP", ip},
                                     {"podIPs", boost::json::array{{{"ip", ip}}}},
                                     {"hostIP", testing::NodeNetwork::kNodeAddress}}}};
  reply = cp.request("PATCH", "/api/v1/namespaces/default/pods/" + name + "/status",
                     boost::json::serialize(status), "application/merge-patch+json");
  if (reply.status != 200) throw std::runtime_error("writing the status of pod " + name + ": " + reply.body);
}

core::Status wait_assigned(testing::ControlPlane& cp, const std::string& pod, std::chrono::seconds limit,
                           Progress& progress) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string last = "no AzureAssignedIdentity yet";
  std::string shown;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto reply = cp.request("GET", "/apis/aadpodidentity.k8s.io/v1/azureassignedidentities");
    if (reply.status == 200) {
      const auto list = boost::json::parse(reply.body);
      for (const auto& item : list.at("items").as_array()) {
        const auto* spec = item.as_object().if_contains("spec");
        if (spec == nullptr || !spec->is_object()) continue;
        const auto* p = spec->as_object().if_contains("pod");
        if (p == nullptr || !p->is_string() || p->as_string() != pod) continue;
        std::string state = "(no status)";
        if (const auto* st = item.as_object().if_contains("status"); st != nullptr && st->is_object())
          if (const auto* s = st->as_object().if_contains("status"); s != nullptr && s->is_string())
            state = std::string(s->as_string());
        last =
            "AzureAssignedIdentity " + std::string(item.at("metadata").at("name").as_string()) + ": " + state;
        if (state == "Assigned") {
          std::cout << "\n    " << last << "\n";
          return core::ok();
        }
      }
    }
    if (last != shown) progress.tick(last);
    shown = last;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return core::make_error(core::ErrorCode::transient,
                          "not Assigned after " + std::to_string(limit.count()) + " s; last seen: " + last);
}

AppRun run_app(const testing::Pod& pod, const std::string& app, const DemoCloud& cloud) {
  auto out =
      pod.ns->exec({app, "--subscriptionid", cloud.subscription, "--clientid", cloud.identity_client_id,
                    "--resourcegroup", cloud.resource_group, "--arm-endpoint", cloud.emulator->arm_endpoint(),
                    "--ca-file", cloud.emulator->ca_file()});
  if (!out) return {-1, out.error().describe()};
  return {out->exit_code, out->out + out->err};
}

core::Status export_events(const store::EventStore& store, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  for (store::Seq next = store.first_seq(); next <= store.last_seq();) {
    const auto page = PODID_TRY(store.read(next, 1024));
    if (page.empty()) break;
    for (const auto& r : page) out << r.payload << '\n';
    next = page.back().seq + 1;
  }
  out.flush();
  if (!out) return core::make_error(core::ErrorCode::io, "cannot write " + path);
  return core::ok();
}

std::string explain(const std::string& podidctl, const std::string& events_file, const std::string& subject) {
  const std::string cmd = podidctl + " replay --events " + events_file + " --explain " + subject + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "cannot run podidctl\n";
  std::string out;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  pclose(p);
  return "$ podidctl replay --events " + events_file + " --explain " + subject + "\n" + out;
}

std::string indent(const std::string& text) {
  std::string out = "    ";
  for (const char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  if (out.ends_with("    ")) out.resize(out.size() - 4);
  if (!out.ends_with('\n')) out += '\n';
  return out;
}

void keep_running(testing::ControlPlane& cp) {
  const auto& info = cp.info();
  std::cout << "\nThe cluster keeps running (Ctrl-C stops it and cleans up):\n"
            << "  export KUBECONFIG=" << info.kubeconfig_path << "\n"
            << "  kubectl get azureidentities,azureidentitybindings,azureassignedidentities -A\n"
            << "  kubectl apply -f <your identity, binding and pod>\n"
            << "  server " << info.server << "\n";
  // main() blocked these in every thread before starting any, so the signal waits here.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
}

Replicator::Replicator(store::EventStore& store, std::vector<std::unique_ptr<DemoNode>>& nodes)
    : store_(store), nodes_(nodes) {
  thread_ = std::thread([this] {
    while (!stop_) {
      sync();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

void Replicator::sync() {
  std::lock_guard lock(mu_);
  store::EventLog log(store_);
  auto applied = log.catch_up(state_);
  if (!applied || *applied == 0) return;
  for (auto& node : nodes_) node->publish(state_);
}

void Replicator::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace podid::demo
