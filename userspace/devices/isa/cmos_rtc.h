// MC146818 real-time clock with its CMOS RAM, as on PC/AT port 0x70 (index) / 0x71 (data).
//
// Models: the index register (bit 7 = NMI disable, remembered but without effect), 128 bytes
//   of CMOS; registers 0x00-0x09 (seconds, alarm seconds, minutes, alarm minutes, hours, alarm
//   hours, day of week, day of month, month, year) and the control registers A-D.
// Works: the time is the host's (UTC) plus an offset the guest sets by writing the time
//   registers; BCD or binary (register B DM) and 12- or 24-hour (register B 24/12) formats;
//   register A's update-in-progress bit is never set (reads are always consistent); register D
//   reports valid RAM and time; register C reads as 0 (no interrupt flags).  The machine fills
//   the rest of CMOS at start: base and extended memory sizes (0x15-0x18, 0x30-0x31), memory
//   above 16 MiB in 64 KiB units (0x34-0x35), above 4 GiB (0x5b-0x5d), the CPU count minus one
//   (0x5f), the century (0x32).
// Missing: interrupts (periodic, alarm, update-ended; IRQ 8 is never raised), the SET bit's
//   freezing of updates, divider control, the second bank of 128 bytes.
//
// Legend (locking): mutex_ guards all state.  The clock callback may be called with it held.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"

namespace devices {

class CmosRtc final : public bus::BusDevice {
 public:
  // Seconds since the epoch, UTC (tests pass a fixed clock).
  using Clock = std::function<std::int64_t()>;

  static constexpr std::uint64_t kIndexOffset = 0;
  static constexpr std::uint64_t kDataOffset = 1;
  static constexpr std::uint64_t kSize = 2;

  static constexpr std::uint8_t kSeconds = 0x00;
  static constexpr std::uint8_t kMinutes = 0x02;
  static constexpr std::uint8_t kHours = 0x04;
  static constexpr std::uint8_t kDayOfWeek = 0x06;
  static constexpr std::uint8_t kDayOfMonth = 0x07;
  static constexpr std::uint8_t kMonth = 0x08;
  static constexpr std::uint8_t kYear = 0x09;
  static constexpr std::uint8_t kRegA = 0x0a;
  static constexpr std::uint8_t kRegB = 0x0b;
  static constexpr std::uint8_t kRegC = 0x0c;
  static constexpr std::uint8_t kRegD = 0x0d;
  static constexpr std::uint8_t kCentury = 0x32;

  static constexpr std::uint8_t kRegB24Hour = 0x02;
  static constexpr std::uint8_t kRegBBinary = 0x04;

  explicit CmosRtc(Clock clock);

  // Machine setup: a byte of CMOS RAM (index < 128), e.g. the memory-size registers.
  void set_ram(std::uint8_t index, std::uint8_t value);
  // Writes the memory-size and CPU-count registers PC firmware and OSes read.
  void set_memory_size(std::uint64_t below_4g_bytes, std::uint64_t above_4g_bytes);
  void set_cpu_count(unsigned cpus);

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::uint8_t read_register(std::uint8_t index);
  void write_register(std::uint8_t index, std::uint8_t value);
  std::tm guest_time() const;
  std::uint8_t encode(int value) const;
  int decode(std::uint8_t value) const;

  mutable std::mutex mutex_;
  Clock clock_;
  std::int64_t offset_seconds_ = 0;  // guest time - host time
  std::uint8_t index_ = 0;
  std::array<std::uint8_t, 128> ram_{};
};

}  // namespace devices
