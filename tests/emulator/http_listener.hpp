#pragma once
// A small HTTP/1.1 server over Beast (plain or TLS) that feeds HttpRequest values to one handler.
// open() binds at once (port 0 picks a free port) and serves on the given io_context's threads.
// Thread-safety: the handler runs on any io_context thread and must be thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "tests/emulator/http_message.hpp"

namespace boost::asio {
class io_context;
}

namespace podid::emulator {

struct TlsMaterial {
  std::string cert_chain_pem;  // server certificate first, then the CA
  std::string key_pem;
};

struct ListenerOptions {
  std::string address{"127.0.0.1"};
  std::uint16_t port{0};
  std::optional<TlsMaterial> tls;
  std::size_t body_limit{4U * 1024U * 1024U};
};

class HttpListener {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<HttpListener>> open(boost::asio::io_context& io,
                                                                        const ListenerOptions& options,
                                                                        HttpHandler handler);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::string url() const;  // scheme://host:port, no trailing slash
  void close();                           // stops accepting; open connections finish

  struct State;

 private:
  explicit HttpListener(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace podid::emulator
