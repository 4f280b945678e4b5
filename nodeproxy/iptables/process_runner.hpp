#pragma once
// ProcessRunner: CommandRunner over posix_spawnp with pipes (safe in multi-threaded processes: no code runs
// in the child between fork and exec).

#include "nodeproxy/iptables/command_runner.hpp"

namespace podid::iptables {

class ProcessRunner final : public CommandRunner {
 public:
  [[nodiscard]] core::Result<CommandOutput> run(const std::vector<std::string>& argv,
                                                std::string_view input) override;
};

}  // namespace podid::iptables
