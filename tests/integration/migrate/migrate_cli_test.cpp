// `podidctl migrate` as a process against the real kube-apiserver: exit codes, dry-run output, the marker,
// events in a RocksDB store, and "already migrated".
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "integration/migrate/migrate_env.hpp"
#include "store/rocks_event_store.hpp"
#include "support/control_plane_catch.hpp"
#include "unit/watch/temp_dir.hpp"

namespace t = podid::testing;
namespace kinds = podid::watch::kinds;

namespace {

struct Ran {
  int code;
  std::string output;
};

Ran podidctl(const std::string& args) {
  const std::string cmd = std::string(PODIDCTL_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (const auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return Ran{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE(
    "podidctl migrate: dry run, an interrupted run, the finishing run with events, then already "
    "migrated",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("migrate-cli");
  boost::asio::io_context io;
  auto client = t::admin_client(io, *cp);
  for (const auto* n : {"id1", "id2", "id3"}) {
    auto created =
        t::run_async(io, client->create(kinds::azure_identities(), ns, t::legacy_identity(n, t::arm_id(n))));
    REQUIRE(created.has_value());
  }
  t::TempDir dir;
  const auto base = "migrate --kubeconfig " + cp->info().kubeconfig_path + " --config-namespace " + ns;

  const auto dry = podidctl(base + " --dry-run");
  INFO(dry.output);
  CHECK(dry.code == 0);
  CHECK(dry.output.find("would rewrite AzureIdentity " + ns + "/id1") != std::string::npos);

  const auto interrupted = podidctl(base + " --stop-after-writes 1 --store " + dir.path() + "/log");
  INFO(interrupted.output);
  CHECK(interrupted.code == 3);

  const auto finished = podidctl(base + " --store " + dir.path() + "/log");
  INFO(finished.output);
  CHECK(finished.code == 0);
  CHECK(finished.output.find("migrated; wrote type-upgrade-status=podid ") != std::string::npos);

  const auto again = podidctl(base);
  CHECK(again.code == 0);
  CHECK(again.output.find("already migrated") != std::string::npos);

  auto opened = podid::store::RocksEventStore::open(dir.path() + "/log");
  REQUIRE(opened.has_value());
  std::size_t rewrites = 0;
  for (const auto& r : (*opened)->read(0, 1000).value())
    if (r.kind == "MigrationApplied" && r.payload.find(ns + "/id") != std::string::npos) ++rewrites;
  CHECK(rewrites == 3);

  const auto usage = podidctl("migrate --dry-run");
  CHECK(usage.code == 2);
}
