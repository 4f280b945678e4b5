#pragma once
// Result<T>: a value or a podid::core::Error. Blocking seams return it; network seams return
// asio::awaitable<Result<T>>. PODID_TRY propagates the error of an expression and yields its value.

#include <boost/system/result.hpp>
#include <stdexcept>

#include "core/error.hpp"

namespace podid::core {

// Result<T>::value() on an error throws this; used only where a caller asserted success (tests, main).
struct ErrorException : std::runtime_error {
  explicit ErrorException(const Error& e) : std::runtime_error(e.describe()), error(e) {}
  Error error;
};

[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e);
}

template <class T>
using Result = boost::system::result<T, Error>;

using Status = Result<void>;

[[nodiscard]] inline Status ok() {
  return {};
}

}  // namespace podid::core

// Evaluates a Result expression; on error returns it from the enclosing function, else yields the value.
#define PODID_TRY(expr)                             \
  __extension__({                                   \
    auto&& podid_try_r_ = (expr);                   \
    if (!podid_try_r_) return podid_try_r_.error(); \
    *std::move(podid_try_r_);                       \
  })
#define PODID_CO_TRY(expr)                             \
  __extension__({                                      \
    auto&& podid_try_r_ = (expr);                      \
    if (!podid_try_r_) co_return podid_try_r_.error(); \
    *std::move(podid_try_r_);                          \
  })
