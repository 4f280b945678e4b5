#include "cli/nodeproxy_replication.hpp"

#include <sstream>

#include "nodeproxy/node_snapshot.hpp"

namespace podid::cli {

void add_replication_flags(CLI::App& app, ReplicationFlags& f) {
  app.add_option("--replication-port", f.port, "port of the node proxies' replication server (0: off)")
      ->capture_default_str();
  app.add_option("--replication-address", f.address, "address it listens on")->capture_default_str();
  app.add_option("--tls-cert-file", f.tls_cert_file, "its TLS certificate chain (PEM)");
  app.add_option("--tls-key-file", f.tls_key_file, "its TLS private key (PEM)");
  app.add_option("--replication-allowed-users", f.allowed_users,
                 "comma-separated service-account users allowed (empty: any pod-bound token)");
  app.add_option("--replication-token-audience", f.token_audience,
                 "audience of the node proxies' tokens, checked by TokenReview (empty: the API server's)")
      ->capture_default_str();
}

core::Status validate(const ReplicationFlags& f) {
  if (f.port < 0 || f.port > 65535)
    return core::make_error(core::ErrorCode::invalid,
                            "--replication-port: not a port: " + std::to_string(f.port));
  if (f.port != 0 && (f.tls_cert_file.empty() || f.tls_key_file.empty()))
    return core::make_error(
        core::ErrorCode::invalid,
        "--replication-port " + std::to_string(f.port) +
            " needs --tls-cert-file and --tls-key-file (or --replication-port=0 to disable)");
  return core::ok();
}

void NodeProxyReplication::attach(ControllerOptions& options) {
  options.on_state_caught_up = [this](const core::State& state) {
    caught_up_ = true;
    if (state.last_seq == notified_seq_ || !server_) return;
    notified_seq_ = state.last_seq;
    server_->notify_changed();
  };
}

core::Status NodeProxyReplication::start(const boost::asio::any_io_executor& executor,
                                         watch::KubeClient& kube, const Controller& controller,
                                         const core::Logger& logger) {
  if (flags_.port == 0) return core::ok();
  nodeproxy::ReplicationServerOptions o;
  o.address = flags_.address;
  o.port = static_cast<std::uint16_t>(flags_.port);
  o.tls = http::TlsServerConfig{{flags_.tls_cert_file, ""}, {flags_.tls_key_file, ""}, {}};
  std::stringstream users(flags_.allowed_users);
  for (std::string user; std::getline(users, user, ',');)
    if (!user.empty()) o.allowed_users.push_back(user);
  if (!flags_.token_audience.empty()) o.audiences.push_back(flags_.token_audience);
  o.serving = [this, &controller] { return caught_up_ && controller.leading(); };
  const Controller* c = &controller;
  auto server = nodeproxy::ReplicationServer::create(
      executor, o, kube,
      [c](const std::string& node) {
        return std::make_shared<const nodeproxy::NodeSnapshot>(nodeproxy::node_snapshot(c->state(), node));
      },
      logger.with_component("replication"));
  if (!server) return server.error();
  server_ = std::move(*server);
  server_->start();
  logger.info("Replication server started.", {{"port", server_->port()}});
  return core::ok();
}

boost::asio::awaitable<void> NodeProxyReplication::stop() {
  if (server_) co_await server_->stop();
}

}  // namespace podid::cli
