// Guest RAM: one anonymous host mapping, addressed by guest-physical offset.
//
// Every access a device or the loader makes on behalf of the guest goes through a bounds check
// here; a range that is not entirely inside RAM is refused, never clamped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace vmm {

class GuestMemory {
 public:
  // Maps size bytes of zeroed anonymous memory for guest-physical [base, base + size).
  static VmmResult<GuestMemory> allocate(std::uint64_t base, std::uint64_t size);

  std::uint64_t base() const { return base_; }
  std::uint64_t size() const { return mapping_.length(); }
  void* host_base() const { return mapping_.get(); }

  // True when [gpa, gpa + length) lies entirely in guest RAM (length 0 is in range at any
  // address up to the end).
  bool contains(std::uint64_t gpa, std::uint64_t length) const;
  // Host pointer to [gpa, gpa + length), or nullptr when the range is not entirely in RAM.
  std::uint8_t* host_pointer(std::uint64_t gpa, std::uint64_t length) const;

  VmmStatus write(std::uint64_t gpa, std::span<const std::uint8_t> bytes);
  VmmStatus read(std::uint64_t gpa, std::span<std::uint8_t> bytes) const;
  VmmStatus fill(std::uint64_t gpa, std::uint64_t length, std::uint8_t value);

 private:
  GuestMemory(std::uint64_t base, Mapping mapping) : base_(base), mapping_(std::move(mapping)) {}
  std::uint64_t base_;
  Mapping mapping_;
};

}  // namespace vmm
