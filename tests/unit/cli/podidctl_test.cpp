// The podidctl binary: exit codes and output of replay on a golden log.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "golden_logs.hpp"
#include "podidctl_run.hpp"

using podid::test::run;

TEST_CASE("podidctl replay --explain prints the decision and its history", "[unit]") {
  const auto log = (podid::test::source_dir() / "tests/golden/quarantine_throttle.events.jsonl").string();
  const auto r = run("replay --events " + log + " --plan --explain pod/d/p");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("assignments 2, Quarantined 1, RetryScheduled 1"));
  CHECK_THAT(r.out, Catch::Contains("AzureAssignedIdentity create"));
  CHECK_THAT(r.out, Catch::Contains("#8 "));
}

TEST_CASE("podidctl refuses bad usage with exit code 2 and a clear message", "[unit]") {
  CHECK(run("").status == 2);
  const auto r = run("replay");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("--store, --events or --bundle is required"));
  CHECK(run("replay --events /nonexistent/file").status == 2);
}

TEST_CASE("podidctl reports a corrupt event line with its line number and exit code 1", "[unit]") {
  char path[] = "/tmp/podidctl-bad-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string text = "{\"kind\":\"NoSuchEvent\",\"v\":1,\"atMs\":1}\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  const auto r = run(std::string("replay --events ") + path);
  std::remove(path);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains(":1: "));
}

TEST_CASE("A support bundle replays elsewhere: its state and recent events explain a pod", "[unit]") {
  const auto log = (podid::test::source_dir() / "tests/golden/quarantine_throttle.events.jsonl").string();
  char path[] = "/tmp/podidctl-bundle-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  const auto exported = run("snapshot export --events " + log + " --out " + path);
  REQUIRE(exported.status == 0);
  const auto r = run(std::string("replay --bundle ") + path + " --explain pod/d/p");
  const auto travel = run(std::string("replay --bundle ") + path + " --to-seq 3");
  std::remove(path);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("state at event 8 from bundle"));
  CHECK_THAT(r.out, Catch::Contains("Quarantined (invalid resource ID"));
  CHECK_THAT(r.out, Catch::Contains("#8 "));
  CHECK(travel.status == 2);
  CHECK_THAT(travel.out, Catch::Contains("holds the state at its last event only"));
}

TEST_CASE("podidctl replay of a directory without a store fails and creates nothing there", "[unit]") {
  char path[] = "/tmp/podidctl-no-store-XXXXXX";
  REQUIRE(mkdtemp(path) != nullptr);
  const auto r = run(std::string("replay --store ") + path);
  const bool still_empty = rmdir(path) == 0;  // fails when the directory is not empty
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("read-only") && Catch::Contains(path));
  CHECK(still_empty);
}
