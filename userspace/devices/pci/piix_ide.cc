#include "devices/pci/piix_ide.h"

#include <algorithm>

namespace devices {

namespace {

constexpr pci::Identity kIdentity{
    .vendor_id = PiixIde::kVendor,
    .device_id = PiixIde::kDevice,
    .revision = 0x00,
    .class_code = 0x010180,  // mass storage, IDE, legacy mode both channels, bus master
};

}  // namespace

PiixIde::PiixIde(vmm::GuestMemory& memory, IrqLine irq) : pci::PciFunction("piix3-ide", kIdentity) {
  define_bar(kBusMasterBar, pci::BarKind::kIo, kBusMasterSize, bus_master_);
  for (std::uint16_t off = kIdeTiming; off < kIdeTiming + 5; ++off) {
    set_writable(off, 0xff);  // IDETIM (two words), SIDETIM
  }
  const std::uint8_t status[2] = {0x80, 0x02};  // fast back-to-back, DEVSEL# medium
  set_config(pci::kStatus, status);
  for (unsigned i = 0; i < kChannels; ++i) {
    channels_[i] = std::make_unique<IdeChannel>(
        memory, [irq, i](bool level) { irq(i, level); }, [this] { return bus_master_enabled(); });
  }
}

bool PiixIde::bus_master_enabled() {
  return (config_read(pci::kCommand, 2) & pci::kCommandBusMaster) != 0;
}

void PiixIde::BusMasterBlock::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  const unsigned channel = offset < IdeChannel::kBusMasterSize ? 0 : 1;
  const std::uint64_t local = offset % IdeChannel::kBusMasterSize;
  if (local + data.size() > IdeChannel::kBusMasterSize) {
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  ide.channels_[channel]->bus_master_read(local, data);
}

void PiixIde::BusMasterBlock::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  const unsigned channel = offset < IdeChannel::kBusMasterSize ? 0 : 1;
  const std::uint64_t local = offset % IdeChannel::kBusMasterSize;
  if (local + data.size() > IdeChannel::kBusMasterSize) {
    return;
  }
  ide.channels_[channel]->bus_master_write(local, data);
}

}  // namespace devices
