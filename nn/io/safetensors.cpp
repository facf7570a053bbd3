// safetensors.cpp — the format both ways (see safetensors.h): writing lays out the header
// and little-endian data and saves atomically; reading validates every header field (dtypes,
// overflow-checked shapes, offsets that tile the data exactly) before decoding a byte; then
// load_into copies by name. Read next: nn/io/atomic_file.h (how a save replaces a file).
#include "nn/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include "nn/io/atomic_file.h"
#include "nn/io/json.h"

namespace crossgrad {

namespace {

// --- Bytes: what writing and reading share ---

std::size_t element_size(Dtype dtype) { return dtype == Dtype::F32 ? 4 : 8; }
const char* dtype_name(Dtype dtype) { return dtype == Dtype::F32 ? "F32" : "F64"; }

// A finite value that float32 cannot hold would silently become inf: we refuse it instead.
bool fits_f32(double value) {
  return !std::isfinite(value) || std::fabs(value) <= std::numeric_limits<float>::max();
}
std::string f32_overflow(const std::string& name, std::size_t index, double value) {
  std::ostringstream out;
  out << "tensor '" << name << "' element " << index << " = " << value
      << " does not fit in float32";
  return out.str();
}

// Little-endian bytes of the low `width` bytes of `bits`, and back, whatever the host.
void put_le(char* out, std::uint64_t bits, std::size_t width) {
  for (std::size_t b = 0; b < width; ++b) out[b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
}
std::uint64_t get_le(const char* in, std::size_t width) {
  std::uint64_t bits = 0;
  for (std::size_t b = 0; b < width; ++b)
    bits |= std::uint64_t(static_cast<unsigned char>(in[b])) << (8 * b);
  return bits;
}

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

// --- Reading ---

namespace {

// One tensor as the header describes it, checked against the data region.
struct Entry {
  std::string name;
  Dtype dtype;
  Shape shape;
  std::uint64_t begin, end;  // byte offsets into the data region
};

// Every check below fails through here, so each error names the file first.
struct Reader {
  const std::string& source;
  [[noreturn]] void bad(const std::string& problem) const {
    fail("load_safetensors: '" + source + "': " + problem);
  }

  std::uint64_t non_negative(const json::Value& v, const std::string& what) const {
    if (!v.is_integer() || v.as_integer() < 0)
      bad(what + " must be a non-negative integer, got " +
          (v.is_integer() ? std::to_string(v.as_integer()) : v.type_name()));
    return static_cast<std::uint64_t>(v.as_integer());
  }

  Dtype dtype(const json::Value& v, const std::string& name) const {
    if (!v.is_string()) bad("tensor '" + name + "': dtype must be a string");
    const std::string& text = v.as_string();
    if (text == "F32") return Dtype::F32;
    if (text == "F64") return Dtype::F64;
    static const std::set<std::string> known = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
                                                "I16",  "U16", "F16", "BF16",    "I32",
                                                "U32",  "U64", "I64"};
    if (known.count(text))
      bad("tensor '" + name + "': dtype " + text +
          " is not supported (crossgrad reads F32 and F64)");
    bad("tensor '" + name + "': unknown dtype '" + text + "'");
  }

  // The 8-byte length and the JSON object after it, each checked; `header_size` is the length.
  json::Value read_header(std::string_view bytes, std::uint64_t& header_size) const {
    if (bytes.size() < 8)
      bad("file is " + std::to_string(bytes.size()) +
          " bytes, shorter than the 8-byte header length");
    header_size = get_le(bytes.data(), 8);
    if (header_size > kMaxHeaderBytes)
      bad("header length " + std::to_string(header_size) + " is absurd (the limit is " +
          std::to_string(kMaxHeaderBytes) + " bytes)");
    if (header_size > bytes.size() - 8)
      bad("header length " + std::to_string(header_size) + " is larger than the " +
          std::to_string(bytes.size() - 8) + " bytes after it");
    const std::string_view text = bytes.substr(8, header_size);
    if (text.empty() || text[0] != '{')
      bad("the header must be a JSON object starting with '{'");
    json::Value header;
    try {
      header = json::parse(text, json::ParseOptions{8});
    } catch (const Error& e) {
      bad(std::string("invalid JSON header (offsets count from file byte 8): ") + e.what());
    }
    if (!header.is_object())
      bad(std::string("header is a JSON ") + header.type_name() + ", not an object");
    return header;
  }

  // The tensor's entry; its byte count is computed with overflow checks before anything
  // is allocated, so a shape like [2^40, 2^40] is an error, not a bad_alloc or a wrap.
  Entry entry(const std::string& name, const json::Value& info, std::uint64_t data_size) const {
    if (!info.is_object())
      bad("tensor '" + name + "': expected an object, got " + info.type_name());
    for (const auto& member : info.as_object())
      if (member.first != "dtype" && member.first != "shape" && member.first != "data_offsets")
        bad("tensor '" + name + "': unexpected field '" + member.first + "'");
    const json::Value* dtype_value = info.find("dtype");
    const json::Value* shape_value = info.find("shape");
    const json::Value* offsets = info.find("data_offsets");
    if (!dtype_value || !shape_value || !offsets)
      bad("tensor '" + name + "': needs dtype, shape and data_offsets");
    Entry e{name, dtype(*dtype_value, name), {}, 0, 0};
    if (!shape_value->is_array()) bad("tensor '" + name + "': shape must be an array");
    std::uint64_t bytes = element_size(e.dtype);
    for (const json::Value& size : shape_value->as_array()) {
      const std::uint64_t n = non_negative(size, "tensor '" + name + "': each shape entry");
      if (n != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / n)
        bad("tensor '" + name + "': shape is too large to allocate (its byte count overflows)");
      bytes *= n;
      e.shape.push_back(static_cast<std::size_t>(n));
    }
    if (!offsets->is_array() || offsets->as_array().size() != 2)
      bad("tensor '" + name + "': data_offsets must be an array [begin, end]");
    e.begin = non_negative(offsets->as_array()[0], "tensor '" + name + "': data_offsets begin");
    e.end = non_negative(offsets->as_array()[1], "tensor '" + name + "': data_offsets end");
    const std::string span = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end < e.begin)
      bad("tensor '" + name + "': data_offsets " + span + " end before they begin");
    if (e.end > data_size)
      bad("tensor '" + name + "': data_offsets " + span +
          " are out of bounds: the data region has " + std::to_string(data_size) + " bytes");
    if (e.end - e.begin != bytes)
      bad("tensor '" + name + "': shape " + to_string(e.shape) + " of " + dtype_name(e.dtype) +
          " needs " + std::to_string(bytes) + " bytes, but data_offsets " + span + " span " +
          std::to_string(e.end - e.begin));
    return e;
  }

  // Sorted by offset, the tensors must tile the data region exactly: no overlap, no gap,
  // nothing left over (the spec forbids holes, which would let a file hide other content).
  void check_coverage(std::vector<const Entry*> order, std::uint64_t data_size) const {
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
      return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
    });
    std::uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry* e : order) {
      if (e->begin < covered)
        bad("tensors '" + previous->name + "' and '" + e->name + "' overlap in the data region");
      if (e->begin > covered)
        bad("bytes [" + std::to_string(covered) + ", " + std::to_string(e->begin) +
            ") of the data region belong to no tensor (a gap)");
      covered = e->end;
      previous = e;
    }
    if (covered != data_size)
      bad("bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
          ") of the data region belong to no tensor (trailing data)");
  }

  Tensor decode(const Entry& e, const char* data) const {
    const std::size_t width = element_size(e.dtype);
    std::vector<real> values(numel(e.shape));
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint64_t bits = get_le(data + e.begin + i * width, width);
      if (e.dtype == Dtype::F32) {
        const std::uint32_t u = static_cast<std::uint32_t>(bits);
        float f;
        std::memcpy(&f, &u, 4);
        values[i] = f;
      } else {
        double d;
        std::memcpy(&d, &bits, 8);
        if (!kDoublePrecision && !fits_f32(d)) bad(f32_overflow(e.name, i, d));
        values[i] = static_cast<real>(d);
      }
    }
    return Tensor::from(std::move(values), e.shape);
  }
};

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& entry : tensors)
    if (entry.first == name) return &entry.second;
  return nullptr;
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source) {
  const Reader reader{source};
  std::uint64_t header_size = 0;
  const json::Value header = reader.read_header(bytes, header_size);
  const std::uint64_t data_size = bytes.size() - 8 - header_size;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.as_object()) {
    if (name != "__metadata__") {
      entries.push_back(reader.entry(name, value, data_size));
      continue;
    }
    if (!value.is_object())
      reader.bad(std::string("__metadata__ must be an object, got ") + value.type_name());
    for (const auto& [key, entry] : value.as_object()) {
      if (!entry.is_string())
        reader.bad("__metadata__ value for '" + key + "' is a JSON " + entry.type_name() +
                   "; safetensors metadata values must be strings");
      file.metadata[key] = entry.as_string();
    }
  }
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  reader.check_coverage(order, data_size);
  const char* data = bytes.data() + 8 + header_size;
  for (const Entry& e : entries) file.tensors.emplace_back(e.name, reader.decode(e, data));
  return file;
}

SafetensorsFile load_safetensors(const std::string& path) {
  // An ifstream opens a directory without complaint and then reports a nonsense size.
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    fail("load_safetensors: '" + path + "' is a directory, not a safetensors file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("load_safetensors: cannot open '" + path + "': " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  std::string bytes(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  in.seekg(0);
  if (size < 0 || !in.read(bytes.data(), size))
    fail("load_safetensors: cannot read '" + path + "'");
  return parse_safetensors(bytes, path);
}

// --- load_into ---

namespace {

// One Error listing every problem load_into found (missing and unexpected names only when
// strict), so a user sees them all at once; nothing when there is none.
void fail_on_problems(const LoadReport& report, const std::vector<std::string>& mismatches,
                      bool strict) {
  std::vector<std::string> problems;
  const auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
  };
  if (strict && !report.missing.empty())
    problems.push_back("missing from the checkpoint: " + join(report.missing));
  if (strict && !report.unexpected.empty())
    problems.push_back("unexpected in the checkpoint: " + join(report.unexpected));
  problems.insert(problems.end(), mismatches.begin(), mismatches.end());
  if (!problems.empty()) {
    std::string message = "load_into: ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    fail(message);
  }
}

}  // namespace

LoadReport load_into(const NamedTensors& parameters, const NamedTensors& loaded, bool strict) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, tensor] : loaded)
    if (!by_name.emplace(name, &tensor).second)
      fail("load_into: duplicate checkpoint entry '" + name + "'");
  LoadReport report;
  std::vector<std::string> mismatches;
  std::set<std::string> used;
  for (const auto& [name, parameter] : parameters) {
    if (!parameter.defined()) fail("load_into: parameter '" + name + "' is undefined");
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      report.missing.push_back(name);
      continue;
    }
    used.insert(name);
    if (it->second->shape() != parameter.shape())
      mismatches.push_back(name + ": checkpoint has shape " + to_string(it->second->shape()) +
                           ", model expects " + to_string(parameter.shape()));
  }
  for (const auto& entry : loaded)
    if (!used.count(entry.first)) report.unexpected.push_back(entry.first);
  fail_on_problems(report, mismatches, strict);
  for (auto [name, parameter] : parameters) {  // a handle: the copy shares the values
    const auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    std::copy(it->second->data(), it->second->data() + it->second->numel(),
              parameter.mutable_data());
  }
  return report;
}

}  // namespace crossgrad
