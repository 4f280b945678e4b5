#pragma once
// A file that is either completely on disk under its final name or not there at all: written to a
// temporary name, fsynced, renamed, and the directory fsynced. Retention writes its exports through it
// before deleting anything. Not thread-safe; one owner.

#include <filesystem>
#include <string_view>

#include "core/result.hpp"

namespace podid::store {

class DurableFile {
 public:
  // Creates the directory if needed and opens tmp_path for writing. Errors: io.
  [[nodiscard]] static core::Result<DurableFile> create(std::filesystem::path tmp_path);

  DurableFile(DurableFile&& other) noexcept;
  DurableFile& operator=(DurableFile&&) = delete;
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;
  // Closes and removes the temporary file unless commit() succeeded.
  ~DurableFile();

  [[nodiscard]] core::Status write(std::string_view bytes);
  // fsync, close, rename to final_path (same directory), fsync the directory.
  [[nodiscard]] core::Status commit(const std::filesystem::path& final_path);

 private:
  DurableFile(std::filesystem::path tmp_path, int fd);

  std::filesystem::path tmp_path_;
  int fd_{-1};
  bool committed_{false};
};

}  // namespace podid::store
