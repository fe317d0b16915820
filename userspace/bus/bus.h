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
// Legend (locking): ranges are added while the machine is built, before any vCPU thread starts;
// afterwards the map is only read, so lookups take no lock.  Devices serialize their own state.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
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
  // The range containing address, or nullptr; base_out receives its base.
  const Range* find(std::uint64_t address, std::uint64_t* base_out) const;
  bool touches_any(std::uint64_t address, std::uint64_t length) const;

  std::uint64_t limit_;
  std::map<std::uint64_t, Range> ranges_;  // keyed by base
  std::atomic<std::uint64_t> unassigned_reads_{0};
  std::atomic<std::uint64_t> unassigned_writes_{0};
};

}  // namespace bus
