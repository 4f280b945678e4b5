#include "tests/bench/nodeproxy_bench_load.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "integration/mains/cluster_world.hpp"
#include "support/proc_status.hpp"

namespace podid::bench {
namespace {

// wrk's done() hook: latencies in microseconds; errors.status counts answers that were not 2xx or 3xx.
constexpr const char* kLua = R"(wrk.method = "GET"
wrk.headers["Metadata"] = "true"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "PODID_WRK requests=%d duration_us=%d non2xx=%d socket_errors=%d p50=%d p90=%d p99=%d p999=%d max=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
)";

double field(const std::string& line, const std::string& name) {
  const auto at = line.find(" " + name + "=");
  return at == std::string::npos ? -1 : std::atof(line.c_str() + at + name.size() + 2);
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string find_wrk() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((d + "/wrk").c_str(), X_OK) == 0) return d + "/wrk";
  return {};
}

WrkFigures run_wrk(const WrkRun& run) {
  WrkFigures f;
  if (run.wrk.empty()) {
    f.error = "wrk not found on PATH (Debian: apt-get install wrk)";
    return f;
  }
  const auto lua = run.scratch_dir + "/podid-bench.lua";
  std::ofstream(lua) << kLua;
  const auto command = run.wrk + " -t" + std::to_string(run.threads) + " -c" +
                       std::to_string(run.connections) + " -d" + std::to_string(run.duration.count()) +
                       "s --latency -s " + lua + " 'http://127.0.0.1:" + std::to_string(run.port) +
                       run.target + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    f.error = "could not start " + command;
    return f;
  }
  std::string out;
  char buf[4096];
  for (std::size_t n = 0; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int rc = ::pclose(pipe);
  const auto at = out.find("PODID_WRK ");
  if (rc != 0 || at == std::string::npos) {
    f.error = "wrk failed (exit " + std::to_string(rc) + "): " + out;
    return f;
  }
  const auto line = out.substr(at, out.find('\n', at) - at);
  f.ran = true;
  f.requests = static_cast<std::uint64_t>(field(line, "requests"));
  f.seconds = field(line, "duration_us") / 1e6;
  f.requests_per_s = f.seconds > 0 ? static_cast<double>(f.requests) / f.seconds : 0;
  f.non_2xx = static_cast<std::uint64_t>(field(line, "non2xx"));
  f.socket_errors = static_cast<std::uint64_t>(field(line, "socket_errors"));
  f.p50_us = field(line, "p50");
  f.p90_us = field(line, "p90");
  f.p99_us = field(line, "p99");
  f.p999_us = field(line, "p999");
  f.max_us = field(line, "max");
  return f;
}

Latencies summarise(std::vector<double> ms) {
  Latencies l;
  l.count = ms.size();
  if (ms.empty()) return l;
  std::sort(ms.begin(), ms.end());
  const auto rank = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  l.p50_ms = rank(0.50);
  l.p99_ms = rank(0.99);
  l.max_ms = ms.back();
  return l;
}

Latencies sequential_gets(std::uint16_t port, const std::vector<std::string>& targets,
                          const std::string& source_ip, std::chrono::milliseconds spacing,
                          std::size_t& failures) {
  std::vector<double> ms;
  auto next = std::chrono::steady_clock::now();
  for (const auto& target : targets) {
    std::this_thread::sleep_until(next);
    next += spacing;
    const auto start = std::chrono::steady_clock::now();
    const auto reply = testing::loopback_get(port, target, source_ip);
    ms.push_back(ms_since(start));
    if (reply.status != 200) ++failures;
  }
  return summarise(std::move(ms));
}

BurstFigures burst(std::uint16_t port, const std::string& target,
                   const std::vector<std::string>& source_ips) {
  std::vector<long> status(source_ips.size(), 0);
  std::vector<double> ms(source_ips.size(), 0);
  std::latch go(static_cast<std::ptrdiff_t>(source_ips.size()) + 1);
  std::chrono::steady_clock::time_point start;
  std::vector<std::thread> pods;
  pods.reserve(source_ips.size());
  for (std::size_t i = 0; i < source_ips.size(); ++i)
    pods.emplace_back([&, i] {
      go.arrive_and_wait();
      const auto reply = testing::loopback_get(port, target, source_ips[i]);
      ms[i] = ms_since(start);
      status[i] = reply.status;
    });
  start = std::chrono::steady_clock::now();
  go.arrive_and_wait();
  for (auto& p : pods) p.join();
  BurstFigures f;
  f.all_answered_ms = ms_since(start);
  for (const long s : status) ++f.statuses[s];
  f.latency = summarise(std::move(ms));
  return f;
}

Memory process_memory(pid_t pid) {
  const auto s = testing::read_proc_status(pid);
  if (!s.alive) return {};
  return {testing::kib_to_mib(s.rss_kib), testing::kib_to_mib(s.hwm_kib)};
}

}  // namespace podid::bench
