// pc-testdev: QEMU's test device for kvm-unit-tests: its I/O scratch register, its IRQ-line
// ports and its MMIO scratch area.
//
// PcTestdev models the 32-bit scratch register at port 0xe0 (4 ports), with byte lanes as in QEMU:
//   port 0xe0 + k is byte k of the register.
// Works: a write of width N at offset k replaces bytes k..k+N-1 and leaves the others; a read
//   of width N at offset k returns bytes k..k+N-1.  So outl 0x12345678 then inb 0xe1 gives
//   0x56, and outb 0xab at 0xe0 then inl gives 0x123456ab.  Bytes that would lie past the
//   register (a wide access at 0xe3) read as 0 and are dropped on write.
// PcTestdevIomem models the 64 KiB "iomem" scratch area QEMU maps at guest-physical 0xff000000:
//   plain memory behind MMIO exits.  A write of width N at offset k stores bytes k..k+N-1 and a
//   read returns what was last stored there (zero-filled at start), at every width and
//   alignment; bytes past the end read as 0 and are dropped on write.
// PcTestdevIrqLines models the 24 IRQ-line ports QEMU puts at 0x2000: a byte written at offset n
//   drives interrupt line n (ISA IRQ / GSI n) to the level (value != 0), which is how
//   kvm-unit-tests' ioapic and pic tests raise and lower interrupts.  A wider write is split
//   into its bytes, each driving its own line (offset n + k gets byte k); bytes past line 23 are
//   dropped.  Reads return 0 (QEMU's device has nothing to read).  QEMU's region is 24 ports
//   too but only lines 0-15 work there (ISA IRQs); here 16-23 reach the IOAPIC-only GSIs.  The machine decides what a
//   line is (KVM_IRQ_LINE on GSI n); the device only reports (line, level).
// Missing: pc-testdev's other functions: the io-delay port 0xe4 and the flush-page port 0xe8.
//
// Legend (locking): PcTestdev's and PcTestdevIomem's mutex_ guards their bytes_;
// PcTestdevIrqLines has no state of its own (the callback must be callable from any vCPU
// thread).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"

namespace devices {

class PcTestdev final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kIoportSize = 4;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint32_t value() const;

 private:
  mutable std::mutex mutex_;
  std::array<std::uint8_t, kIoportSize> bytes_{};
};

class PcTestdevIrqLines final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kLineCount = 24;
  using SetLine = std::function<void(std::uint32_t line, bool level)>;

  explicit PcTestdevIrqLines(SetLine set_line) : set_line_(std::move(set_line)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  SetLine set_line_;
};

class PcTestdevIomem final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSize = 0x10000;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::mutex mutex_;
  std::array<std::uint8_t, kSize> bytes_{};
};

}  // namespace devices
