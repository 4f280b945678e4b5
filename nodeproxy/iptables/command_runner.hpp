#pragma once
// CommandRunner: runs a program and collects its output. The seam through which the nft backend and backend
// detection reach the `nft` and `iptables-*-save` programs, so both can be tested with a fake.
// Thread-safety: implementations are safe to call from several threads. The child inherits the calling
// thread's network namespace.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::iptables {

struct CommandOutput {
  int exit_code{0};
  std::string out;
  std::string err;
};

class CommandRunner {
 public:
  CommandRunner() = default;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  virtual ~CommandRunner() = default;

  // argv[0] is looked up in PATH. A program that cannot be started is not_found; a non-zero exit is not an
  // error here (callers classify it).
  [[nodiscard]] virtual core::Result<CommandOutput> run(const std::vector<std::string>& argv,
                                                        std::string_view input) = 0;
};

}  // namespace podid::iptables
