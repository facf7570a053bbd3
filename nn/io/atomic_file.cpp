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
#include <memory>

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

// A temporary file of `path`, written and fsynced but not yet renamed. Until commit() it
// belongs to this object, whose destructor removes it (a failure, an exception).
class TemporaryFile {
 public:
  TemporaryFile(const std::string& path, const std::string& op) : path_(path), op_(op) {
    // pid + counter: unique across processes and across threads of this one; O_EXCL refuses
    // to reuse a name that is somehow already there.
    static std::atomic<unsigned> counter{0};
    temp_ = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_errno(op, "cannot create the temporary file", temp_);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }

  void write(const std::function<void(const ByteSink& sink)>& write_bytes) {
    write_bytes(
        [&](const char* bytes, std::size_t count) { write_all(fd_, bytes, count, op_, temp_); });
    if (::fsync(fd_) != 0) fail_errno(op_, "cannot flush", temp_);
    const int closed = ::close(fd_);
    fd_ = -1;
    if (closed != 0) fail_errno(op_, "cannot close", temp_);
  }

  // Renames the temporary file over the target: from here on it is the target.
  void commit() {
    std::error_code error;
    std::filesystem::rename(temp_, path_, error);
    if (error) fail(op_ + ": cannot rename '" + temp_ + "' to '" + path_ + "': " + error.message());
    temp_.clear();
  }

 private:
  std::string path_, op_, temp_;
  int fd_ = -1;
};

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(const ByteSink& sink)>& write_bytes,
                           const std::string& op) {
  TemporaryFile file(path, op);
  file.write(write_bytes);
  file.commit();
  sync_directory(path);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

void write_files_atomically(const std::vector<FileContents>& files, const std::string& op) {
  std::vector<std::unique_ptr<TemporaryFile>> written;  // removed on the way out unless renamed
  for (const FileContents& file : files) {
    written.push_back(std::make_unique<TemporaryFile>(file.path, op));
    written.back()->write(
        [&](const ByteSink& sink) { sink(file.bytes.data(), file.bytes.size()); });
  }
  for (const auto& file : written) file->commit();
  for (const FileContents& file : files) sync_directory(file.path);
}

}  // namespace crossgrad::nn
