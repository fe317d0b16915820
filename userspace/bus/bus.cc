#include "bus/bus.h"

#include <algorithm>
#include <mutex>

namespace bus {

const char* describe(BusError error) {
  switch (error) {
    case BusError::kEmptyRange:
      return "empty range";
    case BusError::kBeyondLimit:
      return "range extends past the end of the address space";
    case BusError::kOverlap:
      return "range overlaps a device already on the bus";
  }
  return "unknown bus error";
}

vmm::Status<BusError> Bus::add(std::uint64_t base, std::uint64_t length, BusDevice& device,
                               std::string name) {
  if (length == 0) {
    return BusError::kEmptyRange;
  }
  if (base >= limit_ || length > limit_ - base) {
    return BusError::kBeyondLimit;
  }
  std::unique_lock lock(map_mutex_);
  if (touches_any(base, length)) {
    return BusError::kOverlap;
  }
  ranges_.emplace(base, Range{length, &device, std::move(name)});
  return vmm::kOk;
}

bool Bus::remove(std::uint64_t base, const BusDevice& device) {
  std::unique_lock lock(map_mutex_);
  auto it = ranges_.find(base);
  if (it == ranges_.end() || it->second.device != &device) {
    return false;
  }
  ranges_.erase(it);
  return true;
}

Bus::Lookup Bus::lookup(std::uint64_t address, std::uint64_t length, BusDevice** device,
                        std::uint64_t* offset) const {
  std::shared_lock lock(map_mutex_);
  std::uint64_t base = 0;
  const Range* range = find(address, &base);
  if (range != nullptr && length <= range->length - (address - base)) {
    *device = range->device;
    *offset = address - base;
    return Lookup::kDevice;
  }
  if (address >= limit_ ||
      !touches_any(address, std::min<std::uint64_t>(length, limit_ - address))) {
    return Lookup::kUnassigned;
  }
  return Lookup::kSplit;
}

const Bus::Range* Bus::find(std::uint64_t address, std::uint64_t* base_out) const {
  auto it = ranges_.upper_bound(address);
  if (it == ranges_.begin()) {
    return nullptr;
  }
  --it;
  if (address - it->first >= it->second.length) {
    return nullptr;
  }
  *base_out = it->first;
  return &it->second;
}

bool Bus::touches_any(std::uint64_t address, std::uint64_t length) const {
  // The last range starting below address + length is the only candidate besides one that
  // starts before address and runs into it.
  const std::uint64_t end = address + length;  // callers keep this below limit_ or 2^64
  auto it = ranges_.lower_bound(end);
  if (it == ranges_.begin()) {
    return false;
  }
  --it;
  return it->first + it->second.length > address;
}

void Bus::read(std::uint64_t address, std::span<std::uint8_t> data) {
  if (data.empty()) {
    return;
  }
  BusDevice* device = nullptr;
  std::uint64_t offset = 0;
  switch (lookup(address, data.size(), &device, &offset)) {
    case Lookup::kDevice:
      device->read(offset, data);
      return;
    case Lookup::kUnassigned:
      std::fill(data.begin(), data.end(), 0xff);
      unassigned_reads_.fetch_add(1, std::memory_order_relaxed);
      return;
    case Lookup::kSplit:
      for (std::size_t i = 0; i < data.size(); ++i) {
        read(address + i, data.subspan(i, 1));
      }
      return;
  }
}

void Bus::write(std::uint64_t address, std::span<const std::uint8_t> data) {
  if (data.empty()) {
    return;
  }
  BusDevice* device = nullptr;
  std::uint64_t offset = 0;
  switch (lookup(address, data.size(), &device, &offset)) {
    case Lookup::kDevice:
      device->write(offset, data);
      return;
    case Lookup::kUnassigned:
      unassigned_writes_.fetch_add(1, std::memory_order_relaxed);
      return;
    case Lookup::kSplit:
      for (std::size_t i = 0; i < data.size(); ++i) {
        write(address + i, data.subspan(i, 1));
      }
      return;
  }
}

}  // namespace bus
