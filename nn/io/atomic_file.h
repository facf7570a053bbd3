// atomic_file.h — replacing files whole: bytes go to a temporary file in the same
// directory, which is fsynced and renamed over the target, so a reader (or a crash) sees the
// old file or the complete new one, never a torn one. Several files that belong together
// (a model and its training state) are all written and fsynced before the first rename, so a
// crash while writing leaves every old file in place. Used by save_safetensors, by a run's
// checkpoints and by the text files written next to them (CSV, SVG).
// Read next: nn/model_checkpoint.h (the model files built on these).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace crossgrad::nn {

// Where a writer sends its bytes, in order; a sink may be called any number of times.
using ByteSink = std::function<void(const char* bytes, std::size_t count)>;

// Creates "<path>.tmp-<pid>-<n>" (O_EXCL, mode 0644), lets `write_bytes` stream the contents
// into it, fsyncs, closes and renames it over `path`, then fsyncs the directory so the rename
// is durable too. On any failure, including an exception from `write_bytes`, the temporary
// file is removed and the error propagates; errors read "<op>: cannot <what> '<file>': why".
void write_file_atomically(const std::string& path,
                           const std::function<void(const ByteSink& sink)>& write_bytes,
                           const std::string& op = "write_file_atomically");
// The same for contents already in memory.
void write_file_atomically(const std::string& path, const std::string& bytes);

// One file of a set written together.
struct FileContents {
  std::string path, bytes;
};
// Every file to its temporary name and fsynced first; only then renamed, one after the
// other. A failure before the renames removes every temporary file and changes nothing; a
// crash can leave a mix of old and new files only between two renames (microseconds).
void write_files_atomically(const std::vector<FileContents>& files,
                            const std::string& op = "write_files_atomically");

}  // namespace crossgrad::nn
