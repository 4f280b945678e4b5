#include "store/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace podid::store {
namespace {

core::Error io_error(std::string_view what, const std::filesystem::path& p, int err) {
  return core::make_error(core::ErrorCode::io,
                          std::string(what) + " " + p.string() + ": " + std::strerror(err));
}

core::Status fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("opening directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync of directory", dir, err);
  return core::ok();
}

}  // namespace

DurableFile::DurableFile(std::filesystem::path tmp_path, int fd) : tmp_path_(std::move(tmp_path)), fd_(fd) {}

DurableFile::DurableFile(DurableFile&& other) noexcept
    : tmp_path_(std::move(other.tmp_path_)), fd_(other.fd_), committed_(other.committed_) {
  other.fd_ = -1;
  other.committed_ = true;  // the moved-from object owns nothing to clean up
}

DurableFile::~DurableFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(tmp_path_, ec);  // best effort: a leftover .tmp is never read
  }
}

core::Result<DurableFile> DurableFile::create(std::filesystem::path tmp_path) {
  std::error_code ec;
  auto dir = tmp_path.parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return core::make_error(core::ErrorCode::io, "creating directory " + dir.string() + ": " + ec.message());
  }
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return io_error("creating", tmp_path, errno);
  return DurableFile(std::move(tmp_path), fd);
}

core::Status DurableFile::write(std::string_view bytes) {
  if (fd_ < 0) return core::make_error(core::ErrorCode::io, "write to a closed file " + tmp_path_.string());
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("writing", tmp_path_, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return core::ok();
}

core::Status DurableFile::commit(const std::filesystem::path& final_path) {
  if (fd_ < 0) return core::make_error(core::ErrorCode::io, "commit of a closed file " + tmp_path_.string());
  if (::fsync(fd_) != 0) return io_error("fsync of", tmp_path_, errno);
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return io_error("closing", tmp_path_, errno);
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) return io_error("renaming", tmp_path_, errno);
  committed_ = true;
  auto dir = final_path.parent_path();
  return fsync_dir(dir.empty() ? std::filesystem::path(".") : dir);
}

}  // namespace podid::store
