// `podidctl node cleanup` against real rules of both backends, run by `ip netns exec` in a node namespace the
// test creates: the dry run changes nothing, the cleanup removes chains and table, a second run has nothing
// to remove, and a live podid-nodeproxy process makes it refuse unless --force.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "root/backends.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;

extern char** environ;

namespace {

const iptables::ChainNames kNames = *iptables::ChainNames::from_base(iptables::kDefaultChain);

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A process whose comm is podid-nodeproxy (a copy of sleep), killed and reaped on destruction.
class FakeNodeProxy {
 public:
  FakeNodeProxy() {
    char tmpl[] = "/tmp/podidt-cleanup-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    const auto exe = dir_ / "podid-nodeproxy";
    std::filesystem::copy_file("/bin/sleep", exe);
    std::filesystem::permissions(exe, std::filesystem::perms::owner_all);
    const std::string path = exe.string();
    char arg1[] = "300";
    char* argv[] = {const_cast<char*>(path.c_str()), arg1, nullptr};
    REQUIRE(::posix_spawn(&pid_, path.c_str(), nullptr, nullptr, argv, environ) == 0);
  }
  ~FakeNodeProxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FakeNodeProxy(const FakeNodeProxy&) = delete;
  FakeNodeProxy& operator=(const FakeNodeProxy&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_{-1};
};

}  // namespace

TEST_CASE("podidctl node cleanup removes both backends' rules, idempotently, and refuses beside a node proxy",
          "[root]") {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  auto legacy = LegacyBackend::make(env.runner);
  auto nft = NftBackend::make(env.runner);
  auto spec = env.spec();
  spec.host = iptables::HostPolicy::for_node_proxy(::getuid());  // all three chains
  const auto desired = iptables::render(spec, kNames);
  for (auto* rules : {legacy.get(), nft.get()}) {
    auto installed = env.in_node([&] { return rules->ensure(spec); });
    INFO((installed ? std::string() : installed.error().describe()));
    REQUIRE(installed.has_value());
  }
  auto both_installed = [&] {
    for (auto* rules : {legacy.get(), nft.get()}) {
      auto now = env.in_node([&] { return rules->inspect(); });
      REQUIRE(now.has_value());
      CHECK(now->rules == desired);
    }
  };
  auto podidctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {PODID_PODIDCTL_BIN, "node", "cleanup"});
    auto out = env.net->node().exec(args);
    REQUIRE(out.has_value());
    INFO("stdout: " << out->out << "\nstderr: " << out->err);
    return *out;
  };

  {
    FakeNodeProxy proxy;
    const auto refused = podidctl({});
    INFO("stdout: " << refused.out << "\nstderr: " << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "podid-nodeproxy process is running"));
    CHECK(contains(refused.err, std::to_string(proxy.pid())));
    both_installed();
  }

  // --force from here on: a real node proxy of another test or of the demo may be alive on this host.
  const auto dry = podidctl({"--dry-run", "--force"});
  INFO("dry run stdout: " << dry.out << "\nstderr: " << dry.err);
  CHECK(dry.exit_code == 0);
  CHECK(contains(dry.out, "legacy iptables: would remove"));
  CHECK(contains(dry.out, "nf_tables: would remove"));
  CHECK(contains(dry.out, "table ip podid"));
  CHECK(contains(dry.out, "chain nat " + kNames.nat));
  CHECK(contains(dry.out, "chain filter " + kNames.guard));
  CHECK(contains(dry.out, "chain filter " + kNames.host));
  both_installed();

  const auto done = podidctl({"--force"});
  INFO("cleanup stdout: " << done.out << "\nstderr: " << done.err);
  CHECK(done.exit_code == 0);
  CHECK(contains(done.out, "legacy iptables: removed"));
  CHECK(contains(done.out, "nf_tables: removed"));
  CHECK_FALSE(contains(env.node_exec({"iptables-legacy-save"}), "aad-metadata"));
  const auto table = env.net->node().exec({"nft", "list", "table", "ip", "podid"});
  REQUIRE(table.has_value());
  CHECK(table->exit_code != 0);
  CHECK_FALSE(contains(env.node_exec({"nft", "list", "ruleset"}), "podid"));

  for (const char* backend : {"auto", "legacy", "nft"}) {
    const auto again = podidctl({"--force", "--backend", backend});
    INFO("backend " << backend << " stdout: " << again.out << "\nstderr: " << again.err);
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, "nothing to remove"));
    CHECK_FALSE(contains(again.out, "removed"));
  }
}
