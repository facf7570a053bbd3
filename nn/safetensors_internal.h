// safetensors_internal.h — what the writing half (safetensors.cpp) and the reading half
// (safetensors_read.cpp) share: element sizes and names, the float32 range check, and
// little-endian bytes spelled out with shifts. Not part of the library's interface.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "nn/safetensors.h"

namespace crossgrad::safetensors_internal {

inline std::size_t element_size(Dtype dtype) { return dtype == Dtype::F32 ? 4 : 8; }
inline const char* dtype_name(Dtype dtype) { return dtype == Dtype::F32 ? "F32" : "F64"; }

// A finite value that float32 cannot hold would silently become inf: we refuse it instead.
inline bool fits_f32(double value) {
  return !std::isfinite(value) || std::fabs(value) <= std::numeric_limits<float>::max();
}
inline std::string f32_overflow(const std::string& name, std::size_t index, double value) {
  std::ostringstream out;
  out << "tensor '" << name << "' element " << index << " = " << value
      << " does not fit in float32";
  return out.str();
}

// Little-endian bytes of the low `width` bytes of `bits`, and back, whatever the host.
inline void put_le(char* out, std::uint64_t bits, std::size_t width) {
  for (std::size_t b = 0; b < width; ++b) out[b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
}
inline std::uint64_t get_le(const char* in, std::size_t width) {
  std::uint64_t bits = 0;
  for (std::size_t b = 0; b < width; ++b)
    bits |= std::uint64_t(static_cast<unsigned char>(in[b])) << (8 * b);
  return bits;
}

}  // namespace crossgrad::safetensors_internal
