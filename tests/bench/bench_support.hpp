#pragma once
// Shared plumbing of the benchmark binaries: our own command-line flags (parsed before Google Benchmark's),
// a scratch directory, the heap in use, and a stopwatch.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "tests/bench/workload.hpp"

namespace podid::bench {

struct Options {
  bool smoke{false};      // --podid_smoke: tiny sizes, so CTest can run every benchmark in seconds
  std::string dir;        // --podid_dir=<path>: where scratch stores go (default: the system temp dir)
  std::size_t events{0};  // --podid_events=<n>: the replay log's length (default 1,000,000; smoke 20,000)
  std::size_t pods{0};    // --podid_pods=<n>: the end-to-end controller bench's pod count (default 2,000)
  bool ours_only{false};  // --podid_ours_only: the end-to-end controller bench without the baseline run
};

// Removes our flags from argv (so benchmark::Initialize sees only its own) and returns them.
[[nodiscard]] Options parse_options(int& argc, char** argv);

// The main() of every benchmark executable: our flags, then Google Benchmark's (an unknown one is an error,
// exit 1), then `register_benchmarks(options)`, whose result (the data the benchmarks read, or nullptr) is
// kept alive while they run.
int run_main(int argc, char** argv,
             const std::function<std::shared_ptr<void>(const Options&)>& register_benchmarks);

// 10,000 pods / 1,000 identities / 500 nodes, or a small cluster with --podid_smoke.
[[nodiscard]] ClusterShape cluster_shape(const Options& o);

// Bytes the allocator has handed out and not yet got back (glibc mallinfo2: arenas + mmapped chunks).
[[nodiscard]] std::size_t heap_in_use();

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A fresh directory, removed with its contents on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const Options& o);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  [[nodiscard]] std::string store_path() const { return (path_ / "log").string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace podid::bench
