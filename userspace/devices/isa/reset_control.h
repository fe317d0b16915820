// The reset control register at port 0xcf9 (as on Intel PIIX/ICH south bridges), which the
// FADT names as the ACPI reset register.
//
// Models: a window of four ports 0xcf8-0xcfb in which only a one-byte access at offset 1 is
//   the register; wider accesses at 0xcf8 belong to PCI configuration mechanism #1, which this
//   machine does not have yet, so they read all-ones and are dropped, and can never reset.
// Works: writing a byte with bit 2 (RST_CPU) set asks the machine to reset (bit 1, SYS_RST, a
//   hard reset, makes no difference here); the other bits read back.
// Missing: PCI configuration space (another issue puts a host bridge at 0xcf8).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>

#include "bus/bus.h"

namespace devices {

class ResetControl final : public bus::BusDevice {
 public:
  using ResetRequest = std::function<void()>;
  static constexpr std::uint64_t kSize = 4;
  static constexpr std::uint64_t kRegisterOffset = 1;
  static constexpr std::uint8_t kResetCpu = 0x04;

  explicit ResetControl(ResetRequest reset) : reset_(std::move(reset)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  ResetRequest reset_;
  std::atomic<std::uint8_t> value_{0};
};

}  // namespace devices
