// Guest RAM: one anonymous host mapping, seen by the guest as one or more guest-physical
// regions (a PC has RAM below the 32-bit PCI hole and, with enough of it, more above 4 GiB).
//
// The regions are laid end to end in the host mapping, in the order given.  Every access a
// device or the loader makes on behalf of the guest goes through a bounds check here; a range
// that is not entirely inside one region is refused, never clamped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace vmm {

struct RamRegion {
  std::uint64_t gpa;          // guest-physical start
  std::uint64_t size;         // bytes
  std::uint64_t host_offset;  // offset of gpa in the host mapping
};

class GuestMemory {
 public:
  // The host huge page (x86-64 PMD) guest RAM is aligned to, modulo the first region's gpa.
  static constexpr std::uint64_t kHugePage = 2ull << 20;

  // Maps size bytes of zeroed anonymous memory for guest-physical [base, base + size).
  static VmmResult<GuestMemory> allocate(std::uint64_t base, std::uint64_t size);
  // One mapping for several guest-physical ranges ({gpa, size} pairs; host_offset is ignored
  // and assigned here).  Ranges must be non-empty, in ascending order and must not overlap.
  static VmmResult<GuestMemory> allocate(std::span<const RamRegion> ranges);

  std::uint64_t base() const { return regions_.front().gpa; }
  // Total bytes of RAM (all regions).
  std::uint64_t size() const { return mapping_.length(); }
  void* host_base() const { return mapping_.get(); }
  std::span<const RamRegion> regions() const { return regions_; }
  // Host address of a region's first byte (for KVM_SET_USER_MEMORY_REGION).
  void* host_address(const RamRegion& region) const {
    return static_cast<std::uint8_t*>(mapping_.get()) + region.host_offset;
  }

  // True when [gpa, gpa + length) lies entirely in one region (length 0 is in range at any
  // address from a region's start up to its end).
  bool contains(std::uint64_t gpa, std::uint64_t length) const;
  // Host pointer to [gpa, gpa + length), or nullptr when the range is not entirely in RAM.
  std::uint8_t* host_pointer(std::uint64_t gpa, std::uint64_t length) const;

  VmmStatus write(std::uint64_t gpa, std::span<const std::uint8_t> bytes);
  VmmStatus read(std::uint64_t gpa, std::span<std::uint8_t> bytes) const;
  VmmStatus fill(std::uint64_t gpa, std::uint64_t length, std::uint8_t value);

 private:
  GuestMemory(std::vector<RamRegion> regions, Mapping mapping)
      : regions_(std::move(regions)), mapping_(std::move(mapping)) {}
  const RamRegion* find(std::uint64_t gpa, std::uint64_t length) const;

  std::vector<RamRegion> regions_;
  Mapping mapping_;
};

}  // namespace vmm
