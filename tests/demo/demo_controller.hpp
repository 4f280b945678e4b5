#pragma once
// The demo's controller: the same composition as podid-controller (cli/controller_main.cpp), in-process on
// its own thread, so that the demo can follow its event log. Kubernetes through the kubeconfig of the test
// control plane; Azure through the emulator configured as a custom cloud, as azure.json would name it.

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "arm/http_arm_client.hpp"
#include "arm/token_source.hpp"
#include "cli/controller.hpp"
#include "core/http/http_client.hpp"
#include "store/rocks_event_store.hpp"
#include "support/control_plane.hpp"
#include "tests/demo/demo_script.hpp"
#include "watch/http_kube_client.hpp"

namespace podid::demo {

class DemoController {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<DemoController>> start(testing::ControlPlane& cp,
                                                                           const DemoCloud& cloud,
                                                                           core::Clock& clock,
                                                                           core::Sink& sink);
  ~DemoController();
  DemoController(const DemoController&) = delete;
  DemoController& operator=(const DemoController&) = delete;

  [[nodiscard]] store::EventStore& store() { return *store_; }
  [[nodiscard]] const std::string& store_dir() const { return store_dir_; }

 private:
  DemoController() = default;

  boost::asio::io_context io_{1};
  std::string store_dir_;
  std::unique_ptr<watch::HttpKubeClient> kube_;
  std::unique_ptr<http::HttpClient> arm_http_;
  std::unique_ptr<arm::TokenSource> tokens_;
  std::unique_ptr<arm::HttpArmClient> arm_;
  std::unique_ptr<store::RocksEventStore> store_;
  std::unique_ptr<cli::Controller> controller_;
  boost::asio::cancellation_signal stop_;
  std::thread thread_;
};

[[nodiscard]] inline core::Result<std::unique_ptr<DemoController>> start_controller(testing::ControlPlane& cp,
                                                                                    const DemoCloud& cloud,
                                                                                    core::Clock& clock,
                                                                                    core::Sink& sink) {
  return DemoController::start(cp, cloud, clock, sink);
}

}  // namespace podid::demo
