#include "core/registry.h"

namespace perfcal {

std::vector<const VariantInfo*>& all_variants() {
  static std::vector<const VariantInfo*> v;
  return v;
}

}  // namespace perfcal
