#include "devices/isa/debug_exit.h"

#include <algorithm>

namespace devices {

void DebugExit::read(std::uint64_t /*offset*/, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
}

void DebugExit::write(std::uint64_t /*offset*/, std::span<const std::uint8_t> data) {
  std::uint32_t value = 0;
  const std::size_t width = std::min<std::size_t>(data.size(), 4);
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint32_t>(data[i]) << (8 * i);
  }
  if (request_) {
    request_(status_for_value(value));
  }
}

}  // namespace devices
