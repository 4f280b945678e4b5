// podid-devcluster: starts the test control plane (etcd + kube-apiserver + our CRDs) for local demos,
// prints how to reach it and runs until SIGINT or SIGTERM.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "support/control_plane.hpp"

int main() {
  // Block the stop signals first so that only sigwait below sees them (threads inherit the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  podid::testing::ControlPlane* cp = podid::testing::ControlPlane::shared();
  if (cp == nullptr) {
    std::cerr << "podid-devcluster: " << podid::testing::ControlPlane::unavailable_reason() << "\n";
    return podid::testing::ControlPlane::binaries_missing() ? 77 : 1;
  }
  const auto& info = cp->info();
  std::cout << "server: " << info.server << "\n"
            << "kubeconfig: " << info.kubeconfig_path << "\n"
            << "token: " << info.token << "\n"
            << "etcd: " << info.etcd_url << "\n"
            << "dir: " << info.dir << "\n"
            << "try: kubectl --kubeconfig " << info.kubeconfig_path << " get azureidentities -A\n"
            << "Ctrl-C stops it." << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "podid-devcluster: stopping on signal " << sig << std::endl;
  return 0;  // the control plane stops in its atexit handler
}
