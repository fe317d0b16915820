#include "devices/isa/pc_testdev.h"

namespace devices {

void PcTestdev::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = offset + i < kIoportSize ? bytes_[offset + i] : 0;
  }
}

void PcTestdev::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (offset + i < kIoportSize) {
      bytes_[offset + i] = data[i];
    }
  }
}

std::uint32_t PcTestdev::value() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::uint32_t>(bytes_[0]) | static_cast<std::uint32_t>(bytes_[1]) << 8 |
         static_cast<std::uint32_t>(bytes_[2]) << 16 | static_cast<std::uint32_t>(bytes_[3]) << 24;
}

void PcTestdevIrqLines::read(std::uint64_t, std::span<std::uint8_t> data) {
  for (auto& b : data) {
    b = 0;
  }
}

void PcTestdevIrqLines::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (offset + i < kLineCount) {
      set_line_(static_cast<std::uint32_t>(offset + i), data[i] != 0);
    }
  }
}

void PcTestdevIomem::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = offset + i < kSize ? bytes_[offset + i] : 0;
  }
}

void PcTestdevIomem::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (offset + i < kSize) {
      bytes_[offset + i] = data[i];
    }
  }
}

}  // namespace devices
