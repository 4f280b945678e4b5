#pragma once
// Runs the podidctl binary under test with a command line, capturing its exit code and output.

#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace podid::test {

struct Run {
  int status;
  std::string out;  // standard output, then standard error unless `stderr_too` is false
};

inline Run run(const std::string& args, bool stderr_too = true) {
  const std::string cmd = std::string(PODIDCTL_PATH) + " " + args + (stderr_too ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (auto n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace podid::test
