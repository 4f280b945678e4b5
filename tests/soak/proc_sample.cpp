#include "soak/proc_sample.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "support/proc_status.hpp"

namespace podid::soak {
namespace fs = std::filesystem;

ProcFigures sample_process(pid_t pid) {
  const auto status = testing::read_proc_status(pid);
  ProcFigures out;
  out.alive = status.alive;
  out.rss_kib = static_cast<double>(status.rss_kib);
  out.hwm_kib = static_cast<double>(status.hwm_kib);
  out.threads = status.threads;
  if (out.alive) out.fds = testing::open_fds(pid);
  return out;
}

std::uint64_t tree_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  // Files come and go under a running RocksDB (compactions): skip what vanished between listing and stat.
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto n = it->file_size(size_ec);
      if (!size_ec) total += n;
    }
  }
  return total;
}

std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::vector<std::pair<std::string, std::uint64_t>> largest_files(const std::string& dir, std::size_t n) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    const auto bytes = it->file_size(size_ec);
    if (!size_ec) out.emplace_back(fs::relative(it->path(), dir, size_ec).string(), bytes);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > n) out.resize(n);
  return out;
}

RetiredEvents retired_events(const std::string& export_dir) {
  RetiredEvents out;
  std::error_code ec;
  for (fs::directory_iterator it(export_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    unsigned long long first = 0, through = 0;
    if (!name.ends_with(".jsonl") ||
        std::sscanf(name.c_str(), "events-%llu-%llu.jsonl", &first, &through) != 2 || through < first)
      continue;
    out.count += through - first + 1;
    out.through = std::max<std::uint64_t>(out.through, through);
    ++out.files;
  }
  return out;
}

}  // namespace podid::soak
