#include "devices/acpi/pm.h"

namespace devices {

AcpiPm::AcpiPm(std::uint8_t s5_sleep_type, PowerOff power_off, Clock clock)
    : s5_sleep_type_(s5_sleep_type),
      power_off_(std::move(power_off)),
      clock_(std::move(clock)),
      start_ns_(clock_()) {}

std::uint32_t AcpiPm::timer() const {
  const std::uint64_t ns = clock_() - start_ns_;
  // ticks = ns * 3579545 / 1e9, split so the product cannot overflow for centuries.
  const std::uint64_t seconds = ns / 1000000000ull;
  const std::uint64_t rest = ns % 1000000000ull;
  const std::uint64_t ticks = seconds * kTimerHz + rest * kTimerHz / 1000000000ull;
  return static_cast<std::uint32_t>(ticks & 0xffffff);
}

std::uint8_t AcpiPm::read_byte(std::uint64_t offset) const {
  auto byte_of = [](std::uint32_t value, std::uint64_t index) {
    return static_cast<std::uint8_t>(value >> (8 * index));
  };
  if (offset < kPm1EnableOffset) {
    return byte_of(status_, offset - kPm1StatusOffset);
  }
  if (offset < kPm1ControlOffset) {
    return byte_of(enable_, offset - kPm1EnableOffset);
  }
  if (offset < kPm1ControlOffset + 2) {
    // SLP_EN is write-only and reads as 0.
    return byte_of(control_ & ~kSleepEnable, offset - kPm1ControlOffset);
  }
  if (offset >= kPmTimerOffset && offset < kPmTimerOffset + 4) {
    return byte_of(timer(), offset - kPmTimerOffset);
  }
  return 0xff;
}

void AcpiPm::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == kPmTimerOffset && data.size() == 4) {
    // One sample for all four bytes, so a dword read is consistent.
    const std::uint32_t t = timer();
    for (int i = 0; i < 4; ++i) {
      data[i] = static_cast<std::uint8_t>(t >> (8 * i));
    }
    return;
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = read_byte(offset + i);
  }
}

void AcpiPm::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  bool control_written = false;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    const std::uint16_t value = data[i];
    if (at < kPm1EnableOffset) {
      status_ &= static_cast<std::uint16_t>(~(value << (8 * (at - kPm1StatusOffset))));
    } else if (at < kPm1ControlOffset) {
      const unsigned shift = 8 * (at - kPm1EnableOffset);
      enable_ = static_cast<std::uint16_t>((enable_ & ~(0xff << shift)) | (value << shift));
    } else if (at < kPm1ControlOffset + 2) {
      const unsigned shift = 8 * (at - kPm1ControlOffset);
      control_ = static_cast<std::uint16_t>((control_ & ~(0xff << shift)) | (value << shift));
      control_written = true;
    }
    // The PM timer is read-only.
  }
  if (!control_written) {
    return;
  }
  control_ |= kSciEnable;  // no SMI port: the machine never leaves ACPI mode
  if (control_ & kSleepEnable) {
    const unsigned sleep_type = (control_ & kSleepTypeMask) >> kSleepTypeShift;
    control_ &= ~kSleepEnable;
    if (sleep_type == s5_sleep_type_ && power_off_) {
      power_off_();
    }
  }
}

}  // namespace devices
