#include "soak/proc_sample.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace podid::soak {
namespace fs = std::filesystem;

ProcFigures sample_process(pid_t pid) {
  ProcFigures out;
  const auto base = "/proc/" + std::to_string(pid);
  std::ifstream status(base + "/status");
  if (!status) return out;
  out.alive = true;
  for (std::string line; std::getline(status, line);) {
    // "VmRSS:\t   12345 kB"
    const auto value = [&] { return std::stod(line.substr(line.find(':') + 1)); };
    if (line.starts_with("VmRSS:")) out.rss_kib = value();
    if (line.starts_with("VmHWM:")) out.hwm_kib = value();
    if (line.starts_with("Threads:")) out.threads = static_cast<int>(value());
  }
  std::error_code ec;
  for (fs::directory_iterator it(base + "/fd", ec), end; !ec && it != end; it.increment(ec)) ++out.fds;
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
