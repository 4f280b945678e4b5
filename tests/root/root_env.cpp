#include "root/root_env.hpp"

namespace podid::testing {

using namespace std::chrono_literals;

void RootEnv::build(bool with_responders) {
  sweep_dead_runs(runner);
  auto created = NodeNetwork::create(runner);
  INFO((created ? std::string() : created.error().describe()));
  REQUIRE(created.has_value());
  net = std::move(*created);
  auto imds_added = net->add_fake_imds();
  INFO((imds_added ? std::string() : imds_added.error().describe()));
  REQUIRE(imds_added.has_value());
  for (Pod** p : {&a, &b, &c}) {
    auto pod = net->add_pod();
    INFO((pod ? std::string() : pod.error().describe()));
    REQUIRE(pod.has_value());
    *p = *pod;
  }
  if (!with_responders) return;
  auto listen = [&](const char* ip, std::uint16_t port) {
    core::Result<int> fd = core::make_error(core::ErrorCode::io, "not run");
    net->node().run([&] { fd = TcpResponder::listen_socket(ip, port); });
    INFO((fd ? std::string() : fd.error().message));
    REQUIRE(fd.has_value());
    return *fd;
  };
  proxy = std::make_unique<TcpResponder>("proxy", listen(NodeNetwork::kNodeAddress, kProxyPort));
  imds = std::make_unique<TcpResponder>("imds", listen(NodeNetwork::kMetadataAddress, 80));
  imds81 = std::make_unique<TcpResponder>("imds81", listen(NodeNetwork::kMetadataAddress, 81));
  other = std::make_unique<TcpResponder>("other", listen(NodeNetwork::kNodeAddress, 8081));
}

void RootEnv::build_bridged() {
  sweep_dead_runs(runner);
  auto created = NodeNetwork::create(runner);
  INFO((created ? std::string() : created.error().describe()));
  REQUIRE(created.has_value());
  net = std::move(*created);
  REQUIRE(net->add_fake_imds().has_value());
  for (Pod** p : {&a, &b}) {
    auto pod = net->add_bridged_pod();
    INFO((pod ? std::string() : pod.error().describe()));
    REQUIRE(pod.has_value());
    *p = *pod;
  }
}

iptables::RuleSpec RootEnv::spec() const {
  iptables::RuleSpec s;
  s.proxy = {*iptables::Ipv4Address::parse(NodeNetwork::kNodeAddress), kProxyPort};
  for (const Pod* p : {a, b})
    s.bindings.push_back({*iptables::Ipv4Address::parse(p->ip), p->host_interface, p->bridge_port});
  return s;
}

GetResult RootEnv::get_from(const Pod& pod, const std::string& ip, std::uint16_t port,
                            const std::string& source) {
  GetResult out;
  pod.ns->run([&] { out = http_get(ip, port, source, 1500ms); });
  return out;
}

std::string RootEnv::node_exec(const std::vector<std::string>& argv) {
  auto out = net->node().exec(argv);
  REQUIRE(out.has_value());
  INFO(out->err);
  REQUIRE(out->exit_code == 0);
  return out->out;
}

}  // namespace podid::testing
