#include "devices/isa/cmos_rtc.h"

#include <algorithm>

namespace devices {

namespace {

constexpr std::uint8_t kIndexMask = 0x7f;  // bit 7 of the index port is the NMI mask
constexpr std::uint8_t kRegADefault = 0x26;  // 32.768 kHz time base, 1024 Hz rate
constexpr std::uint8_t kRegDValidRam = 0x80;
constexpr std::uint8_t kHourPm = 0x80;  // 12-hour mode

std::int64_t days_from_civil(int y, int m, int d) {
  // Days since 1970-01-01 of a proleptic Gregorian date (m 1-12).
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = static_cast<int>(y - era * 400);
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::int64_t to_epoch(const std::tm& t) {
  return days_from_civil(t.tm_year + 1900, t.tm_mon + 1, t.tm_mday) * 86400 + t.tm_hour * 3600 +
         t.tm_min * 60 + t.tm_sec;
}

}  // namespace

CmosRtc::CmosRtc(Clock clock) : clock_(std::move(clock)) {
  ram_[kRegA] = kRegADefault;
  ram_[kRegB] = kRegB24Hour;  // BCD, 24-hour: what PC firmware sets
  ram_[kRegD] = kRegDValidRam;
}

void CmosRtc::set_ram(std::uint8_t index, std::uint8_t value) {
  std::lock_guard lock(mutex_);
  ram_[index & kIndexMask] = value;
}

void CmosRtc::set_memory_size(std::uint64_t below_4g, std::uint64_t above_4g) {
  std::lock_guard lock(mutex_);
  constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * kKiB;
  // Base memory in KiB (640).
  ram_[0x15] = 640 & 0xff;
  ram_[0x16] = 640 >> 8;
  // Extended memory from 1 MiB, in KiB, capped at 0xffff (just under 64 MiB).
  const std::uint64_t ext_kib =
      below_4g > kMiB ? std::min<std::uint64_t>((below_4g - kMiB) / kKiB, 0xffff) : 0;
  ram_[0x17] = ram_[0x30] = static_cast<std::uint8_t>(ext_kib);
  ram_[0x18] = ram_[0x31] = static_cast<std::uint8_t>(ext_kib >> 8);
  // Memory from 16 MiB to the PCI hole, in 64 KiB units.
  const std::uint64_t above_16m =
      below_4g > 16 * kMiB ? std::min<std::uint64_t>((below_4g - 16 * kMiB) >> 16, 0xffff) : 0;
  ram_[0x34] = static_cast<std::uint8_t>(above_16m);
  ram_[0x35] = static_cast<std::uint8_t>(above_16m >> 8);
  // Memory above 4 GiB, in 64 KiB units (three bytes).
  const std::uint64_t high = std::min<std::uint64_t>(above_4g >> 16, 0xffffff);
  ram_[0x5b] = static_cast<std::uint8_t>(high);
  ram_[0x5c] = static_cast<std::uint8_t>(high >> 8);
  ram_[0x5d] = static_cast<std::uint8_t>(high >> 16);
}

void CmosRtc::set_cpu_count(unsigned cpus) {
  std::lock_guard lock(mutex_);
  ram_[0x5f] = static_cast<std::uint8_t>(cpus > 0 ? cpus - 1 : 0);
}

void CmosRtc::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    if (at == kIndexOffset) {
      data[i] = 0xff;  // the index port is write-only
    } else if (at == kDataOffset) {
      data[i] = read_register(index_);
    } else {
      data[i] = 0xff;
    }
  }
}

void CmosRtc::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    if (at == kIndexOffset) {
      index_ = data[i] & kIndexMask;
    } else if (at == kDataOffset) {
      write_register(index_, data[i]);
    }
  }
}

std::tm CmosRtc::guest_time() const {
  const std::time_t now = static_cast<std::time_t>(clock_() + offset_seconds_);
  std::tm t{};
  gmtime_r(&now, &t);
  return t;
}

std::uint8_t CmosRtc::encode(int value) const {
  if (ram_[kRegB] & kRegBBinary) {
    return static_cast<std::uint8_t>(value);
  }
  return static_cast<std::uint8_t>(((value / 10) << 4) | (value % 10));
}

int CmosRtc::decode(std::uint8_t value) const {
  if (ram_[kRegB] & kRegBBinary) {
    return value;
  }
  return (value >> 4) * 10 + (value & 0x0f);
}

std::uint8_t CmosRtc::read_register(std::uint8_t index) {
  const bool is_time = index <= kYear && index != 1 && index != 3 && index != 5;
  if (is_time || index == kCentury) {
    const std::tm t = guest_time();
    switch (index) {
      case kSeconds:
        return encode(t.tm_sec);
      case kMinutes:
        return encode(t.tm_min);
      case kHours: {
        if (ram_[kRegB] & kRegB24Hour) {
          return encode(t.tm_hour);
        }
        const int h12 = t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12;
        return static_cast<std::uint8_t>(encode(h12) | (t.tm_hour >= 12 ? kHourPm : 0));
      }
      case kDayOfWeek:
        return encode(t.tm_wday + 1);
      case kDayOfMonth:
        return encode(t.tm_mday);
      case kMonth:
        return encode(t.tm_mon + 1);
      case kYear:
        return encode(t.tm_year % 100);
      case kCentury:
        return encode((t.tm_year + 1900) / 100);
    }
  }
  switch (index) {
    case kRegA:
      return ram_[kRegA] & 0x7f;  // UIP never set
    case kRegC:
      return 0;  // no interrupt flags; reading clears them
    case kRegD:
      return kRegDValidRam;
    default:
      return ram_[index];
  }
}

void CmosRtc::write_register(std::uint8_t index, std::uint8_t value) {
  const bool is_time = index <= kYear && index != 1 && index != 3 && index != 5;
  if (!is_time && index != kCentury) {
    switch (index) {
      case kRegC:
      case kRegD:
        return;  // read-only
      case kRegA:
        ram_[kRegA] = value & 0x7f;
        return;
      default:
        ram_[index] = value;  // alarms, register B, NVRAM
        return;
    }
  }
  // Setting a time field: change that field of the current guest time, keep the others.
  std::tm t = guest_time();
  switch (index) {
    case kSeconds:
      t.tm_sec = decode(value & 0x7f);
      break;
    case kMinutes:
      t.tm_min = decode(value & 0x7f);
      break;
    case kHours:
      if (ram_[kRegB] & kRegB24Hour) {
        t.tm_hour = decode(value & 0x3f);
      } else {
        const int h12 = decode(value & 0x7f) % 12;
        t.tm_hour = h12 + ((value & kHourPm) ? 12 : 0);
      }
      break;
    case kDayOfWeek:
      return;  // derived from the date
    case kDayOfMonth:
      t.tm_mday = decode(value);
      break;
    case kMonth:
      t.tm_mon = decode(value) - 1;
      break;
    case kYear:
      t.tm_year = (t.tm_year + 1900) / 100 * 100 + decode(value) - 1900;
      break;
    case kCentury:
      t.tm_year = decode(value) * 100 + (t.tm_year + 1900) % 100 - 1900;
      break;
  }
  if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 ||
      t.tm_min > 59 || t.tm_sec > 59) {
    return;  // a nonsense value; a real part would count garbage, we keep the time
  }
  offset_seconds_ = to_epoch(t) - clock_();
}

}  // namespace devices
