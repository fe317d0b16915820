#include "devices/isa/post_code.h"

namespace devices {

void PostCode::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = offset + i == 0 ? last_.load() : 0xff;
  }
}

void PostCode::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset == 0 && !data.empty()) {
    last_.store(data[0]);
  }
  writes_.fetch_add(1);
}

}  // namespace devices
