#include "devices/isa/fw_cfg.h"

namespace devices {

namespace {

std::vector<std::uint8_t> le_bytes(std::uint64_t value, int width) {
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < width; ++i) {
    bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  return bytes;
}

}  // namespace

FwCfg::FwCfg(std::uint64_t ram_bytes, unsigned cpus) {
  items_[kSignature] = {'Q', 'E', 'M', 'U'};
  items_[kId] = le_bytes(1, 4);  // traditional interface only, no DMA
  items_[kRamSize] = le_bytes(ram_bytes, 8);
  items_[kCpuCount] = le_bytes(cpus, 2);
  items_[kMaxCpus] = le_bytes(cpus, 2);
}

std::uint8_t FwCfg::next_byte() {
  auto it = items_.find(selector_);
  if (it == items_.end() || position_ >= it->second.size()) {
    return 0;
  }
  return it->second[position_++];
}

void FwCfg::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    if (at == kDataOffset) {
      data[i] = next_byte();
    } else if (at == kSelectorOffset) {
      data[i] = static_cast<std::uint8_t>(selector_);  // reads back the selector's low byte
    } else {
      data[i] = 0xff;
    }
  }
}

void FwCfg::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == kSelectorOffset && data.size() >= 2) {
    selector_ = static_cast<std::uint16_t>(data[0] | (data[1] << 8));
    position_ = 0;
  } else if (offset == kSelectorOffset && data.size() == 1) {
    selector_ = data[0];
    position_ = 0;
  }
  // Writes to the data port are ignored (the traditional interface is read-only since QEMU 2.4).
}

}  // namespace devices
