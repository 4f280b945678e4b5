#pragma once
// Internal: classifies a transport-level error code (Asio, Beast, OpenSSL) into our ErrorCode, once.

#include <boost/system/error_code.hpp>
#include <string_view>

#include "core/error.hpp"

namespace podid::http::detail {

[[nodiscard]] core::Error transport_error(const boost::system::error_code& ec, std::string_view step);

}  // namespace podid::http::detail
