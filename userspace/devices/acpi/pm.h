// ACPI fixed-hardware power management registers (ACPI spec, 4.8 "fixed hardware"), the
// PM1a event and control blocks and the PM timer, in one I/O window:
//
//   offset 0  PM1a_STS   (16 bit) write 1 to clear; TMR_STS (bit 0), WAK_STS (bit 15)
//   offset 2  PM1a_EN    (16 bit)
//   offset 4  PM1a_CNT   (16 bit) SCI_EN (bit 0) always 1, SLP_TYP (bits 10-12), SLP_EN (bit 13)
//   offset 8  PM_TMR     (32 bit) 24-bit counter at 3.579545 MHz
//
// Works: writing PM1a_CNT with SLP_EN set and SLP_TYP equal to the \_S5 value of the DSDT
//   calls the power-off callback; the PM timer counts from the host's monotonic clock, so it
//   runs at the right rate whatever the guest does.  Byte and word accesses reach the parts of
//   each register they cover.
// Missing: the SCI (no event ever raises it: no power button, no timer overflow interrupt),
//   sleep states other than S5 (writes with other SLP_TYP values are ignored), GPE blocks.
//
// Legend (locking): mutex_ guards status_, enable_ and control_.  Callbacks run with it held.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"

namespace devices {

class AcpiPm final : public bus::BusDevice {
 public:
  using PowerOff = std::function<void()>;
  using Clock = std::function<std::uint64_t()>;  // nanoseconds, monotonic

  static constexpr std::uint64_t kPm1StatusOffset = 0;
  static constexpr std::uint64_t kPm1EnableOffset = 2;
  static constexpr std::uint64_t kPm1ControlOffset = 4;
  static constexpr std::uint64_t kPmTimerOffset = 8;
  static constexpr std::uint64_t kSize = 12;

  static constexpr std::uint16_t kSciEnable = 1u << 0;
  static constexpr unsigned kSleepTypeShift = 10;
  static constexpr std::uint16_t kSleepTypeMask = 7u << kSleepTypeShift;
  static constexpr std::uint16_t kSleepEnable = 1u << 13;
  static constexpr std::uint64_t kTimerHz = 3579545;

  AcpiPm(std::uint8_t s5_sleep_type, PowerOff power_off, Clock clock);

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::uint8_t read_byte(std::uint64_t offset) const;
  std::uint32_t timer() const;

  std::mutex mutex_;
  std::uint8_t s5_sleep_type_;
  PowerOff power_off_;
  Clock clock_;
  std::uint64_t start_ns_;
  std::uint16_t status_ = 0;
  std::uint16_t enable_ = 0;
  std::uint16_t control_ = kSciEnable;
};

}  // namespace devices
