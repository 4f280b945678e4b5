// A corrupted or truncated event log (issue 8, "Faults"): podid-controller runs as a process against the
// real API server and the emulator, pods get their identities; it is stopped and its store damaged the way
// a failing disk or a careless hand would: the newest WAL truncated, bytes flipped in the newest table file,
// CURRENT deleted. Shown, for each damage:
//  - with --on-corrupt-store=fail the controller exits 1 naming the damage, and leaves the store alone;
//  - by default it reports the damage, keeps the store aside (<store>.corrupt-<time>), rebuilds from
//    Kubernetes and Azure: every assignment Assigned again with no ARM write for what is attached already;
//  - an identity attached before the damage is still detached when its pod is deleted afterwards (adopted
//    from its AzureAssignedIdentity), while one attached by someone else (no AzureAssignedIdentity) stays.
#include "unit/store/store_damage.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>

#include "core/model.hpp"
#include "integration/faults/process_world.hpp"
#include "support/control_plane_catch.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::faults_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace et = podid::emulator::testing;

namespace {

constexpr const char* kAssigned = "aadpodidentity_assignments{state=\"Assigned\"}";
constexpr const char* kRebuilds = "aadpodidentity_event_log_rebuilds_total";

struct Damage {
  const char* what;
  std::function<void(const fs::path&)> apply;
};

// The stores kept aside so far.
std::vector<fs::path> kept_stores(const ProcessWorld& w) {
  std::vector<fs::path> out;
  const auto prefix = fs::path(w.store_path()).filename().string() + ".corrupt-";
  for (const auto& e : fs::directory_iterator(fs::path(w.store_path()).parent_path()))
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  std::sort(out.begin(), out.end());  // by the time in the name (a second move in one second gets "-2")
  return out;
}

bool attached(const ProcessWorld& w, const std::string& identity) {
  const auto m = w.emu->machine(et::vmss_id("ss-0"));
  return m && m->user.contains(core::to_lower(et::identity_id(identity)));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "A damaged event log is reported and kept aside, and the controller rebuilds from Kubernetes and Azure "
    "without extra ARM writes and without leaking identities",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ProcessWorld w(*cp);
  for (const char* name : {"leaving", "foreign"})
    REQUIRE(
        w.emu->create_identity(emulator::IdentityConfig{et::kSub, "ids", name, "eastus", {}}).has_value());
  // Attached by someone else: no AzureIdentity, no AzureAssignedIdentity. Never ours to detach.
  REQUIRE(w.emu->attach(et::vmss_id("ss-0"), et::identity_id("foreign")).has_value());
  w.create_node();
  w.create_identity("demo");
  w.create_identity("leaving");
  w.create_pod("app", "demo", "127.0.0.61");

  const std::vector<Damage> damages{
      {"the newest WAL truncated to half",
       [](const fs::path& store) {
         const auto wal = store::test::newest_file(store, ".log");
         REQUIRE(wal);
         store::test::truncate_half(*wal);
       }},
      {"bytes flipped in the newest table file",
       [](const fs::path& store) {
         const auto sst = store::test::newest_file(store, ".sst");
         REQUIRE(sst);  // the controller reopened the store once: its recovery wrote the WAL into one
         store::test::flip_bytes(*sst);
       }},
      {"CURRENT deleted", [](const fs::path& store) { REQUIRE(fs::remove(store / "CURRENT")); }},
  };
  w.start_controller();
  for (std::size_t round = 0; round < damages.size(); ++round) {
    const auto& damage = damages[round];
    INFO("damage: " << damage.what);
    // A pod whose identity the controller attaches in this round; deleted after the rebuild.
    const auto leaver = "leaver-" + std::to_string(round);
    w.create_pod(leaver, "leaving", "127.0.0." + std::to_string(62 + round));
    const bool ready = eventually(
        [&] {
          if (!w.controller->running()) FAIL(w.controller->exit_description() << "\n" << w.logs());
          return w.assigned_identity_status("app", "demo") == "Assigned" &&
                 w.assigned_identity_status(leaver, "leaving") == "Assigned" && attached(w, "leaving");
        },
        120s);
    if (!ready) FAIL("not assigned\n" << w.logs());
    if (round == 1) {  // a restart, so that the store has a table file to damage
      w.controller->stop();
      w.start_controller();
      REQUIRE(eventually([&] { return w.metric(kAssigned) == 2; }, 60s));
    }
    w.controller->stop();
    REQUIRE(w.controller->exit_description() == "podid-controller exited with status 0");
    damage.apply(w.store_path());
    const auto kept_before = kept_stores(w).size();

    // fail: exits 1 with the reason, the store left as it was.
    w.start_controller({"--on-corrupt-store=fail"});
    REQUIRE(eventually([&] { return !w.controller->running(); }, 60s));
    CHECK(w.controller->exit_description() == "podid-controller exited with status 1");
    const auto refused = w.controller->log_tail(1 << 16);
    CHECK_THAT(refused, Catch::Contains("is damaged") && Catch::Contains("--on-corrupt-store=fail"));
    CHECK(kept_stores(w).size() == kept_before);

    // rebuild (the default): reported, kept aside, every assignment back with no ARM write.
    const auto patches_before = w.emu->counter("arm.vmss.patch");
    w.start_controller();
    const bool rebuilt = eventually(
        [&] {
          if (!w.controller->running()) FAIL(w.controller->exit_description() << "\n" << w.logs());
          return w.metric(kRebuilds) == 1 && w.metric(kAssigned) == 2;
        },
        120s);
    if (!rebuilt) FAIL("not rebuilt\n" << w.metrics() << "\n" << w.logs());
    const auto log = w.controller->log_tail(1 << 20);
    CHECK(occurrences(log, "Event store damaged; moved aside and rebuilt") == 1);
    const auto kept = kept_stores(w);
    REQUIRE(kept.size() == kept_before + 1);
    CHECK_THAT(log, Catch::Contains(kept.back().filename().string()));
    CHECK(w.assigned_identity_status("app", "demo") == "Assigned");
    CHECK(w.assigned_identity_status(leaver, "leaving") == "Assigned");

    // The pod leaves: its identity is detached (ours, from its AzureAssignedIdentity), in exactly one PATCH
    // (a re-attach of anything after the rebuild would have come first: one operation per scale set at a
    // time).
    REQUIRE(cp->request("DELETE", "/api/v1/namespaces/" + w.ns + "/pods/" + leaver + "?gracePeriodSeconds=0")
                .status == 200);
    const bool detached = eventually([&] { return !attached(w, "leaving"); }, 120s);
    if (!detached) FAIL("not detached\n" << w.logs());
    CHECK(w.emu->counter("arm.vmss.patch") - patches_before == 1);
    CHECK(attached(w, "demo"));
    CHECK(attached(w, "foreign"));
    REQUIRE(eventually([&] { return !w.assigned_identity_exists(leaver, "leaving"); }, 60s));
  }
  w.controller->stop();
  CHECK(w.controller->exit_description() == "podid-controller exited with status 0");
  CHECK(attached(w, "foreign"));
  std::printf("%zu damaged stores reported, kept aside and rebuilt\n", kept_stores(w).size());
}
