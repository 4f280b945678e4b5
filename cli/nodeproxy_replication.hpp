#pragma once
// The controller's side of node-proxy replication, for podid-controller: its flags and the
// ReplicationServer serving each node proxy its node's snapshot, computed from the Controller's State.
// Only a leader whose State has caught up serves (a standby's log lacks the leader's Azure results, and a
// fresh leader's State is empty until its first catch-up); otherwise the server answers 503 and node
// proxies keep their last snapshot and retry.
//
//   NodeProxyReplication replication(flags);      // validate(flags) first
//   replication.attach(controller_options);        // before the Controller is built
//   replication.start(io.get_executor(), kube, controller, logger);  ...  co_await replication.stop();
//
// Thread-safety: everything on the Controller's single-threaded executor. Lifetime: the Controller and
// the KubeClient outlive it.

#include <CLI/CLI.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "cli/controller.hpp"
#include "core/logger.hpp"
#include "nodeproxy/replication_server.hpp"

namespace podid::cli {

struct ReplicationFlags {
  int port{8443};  // 0: no replication server
  std::string address{"0.0.0.0"};
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string allowed_users;  // comma-separated; empty: any pod-bound service-account token
  // The audience of the node proxies' projected tokens, named in each TokenReview: a real API server refuses
  // a token whose audience the review does not name. Empty: the API server's own audience.
  std::string token_audience{"podid-controller"};
};

void add_replication_flags(CLI::App& app, ReplicationFlags& flags);
// Errors (invalid) name the flag: a bad port, or a port without --tls-cert-file/--tls-key-file.
[[nodiscard]] core::Status validate(const ReplicationFlags& flags);

class NodeProxyReplication {
 public:
  explicit NodeProxyReplication(ReplicationFlags flags) : flags_(std::move(flags)) {}
  NodeProxyReplication(const NodeProxyReplication&) = delete;
  NodeProxyReplication& operator=(const NodeProxyReplication&) = delete;

  void attach(ControllerOptions& options);
  // Listens (when the port is not 0); errors: the TLS files or the address are unusable.
  [[nodiscard]] core::Status start(const boost::asio::any_io_executor& executor, watch::KubeClient& kube,
                                   const Controller& controller, const core::Logger& logger);
  [[nodiscard]] boost::asio::awaitable<void> stop();

 private:
  ReplicationFlags flags_;
  std::unique_ptr<nodeproxy::ReplicationServer> server_;
  bool caught_up_{false};
  core::Seq notified_seq_{0};
};

}  // namespace podid::cli
