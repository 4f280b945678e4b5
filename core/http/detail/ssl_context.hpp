#pragma once
// Internal: builds OpenSSL contexts from our TLS value types. Includes Asio SSL: only http/*.cpp use it.

#include <boost/asio/ssl/context.hpp>

#include "core/http/tls_config.hpp"
#include "core/result.hpp"

namespace podid::http::detail {

[[nodiscard]] core::Result<std::string> read_pem(const PemSource& source, std::string_view what);

[[nodiscard]] core::Result<boost::asio::ssl::context> make_client_context(const TlsClientConfig& config);
[[nodiscard]] core::Result<boost::asio::ssl::context> make_server_context(const TlsServerConfig& config);

}  // namespace podid::http::detail
