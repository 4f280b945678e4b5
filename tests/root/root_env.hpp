#pragma once
// Shared set-up of the root tests: a node network with three pods (A and B bound, C unbound), a fake IMDS
// and a responder standing in for the node proxy, plus the backends under test as Catch2 template types.

#include <catch2/catch.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "nodeproxy/iptables/interception_rules.hpp"
#include "nodeproxy/iptables/process_runner.hpp"
#include "root/tcp_probe.hpp"
#include "support/netns.hpp"

namespace podid::testing {

inline constexpr std::uint16_t kProxyPort = 2579;

// Catch2 2.13 cannot skip: say so loudly (WARN) and print the marker CTest's SKIP_REGULAR_EXPRESSION
// turns into "skipped".
#define PODID_REQUIRE_ROOT(runner)                                                \
  do {                                                                            \
    const auto podid_why_ = ::podid::testing::root_test_precondition(runner);     \
    if (!podid_why_.empty()) {                                                    \
      std::cout << "PODID-SKIP: root precondition unmet: " << podid_why_ << "\n"; \
      WARN("SKIPPED, root precondition unmet: " << podid_why_);                   \
      return;                                                                     \
    }                                                                             \
  } while (0)

struct RootEnv {
  iptables::ProcessRunner runner;
  std::unique_ptr<NodeNetwork> net;
  Pod* a{nullptr};
  Pod* b{nullptr};
  Pod* c{nullptr};
  std::unique_ptr<TcpResponder> proxy;   // 10.255.0.1:2579, tag "proxy"
  std::unique_ptr<TcpResponder> imds;    // 169.254.169.254:80, tag "imds"
  std::unique_ptr<TcpResponder> imds81;  // 169.254.169.254:81, tag "imds81"
  std::unique_ptr<TcpResponder> other;   // 10.255.0.1:8081, tag "other"

  // Builds everything; REQUIREs success.
  void build(bool with_responders);
  // The bridged layout instead: the node, the fake-IMDS address, pods A and B on one bridge (no C, no
  // responders). REQUIREs success.
  void build_bridged();
  [[nodiscard]] iptables::RuleSpec spec()
      const;  // A and B bound to their veths (and bridge ports, if bridged)
  // Runs a call of the rules object inside the node namespace.
  template <class F>
  auto in_node(F&& f) {
    std::optional<std::invoke_result_t<F>> out;
    net->node().run([&] { out.emplace(f()); });
    return std::move(*out);
  }
  [[nodiscard]] GetResult get_from(const Pod& pod, const std::string& ip, std::uint16_t port,
                                   const std::string& source = {});
  [[nodiscard]] std::string node_exec(const std::vector<std::string>& argv);
};

}  // namespace podid::testing
