#pragma once
// ArmClient: the seam to Azure Resource Manager for what the controller needs of a VM or a whole scale set:
// its identity block (GET) and the identity PATCH, followed to the end of its long-running operation.
// Errors are classified (arm_error.hpp): not_found, conflict, throttled (retry_after), permission, invalid
// (identities named in the message), transient, cancelled.
//
// Thread-safety: implementations are not thread-safe; call from one single-threaded executor (or strand).
// Several calls may be in flight at once on it. Lifetime: must outlive every call it started.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "arm/identity_patch.hpp"
#include "core/events.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace podid::arm {

class ArmClient {
 public:
  ArmClient() = default;
  ArmClient(const ArmClient&) = delete;
  ArmClient& operator=(const ArmClient&) = delete;
  virtual ~ArmClient() = default;

  // The identity block of a VM or scale set as ARM reports it now.
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<VmIdentities>> get(core::ArmTarget target) = 0;
  // Sends one identity PATCH and waits until its operation has completed (or failed).
  [[nodiscard]] virtual boost::asio::awaitable<core::Status> patch(core::ArmTarget target,
                                                                   IdentityPatch patch) = 0;
};

}  // namespace podid::arm
