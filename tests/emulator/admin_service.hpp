#pragma once
// The admin endpoint (plain HTTP, for the binary's users: the demo and the SDK conformance suite): the
// Emulator's state API as JSON. POST /admin/faults, DELETE /admin/faults, POST /admin/budgets,
// POST /admin/latencies, POST /admin/identities, POST /admin/attach, POST /admin/detach,
// POST /admin/assigners, POST /admin/certificates, POST /admin/federated, POST /admin/imds,
// GET /admin/machine?id=, GET /admin/state.

#include <boost/json/object.hpp>
#include <string>

#include "tests/emulator/http_message.hpp"

namespace podid::emulator {

class Emulator;

class AdminService {
 public:
  explicit AdminService(Emulator& emulator) : emulator_(emulator) {}
  [[nodiscard]] HttpResponse handle(const HttpRequest& request);

 private:
  [[nodiscard]] HttpResponse post(const std::string& what, const boost::json::object& body);
  [[nodiscard]] HttpResponse budgets(const boost::json::object& body);
  [[nodiscard]] HttpResponse imds(const boost::json::object& body);
  Emulator& emulator_;
};

}  // namespace podid::emulator
