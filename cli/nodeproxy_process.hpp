#pragma once
// NodeProxyProcess: what podid-nodeproxy runs, composed from a validated NodeProxyConfig on one
// single-threaded io_context. Start order (issue 6): the replica file (--replica-file) is loaded if it is
// valid, so a restart while the controller is away serves the pods it knew; the IMDS server listens, the
// interception rules are in
// place (fail closed: pod metadata traffic that no binding redirects is rejected) and the conntrack entries
// of connections opened to the IMDS before them are deleted (--conntrack-flush; a failure is logged and
// retried, see interception_loop.hpp), the Replica follows the controller; once the replica has synced and
// the rules are installed (or a replica file was loaded and its rules are installed), /healthz answers 200
// and the ready taint is removed from this Node. Each snapshot, change or heartbeat from the controller is
// written to the replica file (debounced, off this thread; a final write at shutdown). /metrics is
// served on --prometheus-port (0: not at all; a port in use costs the metrics, not the node proxy), apart
// from the IMDS port: whoever scrapes must not be able to ask for tokens through the same door. Shutdown
// (shutdown(), on SIGTERM/SIGINT) in reverse: rules removed first, then the server, the replica and the
// probe stop.
//
//   auto p = NodeProxyProcess::create(io, config, clock, logger);  // builds, binds the probe; starts nothing
//   (*p)->begin();                 // starts in the order above; on error, shutdown() undoes what started
//   ... io.run() ...   co_spawn(io, (*p)->shutdown(), ...)  // -> Status of the rule removal
//
// Thread-safety: everything on the io_context's one thread. Lifetime: the io_context and the logger's sink
// outlive it; destroy it after io.run() returned.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "cli/nodeproxy_config.hpp"
#include "core/clock.hpp"
#include "core/http/http_server.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/iptables/conntrack_table.hpp"
#include "nodeproxy/iptables/process_runner.hpp"
#include "nodeproxy/kube_secret_reader.hpp"
#include "nodeproxy/node_proxy.hpp"
#include "nodeproxy/replica.hpp"
#include "nodeproxy/replica_file_writer.hpp"
#include "watch/kube_client.hpp"

namespace podid::cli {

class NodeProxyProcess {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<NodeProxyProcess>> create(boost::asio::io_context& io,
                                                                              const NodeProxyConfig& config,
                                                                              const core::Clock& clock,
                                                                              core::Logger logger);
  [[nodiscard]] core::Status begin();
  ~NodeProxyProcess();
  NodeProxyProcess(const NodeProxyProcess&) = delete;
  NodeProxyProcess& operator=(const NodeProxyProcess&) = delete;

  // Removes the rules and stops every part; the status says whether the rules came off.
  [[nodiscard]] boost::asio::awaitable<core::Status> shutdown();
  // The replica has synced, or was loaded from its file, and the rules are in place for the snapshot served
  // (always, with --interception=none).
  [[nodiscard]] bool ready() const;

 private:
  NodeProxyProcess(boost::asio::io_context& io, const NodeProxyConfig& config, const core::Clock& clock,
                   core::Logger logger);
  void load_replica_file();
  void replica_confirmed();
  void update_replica_file_metrics() const;
  [[nodiscard]] core::Status start_rules();
  [[nodiscard]] boost::asio::awaitable<void> become_ready();
  [[nodiscard]] boost::asio::awaitable<bool> pause(std::chrono::milliseconds delay);
  [[nodiscard]] boost::asio::awaitable<http::Response> probe(http::Request request) const;
  [[nodiscard]] boost::asio::awaitable<http::Response> scrape(http::Request request) const;
  void start_metrics();

  boost::asio::io_context& io_;
  NodeProxyConfig config_;
  const core::Clock& clock_;
  core::Logger logger_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<watch::KubeClient> kube_;
  nodeproxy::MemorySnapshotSource snapshots_;
  std::unique_ptr<nodeproxy::KubeSecretReader> secrets_;
  std::unique_ptr<nodeproxy::NodeProxy> proxy_;
  std::unique_ptr<nodeproxy::Replica> replica_;
  std::unique_ptr<nodeproxy::ReplicaFileWriter> replica_file_;  // null with --replica-file=""
  bool loaded_from_file_{false};
  std::int64_t confirmed_at_ms_{0};  // when the controller last vouched for the snapshot served; 0: never
  struct FileMetrics {
    core::CounterFamily& loads;
    core::Gauge& from_file;
    core::Gauge& confirmed_age;
    core::Counter& writes;
    core::Counter& write_failures;
    std::uint64_t writes_seen{0}, failures_seen{0};  // what the counters were fed so far
  };
  std::unique_ptr<FileMetrics> file_metrics_;
  iptables::ProcessRunner runner_;
  std::unique_ptr<iptables::InterceptionRules> rules_;
  std::unique_ptr<iptables::ConntrackTable> conntrack_;  // null with --conntrack-flush=false
  std::unique_ptr<nodeproxy::InterceptionLoop> loop_;
  std::unique_ptr<http::HttpServer> probe_;
  std::unique_ptr<http::HttpServer> metrics_server_;
  boost::asio::steady_timer wait_;
  bool stopping_{false};
};

}  // namespace podid::cli
