#pragma once
// What the soak reads from outside a process and off the disk: /proc/<pid>/status (VmRSS, VmHWM, Threads),
// the open descriptors in /proc/<pid>/fd, sizes of files and directory trees, and the event log's retention
// exports (<export dir>/events-<first>-<through>.jsonl, store/README.md).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace podid::soak {

struct ProcFigures {
  bool alive{false};  // /proc/<pid>/status was readable
  double rss_kib{0}, hwm_kib{0};
  int threads{0};
  int fds{0};
};
[[nodiscard]] ProcFigures sample_process(pid_t pid);

// Bytes of the regular files under `dir` (recursively); 0 when it does not exist.
[[nodiscard]] std::uint64_t tree_bytes(const std::string& dir);
// Bytes of one file; 0 when it does not exist.
[[nodiscard]] std::uint64_t file_bytes(const std::string& path);

// The `n` largest regular files under `dir` (path relative to it, bytes), largest first.
[[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> largest_files(const std::string& dir,
                                                                               std::size_t n);

struct RetiredEvents {
  std::uint64_t count{0};    // events written out by retention (sum of through - first + 1)
  std::uint64_t through{0};  // the newest sequence number retired; the log keeps what follows
  int files{0};
};
[[nodiscard]] RetiredEvents retired_events(const std::string& export_dir);

}  // namespace podid::soak
