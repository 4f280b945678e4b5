#include "tests/bench/bench_support.hpp"

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <stdexcept>
#include <string_view>
#include <system_error>

namespace podid::bench {

int run_main(int argc, char** argv,
             const std::function<std::shared_ptr<void>(const Options&)>& register_benchmarks) {
  const auto options = parse_options(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto data = register_benchmarks(options);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

Options parse_options(int& argc, char** argv) {
  Options o;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--podid_smoke") {
      o.smoke = true;
    } else if (arg.starts_with("--podid_dir=")) {
      o.dir = std::string(arg.substr(std::string_view("--podid_dir=").size()));
    } else if (arg.starts_with("--podid_events=")) {
      o.events = std::stoul(std::string(arg.substr(std::string_view("--podid_events=").size())));
    } else if (arg.starts_with("--podid_pods=")) {
      o.pods = std::stoul(std::string(arg.substr(std::string_view("--podid_pods=").size())));
    } else if (arg == "--podid_ours_only") {
      o.ours_only = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return o;
}

ClusterShape cluster_shape(const Options& o) {
  if (o.smoke)
    return ClusterShape{.pods = 500, .identities = 50, .nodes = 25, .namespaces = 5, .scale_sets = 2};
  return ClusterShape{};
}

std::size_t heap_in_use() {
  const auto m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

ScratchDir::ScratchDir(const Options& o) {
  const auto base = o.dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(o.dir);
  std::string tmpl = (base / "podid-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;  // best effort: a leftover scratch directory is harmless
  std::filesystem::remove_all(path_, ec);
}

}  // namespace podid::bench
