// POSIX implementation of the crash-safe writes.
#include "flags/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace patchstream::flags {
namespace {

std::string failure(std::string_view what, const std::filesystem::path& path) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

// Closes on scope exit, so every early return releases the descriptor.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view contents) {
  while (!contents.empty()) {
    const ssize_t written = ::write(fd, contents.data(), contents.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    contents.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

std::filesystem::path parent_of(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

}  // namespace

std::optional<std::string> sync_directory(const std::filesystem::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return failure("cannot open directory", directory);
  if (::fsync(fd.get()) != 0) return failure("cannot fsync directory", directory);
  return std::nullopt;
}

std::optional<std::string> replace_file_atomically(const std::filesystem::path& path,
                                                   std::string_view contents,
                                                   const std::function<void()>& before_rename) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return failure("cannot create", temp);
    if (!write_all(fd.get(), contents)) return failure("cannot write", temp);
    // Without this fsync the rename could become durable before the data it names.
    if (::fsync(fd.get()) != 0) return failure("cannot fsync", temp);
    if (::close(fd.release()) != 0) return failure("cannot close", temp);
  }
  if (before_rename) before_rename();
  if (::rename(temp.c_str(), path.c_str()) != 0) return failure("cannot rename onto", path);
  return sync_directory(parent_of(path));
}

std::optional<std::string> append_durably(const std::filesystem::path& path,
                                          std::string_view contents) {
  const bool existed = std::filesystem::exists(path);
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) return failure("cannot open", path);
  const off_t size_before = ::lseek(fd.get(), 0, SEEK_END);
  if (!write_all(fd.get(), contents) || ::fsync(fd.get()) != 0) {
    auto error = failure("cannot append to", path);
    // Cut a partial line off, so the next append does not glue itself to it.
    if (size_before >= 0 && ::ftruncate(fd.get(), size_before) != 0) error += " (not truncated)";
    return error;
  }
  if (!existed) return sync_directory(parent_of(path));
  return std::nullopt;
}

}  // namespace patchstream::flags
