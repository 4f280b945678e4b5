#pragma once
// What /proc/<pid>/status and /proc/<pid>/fd say of a process: the memory, thread and descriptor figures
// that the benchmarks and the soak print for the processes they run (or for themselves).

#include <sys/types.h>

#include <cstdint>

namespace podid::testing {

struct ProcStatus {
  bool alive{false};  // /proc/<pid>/status was readable
  std::uint64_t rss_kib{0}, hwm_kib{0}, rss_anon_kib{0}, rss_file_kib{0};
  int threads{0};
};

// `pid` 0: this process. A process that is gone (or never was) reads as !alive with zeros.
[[nodiscard]] ProcStatus read_proc_status(pid_t pid = 0);

// Entries of /proc/<pid>/fd (0: this process); 0 when it cannot be listed.
[[nodiscard]] int open_fds(pid_t pid = 0);

[[nodiscard]] inline double kib_to_mib(std::uint64_t kib) {
  return static_cast<double>(kib) / 1024.0;
}

}  // namespace podid::testing
