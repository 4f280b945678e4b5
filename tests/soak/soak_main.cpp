// podid_soak: pod churn with token traffic against podid-controller and podid-nodeproxy as processes for a
// while (10 minutes by default), sampling memory, descriptors, threads and the sizes of the event log, its
// retention exports, the replica file and the logs; one table row per sample, a summary at the end.
// Exit 0: the scenario held (growth is reported, not judged); 1: it broke (a process died, an anchor pod
// was refused, a token leaked to a pod that may not have it, the API server refused a churn step);
// 2: bad flags. Without the control plane's binaries it prints why and exits 0 (CTest: skipped).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/duration.hpp"
#include "soak/soak_world.hpp"
#include "support/control_plane.hpp"

using namespace podid;
using namespace std::chrono_literals;

namespace {

// Reported, not asserted: retention runs after each checkpoint, so the log may hold up to the limit plus
// one checkpoint interval of events.
void print_retention(const std::vector<soak::Sample>& samples, const soak::Options& o) {
  double max_kept = -1;
  for (const auto& s : samples)
    if (s.retired.count > 0) max_kept = std::max(max_kept, s.kept_events());
  if (max_kept < 0)
    std::printf("retention: no event retired during the run (the log stayed under its limits)\n");
  else
    std::printf(
        "retention: at most %.0f events kept once retention started (limit %llu + checkpoint every %llu)\n",
        max_kept, static_cast<unsigned long long>(o.retention_max_events),
        static_cast<unsigned long long>(o.checkpoint_every));
}

int run(const soak::Options& o) {
  int skipped = 0;
  auto* cp = testing::ControlPlane::shared_or_skip(skipped);
  if (cp == nullptr) return skipped;
  const auto warmup = o.effective_warmup();
  std::printf(
      "soak: %lld s, a sample every %lld s (warm-up %lld s); %d bound pods (%d anchors, never churned), %d "
      "unbound, %d identities; %.1f churn operations per minute; %d token threads pausing %lld ms, every "
      "%dth "
      "request for an identity the pod may not use; checkpoint every %llu events, retention %llu events / "
      "%llu "
      "bytes\n",
      static_cast<long long>(o.duration.count() / 1000),
      static_cast<long long>(o.sample_every.count() / 1000), static_cast<long long>(warmup.count() / 1000),
      o.pods, o.identities, o.unbound, o.identities, o.churn_per_minute, o.token_threads,
      static_cast<long long>(o.token_pause.count()), o.wrong_every,
      static_cast<unsigned long long>(o.checkpoint_every),
      static_cast<unsigned long long>(o.retention_max_events),
      static_cast<unsigned long long>(o.retention_max_bytes));
  std::fflush(stdout);

  soak::SoakWorld world(*cp, o);
  world.set_up();
  const bool ready = world.wait_ready();
  std::vector<soak::Sample> samples;
  std::size_t first_after_warmup = 0;
  if (ready) {
    world.start_traffic();
    soak::print_header();
    const auto start = std::chrono::steady_clock::now();
    for (auto next = start;; next += o.sample_every) {
      std::this_thread::sleep_until(std::min(next, start + o.duration));
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (const auto dead = world.dead_processes(); !dead.empty()) {
        world.tally().fail("a process died: " + dead);
        break;
      }
      samples.push_back(world.sample(t));
      soak::print_row(samples.back());
      if (next >= start + o.duration) break;
    }
    world.stop_traffic();
  }
  // The summary's baseline: the first sample at or after the warm-up (the last one when the run was shorter).
  while (first_after_warmup + 1 < samples.size() &&
         samples[first_after_warmup].t_s * 1000 < static_cast<double>(warmup.count()))
    ++first_after_warmup;
  soak::print_summary(samples, first_after_warmup);
  print_retention(samples, o);
  soak::print_counts(world.tally().counts());
  std::printf("\nthe event store's largest files at the end:\n");
  for (const auto& [name, bytes] : world.largest_store_files())
    std::printf("  %-40s %10llu\n", name.c_str(), static_cast<unsigned long long>(bytes));
  std::printf("churned pods refused their own identity up to %.1f s after getting their address\n",
              world.tally().max_churned_refusal_age_s());
  const auto failures = world.tally().failures();
  if (failures == 0) {
    std::printf("\nresult: the scenario held (no process died, no anchor refused, no token leaked)\n");
    return 0;
  }
  std::printf("\nresult: FAILED, %llu failures; the first:\n", static_cast<unsigned long long>(failures));
  for (const auto& f : world.tally().first_failures()) std::printf("  - %s\n", f.c_str());
  std::printf("\nlogs:\n%s\n", world.logs().c_str());
  return 1;
}

// A duration flag ("40s", "10m", "500ms"): CLI11 reads the text, parse_duration the value.
void duration_option(CLI::App& app, const std::string& name, std::chrono::milliseconds& out,
                     const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [&out, name](const std::string& text) {
           const auto d = cli::parse_duration(text);
           if (!d) throw CLI::ValidationError(name, d.error().describe());
           out = *d;
         },
         help)
      ->default_str("");
}

}  // namespace

int main(int argc, char** argv) {
  soak::Options o;
  CLI::App app{"podid soak: pod churn with token traffic; memory, descriptors and log sizes over time"};
  duration_option(app, "--duration", o.duration, "how long the traffic runs (default 10m)");
  duration_option(app, "--sample-every", o.sample_every, "sampling interval (default 30s)");
  duration_option(app, "--warmup", o.warmup,
                  "samples before this are not the summary's baseline (default min(60s, duration/4))");
  duration_option(app, "--token-pause", o.token_pause,
                  "pause between one token thread's requests (default 20ms)");
  duration_option(app, "--ready-timeout", o.ready_timeout, "until every anchor pod got a token (default 3m)");
  app.add_option("--pods", o.pods, "bound pods (the first --identities of them are never churned)")
      ->capture_default_str();
  app.add_option("--identities", o.identities, "AzureIdentities, each with a binding")->capture_default_str();
  app.add_option("--unbound", o.unbound, "pods without a binding")->capture_default_str();
  app.add_option("--churn-per-minute", o.churn_per_minute, "pod delete + recreate operations per minute")
      ->capture_default_str();
  app.add_option("--token-threads", o.token_threads, "threads asking for tokens")->capture_default_str();
  app.add_option("--wrong-every", o.wrong_every, "every Nth request asks for an identity the pod may not use")
      ->capture_default_str();
  app.add_option("--checkpoint-every", o.checkpoint_every, "controller --checkpoint-every")
      ->capture_default_str();
  app.add_option("--retention-max-events", o.retention_max_events, "controller --retention-max-events")
      ->capture_default_str();
  app.add_option("--retention-max-bytes", o.retention_max_bytes, "controller --retention-max-bytes")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.duration <= 0ms || o.sample_every <= 0ms || o.churn_per_minute < 0 || o.token_threads < 0 ||
      o.identities < 1 || o.pods < o.identities || o.unbound < 0 || o.pods + o.unbound > 70) {
    std::fprintf(
        stderr,
        "--duration and --sample-every must be positive, the rates not negative, 1 <= --identities <= "
        "--pods and --pods + --unbound <= 70\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::printf("result: FAILED: %s\n", e.what());
    return 1;
  }
}
