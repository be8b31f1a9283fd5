// Element types and the bf16 bit-pattern conversions every family shares.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace perfcal {

enum class Dtype { f32, f64, bf16, f16 };

inline const char* to_string(Dtype d) {
  switch (d) {
    case Dtype::f32: return "f32";
    case Dtype::f64: return "f64";
    case Dtype::bf16: return "bf16";
    case Dtype::f16: return "f16";
  }
  return "?";
}

inline std::optional<Dtype> parse_dtype(std::string_view s) {
  if (s == "f32") return Dtype::f32;
  if (s == "f64") return Dtype::f64;
  if (s == "bf16") return Dtype::bf16;
  if (s == "f16") return Dtype::f16;
  return std::nullopt;
}

inline std::size_t size_of(Dtype d) {
  return (d == Dtype::f64) ? 8 : (d == Dtype::f32) ? 4 : 2;
}

// bf16 is the top half of an IEEE float32. Round to nearest even, NaN kept quiet.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace perfcal
