#include "core/http/detail/transport_error.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <string>

namespace podid::http::detail {

core::Error transport_error(const boost::system::error_code& ec, std::string_view step) {
  namespace asio_error = boost::asio::error;
  const std::string what = std::string{step} + ": " + ec.message();
  if (ec == asio_error::operation_aborted) return core::make_error(core::ErrorCode::cancelled, what);
  if (ec == boost::beast::error::timeout)
    return core::make_error(core::ErrorCode::transient, "Timed out " + what);
  if (ec == boost::beast::http::error::body_limit || ec == boost::beast::http::error::header_limit) {
    return core::make_error(core::ErrorCode::invalid, what);
  }
  if (ec.category() ==
      boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category()) {
    return core::make_error(core::ErrorCode::transient, "Malformed response " + what);
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    // Certificate verification failures are not retryable: the peer is not who we trust.
    const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      return core::make_error(core::ErrorCode::permission, "TLS verification failed " + what);
    }
    return core::make_error(core::ErrorCode::transient, "TLS failed " + what);
  }
  return core::make_error(core::ErrorCode::transient, what);
}

}  // namespace podid::http::detail
