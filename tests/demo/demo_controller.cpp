#include "tests/demo/demo_controller.hpp"

#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>

#include "arm/cloud_config.hpp"
#include "arm/token_source_factory.hpp"
#include "watch/kubeconfig.hpp"

namespace podid::demo {

core::Result<std::unique_ptr<DemoController>> DemoController::start(testing::ControlPlane& cp,
                                                                    const DemoCloud& cloud,
                                                                    core::Clock& clock, core::Sink& sink) {
  std::unique_ptr<DemoController> c(new DemoController());
  c->store_dir_ = "/tmp/podid-demo-store-" + std::to_string(getpid());
  std::filesystem::remove_all(c->store_dir_);

  const auto cluster = PODID_TRY(watch::load_kubeconfig(cp.info().kubeconfig_path));
  c->kube_ = PODID_TRY(watch::HttpKubeClient::create(c->io_.get_executor(), cluster));

  // azure.json of a custom cloud whose endpoints are the emulator's.
  arm::CloudConfig config;
  config.cloud = {"custom", cloud.emulator->authority_host(), cloud.emulator->arm_endpoint(),
                  "https://management.azure.com/", "http://169.254.169.254"};
  config.tenant_id = cloud.tenant;
  config.subscription_id = cloud.subscription;
  config.resource_group = cloud.resource_group;
  config.vm_type = "vmss";
  config.credential = arm::CredentialKind::client_secret;
  config.client_id = cloud.controller_client_id;
  config.client_secret = core::Secret<std::string>(cloud.controller_secret);
  http::ClientOptions http_options;
  http_options.tls.ca.file = cloud.emulator->ca_file();
  c->arm_http_ = PODID_TRY(http::HttpClient::create(c->io_.get_executor(), http_options));
  c->tokens_ = PODID_TRY(arm::make_token_source(*c->arm_http_, clock, config, ""));
  arm::ArmClientOptions arm_options;
  arm_options.endpoint = config.cloud.resource_manager;
  c->arm_ = std::make_unique<arm::HttpArmClient>(*c->arm_http_, *c->tokens_, clock, arm_options);
  c->store_ =
      PODID_TRY(store::RocksEventStore::open(c->store_dir_, store::RocksOptions{.sync_writes = false}));

  cli::ControllerOptions options;
  watch::LeaderElectionOptions le;
  le.identity = "podid-demo_" + std::to_string(getpid());
  options.leader_election = le;
  options.events.instance = le.identity;
  c->controller_ = std::make_unique<cli::Controller>(*c->kube_, *c->store_, *c->arm_, clock,
                                                     core::Logger(sink, clock, "controller"), options);
  boost::asio::co_spawn(
      c->io_, c->controller_->run(),
      boost::asio::bind_cancellation_slot(c->stop_.slot(), [](std::exception_ptr, core::Status) {}));
  DemoController* self = c.get();
  c->thread_ = std::thread([self] { self->io_.run(); });
  return c;
}

DemoController::~DemoController() {
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] { stop_.emit(boost::asio::cancellation_type::terminal); });
    thread_.join();
  }
  controller_.reset();
  store_.reset();
  std::filesystem::remove_all(store_dir_);
}

}  // namespace podid::demo
