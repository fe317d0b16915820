#include "devices/isa/fw_cfg.h"

#include <algorithm>

namespace devices {

namespace {

std::vector<std::uint8_t> le_bytes(std::uint64_t value, int width) {
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < width; ++i) {
    bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  return bytes;
}

void put_be(std::vector<std::uint8_t>& out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
}

std::uint64_t be(std::span<const std::uint8_t> bytes) {
  std::uint64_t v = 0;
  for (std::uint8_t b : bytes) {
    v = (v << 8) | b;
  }
  return v;
}

}  // namespace

FwCfg::FwCfg(std::uint64_t ram_bytes, unsigned cpus, vmm::GuestMemory* dma_memory)
    : dma_memory_(dma_memory) {
  items_[kSignature] = {'Q', 'E', 'M', 'U'};
  items_[kId] = le_bytes(kIdTraditional | (dma_memory ? kIdDma : 0), 4);
  items_[kRamSize] = le_bytes(ram_bytes, 8);
  items_[kCpuCount] = le_bytes(cpus, 2);
  items_[kMaxCpus] = le_bytes(cpus, 2);
  rebuild_directory();
}

bool FwCfg::add_file(const std::string& name, std::vector<std::uint8_t> data) {
  if (name.empty() || name.size() >= kFileNameSize || name.find('\0') != std::string::npos) {
    return false;
  }
  if (!files_.count(name) && files_.size() >= kMaxFiles) {
    return false;
  }
  files_[name] = std::move(data);
  rebuild_directory();
  return true;
}

std::optional<std::uint16_t> FwCfg::file_selector(const std::string& name) const {
  auto it = file_selectors_.find(name);
  if (it == file_selectors_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void FwCfg::rebuild_directory() {
  for (const auto& [name, selector] : file_selectors_) {
    items_.erase(selector);
  }
  file_selectors_.clear();
  std::vector<std::uint8_t> dir;
  put_be(dir, files_.size(), 4);
  std::uint16_t selector = kFirstFile;
  for (const auto& [name, data] : files_) {
    put_be(dir, data.size(), 4);
    put_be(dir, selector, 2);
    put_be(dir, 0, 2);
    std::uint8_t padded[kFileNameSize] = {};
    std::copy(name.begin(), name.end(), padded);
    dir.insert(dir.end(), padded, padded + kFileNameSize);
    items_[selector] = data;
    file_selectors_[name] = selector;
    ++selector;
  }
  items_[kFileDir] = std::move(dir);
}

void FwCfg::select(std::uint16_t key) {
  selector_ = key;
  offset_ = 0;
}

std::uint8_t FwCfg::next_byte() {
  auto it = items_.find(selector_);
  if (it == items_.end() || offset_ >= it->second.size()) {
    return 0;
  }
  return it->second[offset_++];
}

void FwCfg::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    if (at == kDataOffset) {
      data[i] = next_byte();
    } else if (at == kSelectorOffset) {
      data[i] = static_cast<std::uint8_t>(selector_);  // reads back the selector's low byte
    } else if (dma_memory_ && at >= kDmaHighOffset && at < kDmaHighOffset + 8) {
      data[i] = static_cast<std::uint8_t>(kDmaSignature >> (8 * (7 - (at - kDmaHighOffset))));
    } else {
      data[i] = 0xff;
    }
  }
}

void FwCfg::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == kSelectorOffset && data.size() >= 2) {
    select(static_cast<std::uint16_t>(data[0] | (data[1] << 8)));
  } else if (offset == kSelectorOffset && data.size() == 1) {
    select(data[0]);
  } else if (dma_memory_ && offset == kDmaHighOffset && data.size() == 4) {
    dma_high_ = static_cast<std::uint32_t>(be(data));
  } else if (dma_memory_ && offset == kDmaLowOffset && data.size() == 4) {
    const std::uint64_t access = (static_cast<std::uint64_t>(dma_high_) << 32) | be(data);
    dma_high_ = 0;  // the next access may give the low half only
    dma_transfer(access);
  }
  // Everything else is ignored: data-port writes (read-only interface, as QEMU since 2.4) and
  // DMA-address accesses of other widths.
}

void FwCfg::dma_transfer(std::uint64_t access_addr) {
  std::uint8_t access[16];
  if (!dma_memory_->read(access_addr, access)) {
    dma_errors_.fetch_add(1);
    return;
  }
  const auto control = static_cast<std::uint32_t>(be(std::span(access, 4)));
  const auto length = static_cast<std::uint32_t>(be(std::span(access + 4, 4)));
  const std::uint64_t address = be(std::span(access + 8, 8));
  const std::uint32_t result = dma_run(control, length, address);
  if (result & kDmaError) {
    dma_errors_.fetch_add(1);
  }
  const std::uint8_t done[4] = {0, 0, 0, static_cast<std::uint8_t>(result & kDmaError)};
  (void)dma_memory_->write(access_addr, done);
}

std::uint32_t FwCfg::dma_run(std::uint32_t control, std::uint32_t length, std::uint64_t address) {
  if (control & kDmaSelect) {
    select(static_cast<std::uint16_t>(control >> 16));
  }
  if (control & kDmaWrite) {
    return kDmaError;  // no item is writable
  }
  if (!(control & (kDmaRead | kDmaSkip))) {
    return 0;  // a bare SELECT
  }
  if ((control & kDmaRead) && address + length < address) {
    return kDmaError;  // wraps around the address space
  }
  auto it = items_.find(selector_);
  const std::size_t size = it == items_.end() ? 0 : it->second.size();
  const std::size_t available = offset_ < size ? size - offset_ : 0;
  const std::size_t from_item = std::min<std::size_t>(length, available);
  if (control & kDmaRead) {
    if (from_item &&
        !dma_memory_->write(address, std::span(it->second).subspan(offset_, from_item))) {
      return kDmaError;
    }
    if (length > from_item && !dma_memory_->fill(address + from_item, length - from_item, 0)) {
      return kDmaError;
    }
  }
  offset_ += from_item;
  return 0;
}

}  // namespace devices
