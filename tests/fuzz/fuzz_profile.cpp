// Fuzzes the profile reader end to end: JSON parsing with limits (size, depth, duplicate
// keys), schema + semantic validation, conversion to the C++ types and back. Any crash,
// leak, sanitizer report or exception escaping these APIs is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "profile/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace perfcal::profile;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string err;
  auto doc = parse_json(text, &err);
  if (!doc) return 0;
  auto problems = validate(*doc);
  if (!problems.empty()) return 0;
  // A document that validates must convert, and survive a round trip unchanged.
  Profile p = doc->get<Profile>();
  Json again = p;
  if (!validate(again).empty()) __builtin_trap();
  Profile q = again.get<Profile>();
  if (Json(q) != again) __builtin_trap();
  return 0;
}
