#include "core/error.hpp"

namespace podid::core {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::not_found:
      return "not found";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::gone:
      return "gone";
    case ErrorCode::throttled:
      return "throttled";
    case ErrorCode::permission:
      return "permission";
    case ErrorCode::invalid:
      return "invalid";
    case ErrorCode::transient:
      return "transient";
    case ErrorCode::io:
      return "io";
    case ErrorCode::corrupt:
      return "corrupt";
    case ErrorCode::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string out{to_string(code)};
  out += ": ";
  out += message;
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status) + ")";
  if (retry_after) out += " (retry after " + std::to_string(retry_after->count()) + " ms)";
  return out;
}

Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message), {}, 0};
}

std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << e.describe();
}

}  // namespace podid::core
