// Where the PC's RAM goes, and the E820 map that tells the guest.
//
// RAM fills guest-physical memory from 0 up to the 32-bit PCI hole (layout::kPciHoleStart);
// the rest continues at 4 GiB.  The E820 map reports that RAM minus the legacy holes a PC
// firmware would leave: the EBDA below 640 KiB, the VGA window and the BIOS area up to 1 MiB
// (the BIOS area holds our ACPI tables, so it is reserved, not free).
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/guest_memory.h"

namespace machine {

struct RamLayout {
  std::uint64_t below_4g = 0;  // bytes of RAM from guest-physical 0
  std::uint64_t above_4g = 0;  // bytes of RAM from 4 GiB
  std::uint64_t total() const { return below_4g + above_4g; }
};

RamLayout ram_layout(std::uint64_t ram_bytes);

// The guest-physical regions to map (one or two).
std::vector<vmm::RamRegion> ram_regions(const RamLayout& layout);

enum class E820Type : std::uint32_t {
  kRam = 1,
  kReserved = 2,
  kAcpi = 3,
  kNvs = 4,
};

struct E820Entry {
  std::uint64_t addr;
  std::uint64_t size;
  E820Type type;
  bool operator==(const E820Entry&) const = default;
};

// Sorted, non-overlapping.  Needs at least 1 MiB + 1 byte of RAM below the hole to report
// memory above 1 MiB; smaller machines get only the low entries that fit.
std::vector<E820Entry> e820_map(const RamLayout& layout);

}  // namespace machine
