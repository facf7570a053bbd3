// safetensors.h — checkpoints in Hugging Face's safetensors format, so PyTorch reads ours
// and we read its: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"key": "value"}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8, then the raw little-endian data, offsets relative
// to the end of the header. Saving is atomic (temporary file, fsync, rename); loading
// trusts nothing and names the file and the problem in every error.
// Read next: nn/io/safetensors.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad {

// What Module::named_parameters() returns and what checkpoints hold: names in order.
// (The same alias is declared in optim.h; redeclaring an alias to one type is allowed.)
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The element types we write. F32 is what PyTorch trains in; in the float32 build it is
// exact, in the float64 build saving as F32 rounds (use F64 there for a bit-exact file).
enum class Dtype { F32, F64 };
inline constexpr Dtype kRealDtype = kDoublePrecision ? Dtype::F64 : Dtype::F32;

// The largest header we read, as the reference implementation (100 MB): a header length
// above it is corruption or an attack, not a model.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct SafetensorsFile {
  NamedTensors tensors;  // in the order the header lists them, converted to `real`
  std::map<std::string, std::string> metadata;        // "__metadata__", string to string
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};

// The file's bytes. Tensors are written in the given order with contiguous offsets;
// "__metadata__" comes first and is omitted when empty. Throws on an empty, duplicate or
// reserved ("__metadata__") name, an undefined tensor, a string that is not UTF-8, or (F32
// in the float64 build) a finite value too large for float32.
std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata = {},
                                  Dtype dtype = Dtype::F32);

// Validates and decodes a whole file held in memory; `source` names it in errors.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source = "<memory>");

// Writes to "<path>.tmp-<pid>-<n>" in the same directory, fsyncs it and renames it over
// `path`, so `path` holds either its old contents or the complete new file, never a torn
// one (nn/io/atomic_file.h). On any failure the temporary file is removed and an Error names
// the problem.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      Dtype dtype = Dtype::F32);
SafetensorsFile load_safetensors(const std::string& path);

// What load_into did not match (only possible with strict = false).
struct LoadReport {
  std::vector<std::string> missing;     // parameters the checkpoint lacks
  std::vector<std::string> unexpected;  // checkpoint entries no parameter has
};

// Copies loaded values into existing parameters by name (like load_state_dict). A shape
// mismatch is always an error; missing and unexpected names are errors when strict. One
// Error lists every problem, e.g. "generator.weight: checkpoint has shape (13,32), model
// expects (13,64)"; nothing is copied unless everything matches.
LoadReport load_into(const NamedTensors& parameters, const NamedTensors& loaded,
                     bool strict = true);

}  // namespace crossgrad
