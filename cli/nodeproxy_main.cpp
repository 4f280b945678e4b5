// podid-nodeproxy: the node proxy (the original's NMI) as a process. Parses flags (CLI11) into a
// NodeProxyConfig, composes Replica -> MemorySnapshotSource -> NodeProxy with the interception rules and
// the readiness taint (NodeProxyProcess), and runs until SIGINT or SIGTERM, when it removes its rules and
// exits 0 (1 when the rules could not be removed or it could not start, 2 for bad flags). Logs are JSON
// lines on stderr.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "cli/main_guard.hpp"
#include "cli/nodeproxy_config.hpp"
#include "cli/nodeproxy_process.hpp"

namespace asio = boost::asio;
namespace core = podid::core;
using namespace podid;

namespace {

class StderrSink final : public core::Sink {
 public:
  void write(core::LogLevel, std::string_view line) override { std::cerr << line << '\n'; }
};

int run(int argc, char** argv) {
  CLI::App app{"podid-nodeproxy: answers pods' IMDS token requests on this node (the NMI role)"};
  cli::NodeProxyConfig config;
  cli::add_nodeproxy_flags(app, config);
  CLI11_PARSE(app, argc, argv);
  if (auto valid = cli::validate(config); !valid) {
    std::cerr << "podid-nodeproxy: " << valid.error().message << '\n';
    return 2;
  }

  core::SystemClock clock;
  StderrSink sink;
  core::Logger logger(sink, clock, "nodeproxy", config.level);
  asio::io_context io(1);
  auto process = cli::NodeProxyProcess::create(io, config, clock, logger);
  if (!process) {
    logger.error("Node proxy failed to start.", {{"error", process.error().describe().c_str()}});
    return 1;
  }
  std::optional<core::Status> stopped;
  const auto stop = [&] {
    asio::co_spawn(io, (*process)->shutdown(), [&](const std::exception_ptr& e, core::Status s) {
      if (e) std::rethrow_exception(e);
      stopped = std::move(s);
    });
  };
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int exit_code = 0;
  if (auto begun = (*process)->begin(); !begun) {
    logger.error("Node proxy failed to start.", {{"error", begun.error().describe().c_str()}});
    exit_code = 1;
    signals.cancel();
    stop();
  } else {
    signals.async_wait([&](boost::system::error_code ec, int signal) {
      if (ec) return;
      logger.info("Node proxy stopping.", {{"signal", signal}});
      stop();
    });
  }
  io.run();
  if (stopped && !*stopped) exit_code = 1;
  if (exit_code == 0) logger.info("Node proxy stopped.");
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  return podid::cli::guarded_main("podid-nodeproxy", [&] { return run(argc, argv); });
}
