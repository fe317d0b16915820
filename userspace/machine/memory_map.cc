#include "machine/memory_map.h"

#include <algorithm>

#include "machine/layout.h"

namespace machine {

RamLayout ram_layout(std::uint64_t ram_bytes) {
  RamLayout l;
  l.below_4g = std::min(ram_bytes, layout::kPciHoleStart);
  l.above_4g = ram_bytes - l.below_4g;
  return l;
}

std::vector<vmm::RamRegion> ram_regions(const RamLayout& l) {
  std::vector<vmm::RamRegion> regions;
  if (l.below_4g) {
    regions.push_back({0, l.below_4g, 0});
  }
  if (l.above_4g) {
    regions.push_back({layout::kHighRamStart, l.above_4g, 0});
  }
  return regions;
}

std::vector<E820Entry> e820_map(const RamLayout& l) {
  std::vector<E820Entry> map;
  const std::uint64_t low = l.below_4g;
  // Conventional memory, then the EBDA; both only as far as RAM goes.
  map.push_back({0, std::min(low, layout::kEbdaStart), E820Type::kRam});
  if (low > layout::kEbdaStart) {
    map.push_back({layout::kEbdaStart,
                   std::min(low, layout::kVgaStart) - layout::kEbdaStart, E820Type::kReserved});
  }
  // 0xa0000-0xe0000 (VGA window, option ROMs) is simply absent, as on real PCs.
  if (low > layout::kBiosAreaStart) {
    map.push_back({layout::kBiosAreaStart,
                   std::min(low, layout::kHighMemoryStart) - layout::kBiosAreaStart,
                   E820Type::kReserved});
  }
  if (low > layout::kHighMemoryStart) {
    map.push_back({layout::kHighMemoryStart, low - layout::kHighMemoryStart, E820Type::kRam});
  }
  if (l.above_4g) {
    map.push_back({layout::kHighRamStart, l.above_4g, E820Type::kRam});
  }
  return map;
}

}  // namespace machine
