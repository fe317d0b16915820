#include "devices/isa/reset_control.h"

#include <algorithm>

namespace devices {

void ResetControl::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  if (offset == kRegisterOffset && data.size() == 1) {
    data[0] = value_.load() & ~kResetCpu;  // RST_CPU is write-only
    return;
  }
  std::fill(data.begin(), data.end(), 0xff);
}

void ResetControl::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset != kRegisterOffset || data.size() != 1) {
    return;
  }
  value_.store(data[0]);
  if ((data[0] & kResetCpu) && reset_) {
    reset_();
  }
}

}  // namespace devices
