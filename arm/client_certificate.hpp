#pragma once
// The controller's name for http::ClientCertificate (aadClientCertPath in azure.json). The class moved to
// podid::http (core/http/client_certificate.hpp) so that the node proxy signs type-2 assertions with the
// same code without linking the ARM client.

#include "core/http/client_certificate.hpp"

namespace podid::arm {

using http::base64url;
using http::ClientCertificate;

}  // namespace podid::arm
