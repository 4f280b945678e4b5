#include "support/proc_status.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace podid::testing {
namespace {

std::string proc_dir(pid_t pid) {
  return pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid);
}

}  // namespace

ProcStatus read_proc_status(pid_t pid) {
  ProcStatus s;
  std::ifstream in(proc_dir(pid) + "/status");
  if (!in) return s;
  s.alive = true;
  // Lines are "Key:\t<value>[ kB]"; only the value is read, so the unit need not be parsed.
  std::string key;
  while (in >> key) {
    std::uint64_t* field = nullptr;
    if (key == "VmRSS:") field = &s.rss_kib;
    if (key == "VmHWM:") field = &s.hwm_kib;
    if (key == "RssAnon:") field = &s.rss_anon_kib;
    if (key == "RssFile:") field = &s.rss_file_kib;
    if (field != nullptr) {
      in >> *field;
    } else if (key == "Threads:") {
      in >> s.threads;
    }
    in.ignore(1 << 12, '\n');
  }
  return s;
}

int open_fds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc_dir(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

}  // namespace podid::testing
