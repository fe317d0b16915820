// Intel 82371SB PIIX3, function 1: the IDE controller at 00:01.1 (Intel 82371FB/SB data sheet,
// 290550).  Vendor 8086h, device 7010h, class 0101h with programming interface 80h: both
// channels fixed in legacy (compatibility) mode, bus-master capable.
//
// Models: the two IDE channels (devices/pci/ide.h) that the machine places at the legacy
//   ports (1F0h-1F7h/3F6h with IRQ 14, 170h-177h/376h with IRQ 15, per machine/layout.h), and
//   BAR4, the 16-byte bus-master I/O block (the primary channel's registers at +0, the
//   secondary's at +8).  Configuration registers IDETIM (40h-43h, with the decode-enable bits
//   Linux's ata_piix checks), SIDETIM (44h) and the PCI command's bus-master enable, which DMA
//   obeys.  BAR0-3 read 0 (legacy mode has no relocatable command blocks) and the interrupt
//   pin register reads 0: legacy-mode IDE interrupts are ISA IRQs 14 and 15, not PCI INTx.
// Missing: native-PCI mode, the timing registers' effect (timing is irrelevant here), and the
//   legacy ports' dependence on IDETIM's decode enable and the command register's I/O enable
//   (the legacy ports always decode, as in QEMU; firmware enables both anyway).
#pragma once

#include <cstdint>
#include <memory>

#include "bus/pci.h"
#include "devices/pci/ide.h"

namespace devices {

class PiixIde final : public pci::PciFunction {
 public:
  static constexpr std::uint16_t kVendor = 0x8086;
  static constexpr std::uint16_t kDevice = 0x7010;
  static constexpr unsigned kBusMasterBar = 4;
  static constexpr std::uint32_t kBusMasterSize = 16;
  static constexpr std::uint16_t kIdeTiming = 0x40;  // IDETIM, primary at 40h, secondary at 42h
  static constexpr std::uint16_t kIdeDecodeEnable = 0x8000;
  static constexpr unsigned kChannels = 2;

  // irq(channel, level) drives the channel's ISA IRQ; memory is guest RAM for DMA.
  using IrqLine = std::function<void(unsigned channel, bool level)>;
  PiixIde(vmm::GuestMemory& memory, IrqLine irq);

  IdeChannel& channel(unsigned index) { return *channels_[index]; }

 private:
  class BusMasterBlock final : public bus::BusDevice {
   public:
    explicit BusMasterBlock(PiixIde& ide) : ide(ide) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    PiixIde& ide;
  };
  bool bus_master_enabled();

  BusMasterBlock bus_master_{*this};
  std::array<std::unique_ptr<IdeChannel>, kChannels> channels_;
};

}  // namespace devices
