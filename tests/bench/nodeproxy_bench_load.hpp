#pragma once
// The node-proxy benchmark's load: wrk (Debian's /usr/bin/wrk, found on PATH) with a Lua script that sends
// `Metadata: true` and prints its summary in one machine-readable line; sequential single requests from a
// pod's address (the cold path); many pods asking at once, each from its own loopback address (the burst);
// and a process's resident memory. Figures only: nothing here judges a time.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace podid::bench {

// wrk's path on PATH, or "" when it is not installed.
[[nodiscard]] std::string find_wrk();

struct WrkFigures {
  bool ran{false};
  std::string error;  // why there are no figures (wrk missing, failed, or printed no summary)
  std::uint64_t requests{0}, non_2xx{0}, socket_errors{0};
  double seconds{0}, requests_per_s{0};
  double p50_us{0}, p90_us{0}, p99_us{0}, p999_us{0}, max_us{0};
};

struct WrkRun {
  std::string wrk;  // find_wrk()
  std::string scratch_dir;
  std::uint16_t port{0};
  std::string target;  // path and query
  int threads{2}, connections{64};
  std::chrono::seconds duration{10};
};

// Runs wrk against http://127.0.0.1:<port><target> (source address 127.0.0.1) and parses its summary.
[[nodiscard]] WrkFigures run_wrk(const WrkRun& run);

struct Latencies {
  std::size_t count{0};
  double p50_ms{0}, p99_ms{0}, max_ms{0};
};
[[nodiscard]] Latencies summarise(std::vector<double> ms);

// One GET per target from `source_ip`, one after the other, starting at least `spacing` apart; every answer
// must be 200 (`failures` counts those that were not).
[[nodiscard]] Latencies sequential_gets(std::uint16_t port, const std::vector<std::string>& targets,
                                        const std::string& source_ip, std::chrono::milliseconds spacing,
                                        std::size_t& failures);

struct BurstFigures {
  std::map<long, std::size_t> statuses;  // HTTP status (0: no answer) -> pods
  double all_answered_ms{0};
  Latencies latency;
};
// Every source IP sends one token request at the same moment (one thread each, released together).
[[nodiscard]] BurstFigures burst(std::uint16_t port, const std::string& target,
                                 const std::vector<std::string>& source_ips);

struct Memory {
  double rss_mib{-1}, hwm_mib{-1};
};
[[nodiscard]] Memory process_memory(pid_t pid);

}  // namespace podid::bench
