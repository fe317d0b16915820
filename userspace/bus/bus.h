// An address bus: a range map from [base, base + length) to the device that decodes it.
//
// One class serves both the x86 I/O port space (Bus(0x10000)) and, later, MMIO.  A device does
// not know where it lives: it sees read(offset, data) / write(offset, data) with offsets relative
// to its own base, and the machine file decides the base (Firecracker's shape).
//
// Decoding rules:
// - An access that lies entirely inside one device's range goes to that device, once.
// - An access that touches no device is *unassigned*: reads return all-ones (0xff bytes), writes
//   are dropped.  Each such access increments a counter, so tests and the debug dump can see
//   what the guest poked at.
// - An access that straddles a range boundary is split into single-byte accesses, each decoded
//   on its own (what an ISA bus does with a wide cycle to narrow devices).
//
// Ranges can come and go while the guest runs (a PCI BAR moves when the guest programs it), so
// the map sits behind a reader/writer lock.
//
// Legend (locking): map_mutex_ guards ranges_; lookups take it shared, add()/remove() exclusive.
// A device is called after the lock is dropped, so a device access may itself move ranges
// (a PCI configuration write that remaps a BAR).  Devices outlive the bus and serialize their
// own state; a range removed while another vCPU is inside its device finishes that access.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <span>
#include <string>

#include "vmm/result.h"

namespace bus {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // offset: relative to the device's base.  data.size(): the access width (1, 2, 4; 8 on MMIO).
  // Multi-byte values are little-endian in data.
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> data) = 0;
  virtual void write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
};

enum class BusError {
  kEmptyRange,   // length 0
  kBeyondLimit,  // base + length past the bus's address limit (or wrapping around)
  kOverlap,      // intersects a range already assigned
};

const char* describe(BusError error);

class Bus {
 public:
  // Addresses run from 0 to limit - 1 (0x10000 for I/O ports).
  explicit Bus(std::uint64_t limit) : limit_(limit) {}
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // The device must outlive the bus (the machine owns both).  name appears in debug output.
  vmm::Status<BusError> add(std::uint64_t base, std::uint64_t length, BusDevice& device,
                            std::string name);
  // Removes the range that starts at base and belongs to device; false when there is none.
  bool remove(std::uint64_t base, const BusDevice& device);

  void read(std::uint64_t address, std::span<std::uint8_t> data);
  void write(std::uint64_t address, std::span<const std::uint8_t> data);

  std::uint64_t unassigned_reads() const { return unassigned_reads_.load(); }
  std::uint64_t unassigned_writes() const { return unassigned_writes_.load(); }

 private:
  struct Range {
    std::uint64_t length;
    BusDevice* device;
    std::string name;
  };
  enum class Lookup { kDevice, kUnassigned, kSplit };
  // Under the shared lock: where an access of length bytes at address goes.
  Lookup lookup(std::uint64_t address, std::uint64_t length, BusDevice** device,
                std::uint64_t* offset) const;
  // The range containing address, or nullptr; base_out receives its base.  Lock held.
  const Range* find(std::uint64_t address, std::uint64_t* base_out) const;
  bool touches_any(std::uint64_t address, std::uint64_t length) const;

  std::uint64_t limit_;
  mutable std::shared_mutex map_mutex_;
  std::map<std::uint64_t, Range> ranges_;  // keyed by base
  std::atomic<std::uint64_t> unassigned_reads_{0};
  std::atomic<std::uint64_t> unassigned_writes_{0};
};

}  // namespace bus
