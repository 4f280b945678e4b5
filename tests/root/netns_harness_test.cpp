// The network-namespace harness itself: teardown on destruction and the sweeper of dead runs.

#include <sys/wait.h>
#include <unistd.h>

#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;

namespace {

std::string netns_list(iptables::CommandRunner& runner) {
  auto out = runner.run({"ip", "netns", "list"}, {});
  REQUIRE(out.has_value());
  return out->out;
}

}  // namespace

TEST_CASE("A node network's namespaces exist while it lives and are gone after", "[root]") {
  iptables::ProcessRunner runner;
  PODID_REQUIRE_ROOT(runner);
  std::string node_name, pod_name;
  {
    auto net = NodeNetwork::create(runner);
    REQUIRE(net.has_value());
    auto pod = (*net)->add_pod();
    REQUIRE(pod.has_value());
    node_name = (*net)->node().name();
    pod_name = (*pod)->ns->name();
    const auto listed = netns_list(runner);
    CHECK(listed.find(node_name) != std::string::npos);
    CHECK(listed.find(pod_name) != std::string::npos);
    CHECK(node_name.rfind("podidt-" + std::to_string(::getpid()) + "-", 0) == 0);
  }
  const auto after = netns_list(runner);
  CHECK(after.find(node_name) == std::string::npos);
  CHECK(after.find(pod_name) == std::string::npos);
}

TEST_CASE("The sweeper deletes namespaces of dead runs and keeps live ones", "[root]") {
  iptables::ProcessRunner runner;
  PODID_REQUIRE_ROOT(runner);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);  // reaped: this pid now names a dead run
  const std::string dead = "podidt-" + std::to_string(child) + "-1-node";
  const std::string live = "podidt-" + std::to_string(::getpid()) + "-sweeptest";
  for (const auto& n : {dead, live}) {
    auto out = runner.run({"ip", "netns", "add", n}, {});
    REQUIRE(out.has_value());
    REQUIRE(out->exit_code == 0);
  }
  CHECK(sweep_dead_runs(runner) >= 1);
  const auto listed = netns_list(runner);
  CHECK(listed.find(dead) == std::string::npos);
  CHECK(listed.find(live) != std::string::npos);
  (void)runner.run({"ip", "netns", "del", live}, {});
}
