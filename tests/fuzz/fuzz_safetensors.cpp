// fuzz_safetensors.cpp — the safetensors reader on arbitrary bytes, then the checkpoint loader
// (training::load_checkpoint: the model's config, the tensor count and shapes, finite weights,
// the vocabulary and source symbols in the metadata) on the same bytes as a file. A file the
// reader accepts must write back (F32, exact in this float32 build) to bytes that read back to
// the same tensors and metadata.
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "examples/training/checkpoint.h"
#include "fuzzing.h"
#include "nn/io/safetensors.h"

using namespace crossgrad;

namespace {

bool same(const SafetensorsFile& a, const SafetensorsFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor &x = a.tensors[i].second, &y = b.tensors[i].second;
    if (a.tensors[i].first != b.tensors[i].first || x.shape() != y.shape()) return false;
    if (x.numel() > 0 && std::memcmp(x.data(), y.data(), x.numel() * sizeof(real)) != 0)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  SafetensorsFile file;
  try {
    file = parse_safetensors(bytes, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  try {
    const std::string written = serialize_safetensors(file.tensors, file.metadata, Dtype::F32);
    fuzzing::require(same(parse_safetensors(written, "rewritten"), file),
                     "safetensors: parse(serialize(f)) != f");
  } catch (const Error&) {
    // The writer refuses some names the reader accepts (an empty one): not a crash.
  }
  if (file.metadata.count("vocab") == 0) return 0;  // not a checkpoint: done
  static const std::string path = "/tmp/crossgrad_fuzz_" + std::to_string(::getpid()) + ".safetensors";
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  try {
    const training::Checkpoint loaded = training::load_checkpoint(path);
    fuzzing::require(loaded.vocab.size() == loaded.model->config().vocab_size,
                     "checkpoint: vocab and model disagree");
  } catch (const Error&) {
  }
  ::unlink(path.c_str());
  return 0;
}
