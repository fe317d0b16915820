// The reset control register at port 0xcf9 (as on Intel PIIX/ICH south bridges), which the
// FADT names as the ACPI reset register.
//
// Models: one byte-wide register (offset 0).  It shares the four ports 0xcf8-0xcfb with PCI
//   configuration mechanism #1, whose address window (bus/pci.h) hands it only byte accesses
//   to 0xcf9, as the PIIX3 decodes them; wider accesses here read all-ones and are dropped, and
//   can never reset.
// Works: writing a byte with bit 2 (RST_CPU) set asks the machine to reset (bit 1, SYS_RST, a
//   hard reset, makes no difference here); the other bits read back.
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
  static constexpr std::uint64_t kSize = 1;
  static constexpr std::uint64_t kRegisterOffset = 0;
  static constexpr std::uint8_t kResetCpu = 0x04;

  explicit ResetControl(ResetRequest reset) : reset_(std::move(reset)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  ResetRequest reset_;
  std::atomic<std::uint8_t> value_{0};
};

}  // namespace devices
