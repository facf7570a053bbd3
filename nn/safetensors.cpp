// safetensors.cpp — writing: the header (names checked, offsets laid out), the data as
// little-endian bytes, and the save (atomically, through nn/atomic_file.h). Reading, with
// every field validated, and load_into are in safetensors_read.cpp; the byte helpers both
// use are in safetensors_internal.h. Read next: nn/safetensors_read.cpp.
#include "nn/safetensors.h"

#include <cstring>
#include <set>

#include "nn/atomic_file.h"
#include "nn/json.h"
#include "nn/safetensors_internal.h"

namespace crossgrad {

using namespace safetensors_internal;

namespace {

// --- Writing ---

// The header, padded with spaces to a multiple of 8 so the data starts aligned.
std::string make_header(const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata, Dtype dtype) {
  json::Value header = json::Value::object();
  if (!metadata.empty()) {
    json::Value entries = json::Value::object();
    for (const auto& [key, value] : metadata) entries.set(key, value);
    header.set("__metadata__", std::move(entries));
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) fail("save_safetensors: a tensor has an empty name");
    if (name == "__metadata__")
      fail("save_safetensors: '__metadata__' is reserved, not a tensor name");
    if (!names.insert(name).second) fail("save_safetensors: duplicate tensor name '" + name + "'");
    if (!tensor.defined()) fail("save_safetensors: tensor '" + name + "' is undefined");
    json::Value shape = json::Value::array();
    for (const std::size_t size : tensor.shape()) shape.push_back(size);
    const std::uint64_t end = offset + tensor.numel() * element_size(dtype);
    json::Value info = json::Value::object();
    info.set("dtype", dtype_name(dtype));
    info.set("shape", std::move(shape));
    info.set("data_offsets", json::Value::array({offset, end}));
    header.set(name, std::move(info));
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Error& e) {
    fail(std::string("save_safetensors: cannot write the header: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// Length, header, then each tensor's values as little-endian F32 or F64, one at a time.
void write_safetensors(const nn::ByteSink& sink, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata, Dtype dtype) {
  const std::string header = make_header(tensors, metadata, dtype);
  char length[8];
  put_le(length, header.size(), 8);
  sink(length, 8);
  sink(header.data(), header.size());
  const std::size_t width = element_size(dtype);
  std::vector<char> bytes;
  for (const auto& [name, tensor] : tensors) {
    bytes.resize(tensor.numel() * width);
    const real* values = tensor.data();
    for (std::size_t i = 0; i < tensor.numel(); ++i) {
      std::uint64_t bits = 0;
      if (dtype == Dtype::F32) {
        if (!fits_f32(values[i])) fail("save_safetensors: " + f32_overflow(name, i, values[i]));
        const float f = static_cast<float>(values[i]);
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        bits = u;
      } else {
        const double d = static_cast<double>(values[i]);
        std::memcpy(&bits, &d, 8);
      }
      put_le(&bytes[i * width], bits, width);
    }
    sink(bytes.data(), bytes.size());
  }
}

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata, Dtype dtype) {
  std::string out;
  write_safetensors([&](const char* bytes, std::size_t count) { out.append(bytes, count); },
                    tensors, metadata, dtype);
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata, Dtype dtype) {
  make_header(tensors, metadata, dtype);  // refuse bad names and metadata before touching disk
  nn::write_file_atomically(
      path,
      [&](const nn::ByteSink& sink) { write_safetensors(sink, tensors, metadata, dtype); },
      "save_safetensors");
}

}  // namespace crossgrad
