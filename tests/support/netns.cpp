#include "support/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace podid::testing {
namespace {

constexpr const char* kPrefix = "podidt-";

void enter(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("setns " + name + ": " + std::strerror(err));
}

// Writes a sysctl of the calling thread's network namespace.
void write_sysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  std::ofstream f(path);
  f << value;
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

core::Result<std::unique_ptr<NetNamespace>> NetNamespace::create(iptables::CommandRunner& runner,
                                                                 std::string name) {
  auto out = PODID_TRY(runner.run({"ip", "netns", "add", name}, {}));
  if (out.exit_code != 0)
    return core::make_error(core::ErrorCode::permission, "ip netns add failed: " + out.err);
  std::unique_ptr<NetNamespace> ns(new NetNamespace(runner, std::move(name)));
  PODID_TRY(ns->must({"ip", "link", "set", "lo", "up"}));
  return ns;
}

NetNamespace::~NetNamespace() {
  auto out = runner_.run({"ip", "netns", "del", name_}, {});
  if (!out || out->exit_code != 0) std::cerr << "netns: could not delete " << name_ << "\n";
}

void NetNamespace::run(const std::function<void()>& fn) const {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      enter(name_);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

std::thread NetNamespace::start(std::function<void()> fn) const {
  return std::thread([name = name_, fn = std::move(fn)] {
    enter(name);
    fn();
  });
}

core::Result<iptables::CommandOutput> NetNamespace::exec(const std::vector<std::string>& argv,
                                                         std::string_view input) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return runner_.run(full, input);
}

core::Status NetNamespace::must(const std::vector<std::string>& argv) const {
  auto out = PODID_TRY(exec(argv));
  if (out.exit_code == 0) return core::ok();
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  return core::make_error(core::ErrorCode::io, "in " + name_ + ": " + cmd + "failed: " + out.err);
}

core::Result<std::unique_ptr<NodeNetwork>> NodeNetwork::create(iptables::CommandRunner& runner) {
  static std::atomic<unsigned> counter{0};
  const std::string prefix = kPrefix + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  std::unique_ptr<NodeNetwork> net(new NodeNetwork(runner, prefix));
  net->node_ = PODID_TRY(NetNamespace::create(runner, prefix + "-node"));
  const auto& node = *net->node_;
  PODID_TRY(net->add_address("node0", kNodeAddress));
  try {
    node.run([] {
      write_sysctl("net/ipv4/ip_forward", "1");
      write_sysctl("net/ipv4/conf/all/rp_filter", "0");
      write_sysctl("net/ipv4/conf/default/rp_filter", "0");
    });
  } catch (const std::exception& e) {
    return core::make_error(core::ErrorCode::io, e.what());
  }
  return net;
}

NodeNetwork::~NodeNetwork() {
  pods_.clear();
  node_.reset();
}

core::Result<Pod*> NodeNetwork::add_pod() {
  const auto number = pods_.size() + 1;
  auto pod = std::make_unique<Pod>();
  pod->ns = PODID_TRY(NetNamespace::create(runner_, prefix_ + "-pod" + std::to_string(number)));
  pod->ip = "10.200.0." + std::to_string(10 + number);
  pod->host_interface = "vethpod" + std::to_string(number);
  const auto& node = *node_;
  const auto& ns = *pod->ns;
  PODID_TRY(node.must({"ip", "link", "add", pod->host_interface, "type", "veth", "peer", "name", "eth0",
                       "netns", ns.name()}));
  PODID_TRY(node.must({"ip", "link", "set", pod->host_interface, "up"}));
  PODID_TRY(node.must({"ip", "route", "add", pod->ip + "/32", "dev", pod->host_interface}));
  PODID_TRY(ns.must({"ip", "addr", "add", pod->ip + "/32", "dev", "eth0"}));
  PODID_TRY(ns.must({"ip", "link", "set", "eth0", "up"}));
  PODID_TRY(ns.must({"ip", "route", "add", "default", "via", kNodeAddress, "dev", "eth0", "onlink"}));
  pods_.push_back(std::move(pod));
  return pods_.back().get();
}

core::Result<Pod*> NodeNetwork::add_bridged_pod() {
  const auto& node = *node_;
  if (!bridge_) {
    // No STP: a new port forwards at once.
    PODID_TRY(
        node.must({"ip", "link", "add", kBridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"}));
    PODID_TRY(node.must({"ip", "addr", "add", std::string(kBridgeAddress) + "/24", "dev", kBridge}));
    PODID_TRY(node.must({"ip", "link", "set", kBridge, "up"}));
    bridge_ = true;
  }
  const auto number = pods_.size() + 1;
  auto pod = std::make_unique<Pod>();
  pod->ns = PODID_TRY(NetNamespace::create(runner_, prefix_ + "-pod" + std::to_string(number)));
  pod->ip = "10.201.0." + std::to_string(10 + number);
  pod->host_interface = kBridge;
  pod->bridge_port = "vethbr" + std::to_string(number);
  const auto& ns = *pod->ns;
  PODID_TRY(node.must(
      {"ip", "link", "add", pod->bridge_port, "type", "veth", "peer", "name", "eth0", "netns", ns.name()}));
  PODID_TRY(node.must({"ip", "link", "set", pod->bridge_port, "master", kBridge, "up"}));
  PODID_TRY(ns.must({"ip", "addr", "add", pod->ip + "/24", "dev", "eth0"}));
  PODID_TRY(ns.must({"ip", "link", "set", "eth0", "up"}));
  PODID_TRY(ns.must({"ip", "route", "add", "default", "via", kBridgeAddress, "dev", "eth0"}));
  pods_.push_back(std::move(pod));
  return pods_.back().get();
}

core::Status NodeNetwork::add_fake_imds() {
  return add_address("imds0", kMetadataAddress);
}

core::Status NodeNetwork::add_address(const std::string& dummy, const std::string& ip) {
  std::string device = dummy;
  auto created = PODID_TRY(node_->exec({"ip", "link", "add", dummy, "type", "dummy"}));
  if (created.exit_code != 0) {
    device = "lo";  // kernel without the dummy driver
  } else {
    PODID_TRY(node_->must({"ip", "link", "set", dummy, "up"}));
  }
  return node_->must({"ip", "addr", "add", ip + "/32", "dev", device});
}

std::size_t sweep_dead_runs(iptables::CommandRunner& runner) {
  std::size_t deleted = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const auto dash = name.find('-', std::strlen(kPrefix));
    long pid = 0;
    try {
      pid = std::stol(name.substr(std::strlen(kPrefix), dash - std::strlen(kPrefix)));
    } catch (const std::exception&) {
      continue;  // not one of ours
    }
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    auto out = runner.run({"ip", "netns", "del", name}, {});
    if (out && out->exit_code == 0) ++deleted;
  }
  return deleted;
}

std::string root_test_precondition(iptables::CommandRunner& runner) {
  if (::geteuid() != 0) return "root tests need euid 0 (CAP_NET_ADMIN and CAP_SYS_ADMIN)";
  const std::string probe = kPrefix + std::to_string(::getpid()) + "-probe";
  auto out = runner.run({"ip", "netns", "add", probe}, {});
  if (!out) return "cannot run ip (iproute2): " + out.error().message;
  if (out->exit_code != 0) return "`ip netns add` failed: " + out->err;
  auto del = runner.run({"ip", "netns", "del", probe}, {});
  if (!del || del->exit_code != 0) return "`ip netns del` failed";
  return {};
}

}  // namespace podid::testing
