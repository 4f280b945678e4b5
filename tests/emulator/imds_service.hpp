#pragma once
// One IMDS, serving one VM or one scale-set instance: managed-identity tokens for the identities attached to
// that machine in the ARM state at that moment, and the instance's compute metadata. Plain HTTP.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tests/emulator/cloud.hpp"
#include "tests/emulator/http_message.hpp"

namespace podid::emulator {

class ImdsService {
 public:
  // `instance` is the scale-set instance index; empty for a VM.
  ImdsService(Cloud& cloud, std::string machine_id, std::optional<int> instance);
  [[nodiscard]] HttpResponse handle(const HttpRequest& request);
  [[nodiscard]] const std::string& counter_prefix() const noexcept { return prefix_; }

 private:
  [[nodiscard]] HttpResponse admitted(const HttpRequest& request);
  [[nodiscard]] HttpResponse token(const HttpRequest& request, const Machine& machine);
  [[nodiscard]] HttpResponse instance_metadata(const Machine& machine) const;

  Cloud& cloud_;
  std::string machine_id_;
  std::optional<int> instance_;
  std::string prefix_;  // "imds.<machine resource id>[/<instance>]"
  std::mutex mutex_;
  TokenBucket rate_;
  std::shared_ptr<std::atomic<int>> in_flight_;  // shared with the leases of unanswered requests
};

}  // namespace podid::emulator
