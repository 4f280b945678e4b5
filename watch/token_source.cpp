#include "watch/token_source.hpp"

#include <fstream>
#include <sstream>

namespace podid::watch {

TokenSource::TokenSource(std::string static_token, std::string token_file, std::chrono::seconds refresh,
                         Now now)
    : static_token_(std::move(static_token)),
      file_(std::move(token_file)),
      refresh_(refresh),
      now_(std::move(now)) {}

core::Result<std::string> TokenSource::token() {
  if (file_.empty()) return static_token_;
  const auto now = now_();
  if (read_at_ && now - *read_at_ < refresh_) return cached_;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return core::make_error(core::ErrorCode::io, "Could not read the token file " + file_);
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty() && !cached_.empty()) return cached_;  // caught mid-rewrite: keep the previous token
  cached_ = std::move(token);
  read_at_ = now;
  ++reads_;
  return cached_;
}

bool TokenSource::invalidate() {
  read_at_.reset();
  return !file_.empty();
}

}  // namespace podid::watch
