#include "bus/pci.h"

#include <algorithm>

namespace pci {

namespace {

std::uint32_t load_le(std::span<const std::uint8_t> data) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < data.size() && i < 4; ++i) {
    v |= static_cast<std::uint32_t>(data[i]) << (8 * i);
  }
  return v;
}

void store_le(std::span<std::uint8_t> data, std::uint32_t v) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = i < 4 ? static_cast<std::uint8_t>(v >> (8 * i)) : 0xff;
  }
}

bool valid_access(std::uint16_t offset, unsigned size) {
  return (size == 1 || size == 2 || size == 4) && offset < kConfigSize && (offset & 3) + size <= 4;
}

}  // namespace

const char* describe(PciError error) {
  switch (error) {
    case PciError::kBadSlot:
      return "no such PCI slot or function";
    case PciError::kSlotTaken:
      return "PCI slot and function already taken";
    case PciError::kDuplicateName:
      return "a PCI function with that name is already plugged";
  }
  return "unknown PCI error";
}

// ---- PciFunction ----------------------------------------------------------------------

PciFunction::PciFunction(std::string name, const Identity& id) : name_(std::move(name)) {
  auto put16 = [&](std::uint16_t off, std::uint16_t v) {
    config_[off] = static_cast<std::uint8_t>(v);
    config_[off + 1] = static_cast<std::uint8_t>(v >> 8);
  };
  put16(kVendorId, id.vendor_id);
  put16(kDeviceId, id.device_id);
  config_[kRevisionId] = id.revision;
  config_[kProgIf] = static_cast<std::uint8_t>(id.class_code);
  config_[kSubclass] = static_cast<std::uint8_t>(id.class_code >> 8);
  config_[kClassCode] = static_cast<std::uint8_t>(id.class_code >> 16);
  config_[kHeaderType] = id.multi_function ? kHeaderMultiFunction : 0;
  put16(kSubsystemVendorId, id.subsystem_vendor_id);
  put16(kSubsystemId, id.subsystem_id);
  // Command: I/O, memory, bus master, SERR#, INTx disable.  Status: the error bits are
  // write-one-to-clear (none of them is ever set by this model, but a guest may clear them).
  writable_[kCommand] = kCommandIo | kCommandMemory | kCommandBusMaster;
  writable_[kCommand + 1] = (kCommandSerr | kCommandInterruptDisable) >> 8;
  write_one_to_clear_[kStatus + 1] = 0xf9;
  writable_[kCacheLineSize] = 0xff;
  writable_[kLatencyTimer] = 0xff;
  writable_[kInterruptLine] = 0xff;
}

PciFunction::~PciFunction() {
  std::lock_guard lock(mutex_);
  for (unsigned i = 0; i < kBarCount; ++i) {
    if (bars_[i] && bars_[i]->mapped) {
      (bars_[i]->kind == BarKind::kIo ? io_ : mmio_)->remove(*bars_[i]->mapped, *bars_[i]->device);
    }
  }
}

void PciFunction::define_bar(unsigned index, BarKind kind, std::uint32_t size,
                             bus::BusDevice& device) {
  std::lock_guard lock(mutex_);
  if (index >= kBarCount || size == 0 || (size & (size - 1)) != 0 ||
      size < (kind == BarKind::kIo ? 4u : 16u) || (kind == BarKind::kIo && size > 0x10000)) {
    return;  // a programming error in a device model; the BAR stays absent
  }
  bars_[index] = Bar{kind, size, &device, std::nullopt};
  const std::uint16_t reg = bar_offset(index);
  config_[reg] = kind == BarKind::kIo ? 0x01 : 0x00;  // I/O space indicator; 32-bit, no prefetch
  config_[reg + 1] = config_[reg + 2] = config_[reg + 3] = 0;
}

void PciFunction::set_interrupt_pin(IntxPin pin) {
  std::lock_guard lock(mutex_);
  pin_ = pin;
  config_[kInterruptPin] = static_cast<std::uint8_t>(pin);
}

void PciFunction::set_writable(std::uint16_t offset, std::uint8_t mask) {
  std::lock_guard lock(mutex_);
  if (offset >= 0x40 && offset < kConfigSize) {
    writable_[offset] = mask;
  }
}

void PciFunction::set_config(std::uint16_t offset, std::span<const std::uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < bytes.size() && offset + i < kConfigSize; ++i) {
    config_[offset + i] = bytes[i];
  }
}

void PciFunction::attach(bus::Bus* io, bus::Bus* mmio, IntxOutput intx) {
  std::lock_guard lock(mutex_);
  io_ = io;
  mmio_ = mmio;
  intx_ = std::move(intx);
  update_bars();
}

std::uint32_t PciFunction::read_locked(std::uint16_t offset, unsigned size) const {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= static_cast<std::uint32_t>(config_[offset + i]) << (8 * i);
  }
  return v;
}

std::uint32_t PciFunction::config_read(std::uint16_t offset, unsigned size) {
  if (!valid_access(offset, size)) {
    return 0xffffffffu;
  }
  std::lock_guard lock(mutex_);
  return read_locked(offset, size);
}

void PciFunction::write_bar_byte(unsigned index, unsigned byte, std::uint8_t value) {
  const std::uint16_t reg = bar_offset(index);
  if (!bars_[index]) {
    return;  // unimplemented BARs are read-only zero
  }
  const Bar& bar = *bars_[index];
  // Address bits below the size read as zero.  An I/O BAR keeps all 32 address bits, as
  // QEMU's do (SeaBIOS sizes I/O BARs as 32-bit values and takes a 0 upper half for a 4 GiB
  // BAR); it decodes only while the address fits the 16-bit port space.
  std::uint32_t mask = ~(bar.size - 1);
  if (bar.kind == BarKind::kIo) {
    mask &= 0xfffffffcu;
  } else {
    mask &= 0xfffffff0u;
  }
  const std::uint8_t byte_mask = static_cast<std::uint8_t>(mask >> (8 * byte));
  config_[reg + byte] =
      static_cast<std::uint8_t>((config_[reg + byte] & ~byte_mask) | (value & byte_mask));
}

void PciFunction::config_write(std::uint16_t offset, unsigned size, std::uint32_t value) {
  if (!valid_access(offset, size)) {
    return;
  }
  bool intx_now = false;
  IntxOutput intx;
  bool intx_changed = false;
  {
    std::lock_guard lock(mutex_);
    bool bars_touched = false;
    for (unsigned i = 0; i < size; ++i) {
      const std::uint16_t off = offset + i;
      const std::uint8_t byte = static_cast<std::uint8_t>(value >> (8 * i));
      if (off >= kBar0 && off < kBar0 + 4 * kBarCount) {
        write_bar_byte((off - kBar0) / 4, (off - kBar0) % 4, byte);
        bars_touched = true;
        continue;
      }
      config_[off] =
          static_cast<std::uint8_t>((config_[off] & ~writable_[off]) | (byte & writable_[off]));
      config_[off] &= static_cast<std::uint8_t>(~(byte & write_one_to_clear_[off]));
      if (off == kCommand || off == kCommand + 1) {
        bars_touched = true;
      }
    }
    if (bars_touched) {
      update_bars();
    }
    config_written(offset, size);
    intx_now = intx_output_locked();
    if (intx_now != intx_level_ && intx_) {
      intx_level_ = intx_now;
      intx = intx_;
      intx_changed = true;
    }
  }
  if (intx_changed) {
    intx(intx_now);
  }
}

void PciFunction::update_bars() {
  const std::uint16_t command = static_cast<std::uint16_t>(read_locked(kCommand, 2));
  for (unsigned i = 0; i < kBarCount; ++i) {
    if (!bars_[i]) {
      continue;
    }
    Bar& bar = *bars_[i];
    bus::Bus* target = bar.kind == BarKind::kIo ? io_ : mmio_;
    const std::uint32_t reg = read_locked(bar_offset(i), 4);
    std::optional<std::uint64_t> want;
    const bool enabled = (command & (bar.kind == BarKind::kIo ? kCommandIo : kCommandMemory)) != 0;
    const std::uint64_t base = bar.kind == BarKind::kIo ? (reg & 0xfffffffcu) : (reg & 0xfffffff0u);
    const std::uint64_t limit = bar.kind == BarKind::kIo ? 0x10000ull : 0x100000000ull;
    if (target != nullptr && enabled && base != 0 && base + bar.size <= limit) {
      want = base;
    }
    if (want == bar.mapped) {
      continue;
    }
    if (bar.mapped) {
      target->remove(*bar.mapped, *bar.device);
      bar.mapped.reset();
    }
    if (want) {
      if (target->add(*want, bar.size, *bar.device, name_ + "-bar" + std::to_string(i))) {
        bar.mapped = want;
      } else {
        bar_conflicts_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

std::optional<std::uint64_t> PciFunction::bar_mapping(unsigned index) const {
  std::lock_guard lock(mutex_);
  if (index >= kBarCount || !bars_[index]) {
    return std::nullopt;
  }
  return bars_[index]->mapped;
}

bool PciFunction::intx_output_locked() const {
  const std::uint16_t command = static_cast<std::uint16_t>(read_locked(kCommand, 2));
  return pin_ != IntxPin::kNone && (config_[kStatus] & kStatusInterrupt) != 0 &&
         (command & kCommandInterruptDisable) == 0;
}

void PciFunction::set_intx(bool level) {
  bool out = false;
  IntxOutput intx;
  {
    std::lock_guard lock(mutex_);
    if (level) {
      config_[kStatus] |= kStatusInterrupt;
    } else {
      config_[kStatus] &= static_cast<std::uint8_t>(~kStatusInterrupt);
    }
    out = intx_output_locked();
    if (out == intx_level_ || !intx_) {
      return;
    }
    intx_level_ = out;
    intx = intx_;
  }
  intx(out);
}

// ---- PciRoot --------------------------------------------------------------------------

PciRoot::PciRoot(bus::Bus& io, bus::Bus& mmio) : io_(io), mmio_(mmio) {}

vmm::Status<PciError> PciRoot::plug(unsigned slot, unsigned function, PciFunction& device) {
  if (slot >= kSlots || function >= kFunctions) {
    return PciError::kBadSlot;
  }
  if (functions_[slot * kFunctions + function] != nullptr) {
    return PciError::kSlotTaken;
  }
  if (find(device.name()) != nullptr) {
    return PciError::kDuplicateName;
  }
  functions_[slot * kFunctions + function] = &device;
  const IntxPin pin = device.interrupt_pin();
  device.attach(&io_, &mmio_, [this, slot, function, pin](bool level) {
    if (router_) {
      router_(slot, function, pin, level);
    }
  });
  return vmm::kOk;
}

PciFunction* PciRoot::find(std::string_view name) const {
  for (PciFunction* f : functions_) {
    if (f != nullptr && f->name() == name) {
      return f;
    }
  }
  return nullptr;
}

PciFunction* PciRoot::function_at(unsigned slot, unsigned function) const {
  if (slot >= kSlots || function >= kFunctions) {
    return nullptr;
  }
  return functions_[slot * kFunctions + function];
}

std::uint32_t PciRoot::config_read(unsigned bus, unsigned slot, unsigned function,
                                   std::uint16_t offset, unsigned size) const {
  PciFunction* f = bus == 0 ? function_at(slot, function) : nullptr;
  if (f == nullptr) {
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
  }
  return f->config_read(offset, size);
}

void PciRoot::config_write(unsigned bus, unsigned slot, unsigned function, std::uint16_t offset,
                           unsigned size, std::uint32_t value) {
  PciFunction* f = bus == 0 ? function_at(slot, function) : nullptr;
  if (f != nullptr) {
    f->config_write(offset, size, value);
  }
}

void PciRoot::AddressWindow::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  if (offset == 0 && data.size() == 4) {
    std::lock_guard lock(root.address_mutex_);
    store_le(data, root.address_);
    return;
  }
  if (offset == 1 && data.size() == 1 && byte_at_1 != nullptr) {
    byte_at_1->read(0, data);
    return;
  }
  std::fill(data.begin(), data.end(), 0xff);
}

void PciRoot::AddressWindow::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset == 0 && data.size() == 4) {
    std::lock_guard lock(root.address_mutex_);
    root.address_ = load_le(data) & 0x80fffffcu;
    return;
  }
  if (offset == 1 && data.size() == 1 && byte_at_1 != nullptr) {
    byte_at_1->write(0, data);
  }
}

void PciRoot::DataWindow::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(root.address_mutex_);
  const std::uint32_t a = root.address_;
  if ((a & kConfigEnable) == 0 || data.size() > 4 || offset + data.size() > 4) {
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  store_le(data, root.config_read((a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
                                  static_cast<std::uint16_t>((a & 0xfc) + offset),
                                  static_cast<unsigned>(data.size())));
}

void PciRoot::DataWindow::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(root.address_mutex_);
  const std::uint32_t a = root.address_;
  if ((a & kConfigEnable) == 0 || data.size() > 4 || offset + data.size() > 4) {
    return;
  }
  root.config_write((a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
                    static_cast<std::uint16_t>((a & 0xfc) + offset),
                    static_cast<unsigned>(data.size()), load_le(data));
}

}  // namespace pci
