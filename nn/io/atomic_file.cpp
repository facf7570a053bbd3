// atomic_file.cpp — temporary file, fsync, rename (see atomic_file.h). POSIX calls rather
// than std::ofstream because iostreams cannot fsync, and without fsync a crash after the
// rename can leave an empty file under the new name.
#include "nn/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "autograd/shape.h"

namespace crossgrad::nn {

namespace {

// Reads errno before anything else can change it.
[[noreturn]] void fail_errno(const std::string& op, const std::string& what,
                             const std::string& file) {
  const std::string reason = std::strerror(errno);
  fail(op + ": " + what + " '" + file + "': " + reason);
}

// write(2) until everything is out: it may write less than asked, or be interrupted.
void write_all(int fd, const char* bytes, std::size_t count, const std::string& op,
               const std::string& file) {
  while (count > 0) {
    const ssize_t written = ::write(fd, bytes, count);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail_errno(op, "cannot write", file);
    bytes += written;
    count -= static_cast<std::size_t>(written);
  }
}

// Makes the rename itself durable; a filesystem that cannot fsync a directory is not an
// error, since the file is complete either way.
void sync_directory(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(const ByteSink& sink)>& write_bytes,
                           const std::string& op) {
  // pid + counter: unique across processes and across threads of this one; O_EXCL refuses
  // to reuse a name that is somehow already there.
  static std::atomic<unsigned> counter{0};
  const std::string temp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(op, "cannot create the temporary file", temp);
  try {
    write_bytes(
        [&](const char* bytes, std::size_t count) { write_all(fd, bytes, count, op, temp); });
    if (::fsync(fd) != 0) fail_errno(op, "cannot flush", temp);
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) fail_errno(op, "cannot close", temp);
    std::error_code error;
    std::filesystem::rename(temp, path, error);
    if (error) fail(op + ": cannot rename '" + temp + "' to '" + path + "': " + error.message());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  sync_directory(path);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

}  // namespace crossgrad::nn
