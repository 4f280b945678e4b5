#pragma once
// Test helper: runs one coroutine on an io_context until it finishes or a deadline passes (then throws).
// Other work on the context (servers) keeps running only while the coroutine runs.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace podid::testing {

template <class T>
T run_async(boost::asio::io_context& io, boost::asio::awaitable<T> work,
            std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) out.emplace(std::move(value));
    done = true;
    io.stop();
  });
  io.restart();
  io.run_for(limit);
  if (!done) throw std::runtime_error("Coroutine missed its test deadline");
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void run_async(boost::asio::io_context& io, boost::asio::awaitable<void> work,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, std::move(work), [&](std::exception_ptr e) {
    error = e;
    done = true;
    io.stop();
  });
  io.restart();
  io.run_for(limit);
  if (!done) throw std::runtime_error("Coroutine missed its test deadline");
  if (error) std::rethrow_exception(error);
}

}  // namespace podid::testing
