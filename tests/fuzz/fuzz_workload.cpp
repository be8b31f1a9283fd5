// Fuzzes the workload parsers behind `perfcal tune --shapes-from FILE` (parse_shapes_text,
// which parse_shapes_file calls on the file's content) and `--shapes LIST` (parse_shapes),
// on the same bytes. Pure functions: no file is read or written. Each must return shapes or
// one error line; every accepted shape must be positive with a FLOP count that fits 64 bits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/tune_args.h"

using namespace perfcal::tuner;

namespace {

void check(const std::vector<Shape>& shapes) {
  for (const Shape& s : shapes) {
    int64_t mn = 0, mnk = 0, flops = 0;
    if (s.m < 1 || s.n < 1 || s.k < 1) __builtin_trap();
    if (__builtin_mul_overflow(s.m, s.n, &mn) || __builtin_mul_overflow(mn, s.k, &mnk) ||
        __builtin_mul_overflow(mnk, int64_t{2}, &flops))
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Shape> shapes;
  std::string err = parse_shapes_text(text, "fuzz.txt", &shapes);
  check(shapes);
  // A file that parses has one shape per non-comment line: the same shapes, joined with
  // commas, parse again as a --shapes list.
  if (err.empty() && !shapes.empty()) {
    std::string list;
    for (const Shape& s : shapes)
      list += (list.empty() ? "" : ",") + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
              std::to_string(s.k);
    std::vector<Shape> again;
    if (!parse_shapes(list, &again).empty() || again.size() != shapes.size()) __builtin_trap();
    for (std::size_t i = 0; i < shapes.size(); ++i)
      if (again[i].m != shapes[i].m || again[i].n != shapes[i].n || again[i].k != shapes[i].k)
        __builtin_trap();
  }
  shapes.clear();
  err = parse_shapes(text, &shapes);
  check(shapes);
  return 0;
}
