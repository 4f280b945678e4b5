#include "core/http/detail/ssl_context.hpp"

#include <fstream>
#include <sstream>

namespace podid::http::detail {
namespace ssl = boost::asio::ssl;

core::Result<std::string> read_pem(const PemSource& source, std::string_view what) {
  if (!source.data.empty()) return source.data;
  std::ifstream in(source.file, std::ios::binary);
  if (!in)
    return core::make_error(core::ErrorCode::io, "Could not read " + std::string{what} + " " + source.file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

core::Status apply(boost::system::error_code ec, std::string_view what) {
  if (ec)
    return core::make_error(core::ErrorCode::invalid, "Rejected " + std::string{what} + ": " + ec.message());
  return core::ok();
}

core::Status load_identity(ssl::context& ctx, const PemSource& cert, const PemSource& key) {
  if (cert.empty() && key.empty()) return core::ok();
  if (cert.empty() || key.empty()) {
    return core::make_error(core::ErrorCode::invalid, "A certificate needs both the certificate and its key");
  }
  const auto cert_pem = PODID_TRY(read_pem(cert, "certificate"));
  const auto key_pem = PODID_TRY(read_pem(key, "private key"));
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  PODID_TRY(apply(ec, "certificate"));
  ctx.use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  return apply(ec, "private key");
}

}  // namespace

core::Result<ssl::context> make_client_context(const TlsClientConfig& config) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (config.ca.empty()) {
    ctx.set_default_verify_paths(ec);
    PODID_TRY(apply(ec, "default CA paths"));
  } else {
    const auto ca = PODID_TRY(read_pem(config.ca, "CA bundle"));
    ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    PODID_TRY(apply(ec, "CA bundle"));
  }
  PODID_TRY(load_identity(ctx, config.client_cert, config.client_key));
  ctx.set_verify_mode(config.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
  return ctx;
}

core::Result<ssl::context> make_server_context(const TlsServerConfig& config) {
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  PODID_TRY(load_identity(ctx, config.cert, config.key));
  if (!config.client_ca.empty()) {
    const auto ca = PODID_TRY(read_pem(config.client_ca, "client CA"));
    boost::system::error_code ec;
    ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    PODID_TRY(apply(ec, "client CA"));
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace podid::http::detail
