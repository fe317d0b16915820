// Intel 82371SB PIIX3, function 0: the PCI-to-ISA bridge at 00:01.0 of a PC (Intel 82371FB/SB
// data sheet, 290550).  Vendor 8086h, device 7000h, class 0601h, a multi-function device
// (function 1 is the IDE controller, devices/pci/piix_ide.h).
//
// Models: the configuration registers firmware and Linux touch: IORT (4Ch), XBCS (4Eh-4Fh),
//   PIRQRC[A:D] (60h-63h), TOM (69h), MSTAT (6Ah-6Bh), MBIRQ0 (70h), MBDMA (76h-77h), PCSC
//   (78h-79h), APICBASE (80h), DLC (82h), SMICNTL/SMIEN/SEE/FTMR/SMIREQ/CTLTMR/CTHTMR (A0h-AFh),
//   with their reset values; they read back what was written.
// Works: PCI interrupt routing.  A PCI function's INTx pin reaches PIRQ (slot - 1 + pin - 1)
//   mod 4 (the PIIX swizzle, with INTA# = 1; the same as SeaBIOS and QEMU).  PIRQRC[n] bit 7
//   clear routes PIRQn to the ISA IRQ in bits 3:0, when that is one the data sheet allows (3-7,
//   9-12, 14, 15); several PIRQs and several functions may share one IRQ (wired OR, active
//   high as the machine's IRQ lines are).  The ISA IRQ line is driven through the callback
//   given to the constructor, which the machine wires to the interrupt controllers (ISA IRQ n
//   is PIC input n and IOAPIC input n).  Rerouting a PIRQ that is asserted moves the level
//   from the old IRQ to the new one.
// ELCR (ports 4D0h-4D1h, edge/level per IRQ) belongs to the PIC; with KVM's in-kernel PIC the
//   kernel decodes those ports, so the guest programs level mode there for PCI IRQs.
// Missing: the DMA controller, PIT/RTC/keyboard are separate devices; the SMI machinery (no
//   SMM), MBIRQ0 routing (no motherboard device uses it), the X-bus chip selects (XBCS is kept
//   as state only).  The reset control register at 0CF9h is devices/isa/reset_control.h.
//
// Legend (locking): route_mutex_ guards routes_, pirq_sources_ and irq_level_; it is taken after
//   the function's configuration lock (config_written) or alone (pci_intx), and the ISA IRQ
//   callback runs with it held, so that callback must not call back into the PIIX3.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <mutex>

#include "bus/pci.h"

namespace devices {

class Piix3 final : public pci::PciFunction {
 public:
  static constexpr std::uint16_t kVendor = 0x8086;
  static constexpr std::uint16_t kDevice = 0x7000;
  static constexpr std::uint16_t kPirqRoute = 0x60;  // PIRQRC[A:D], 60h-63h
  static constexpr unsigned kPirqs = 4;
  static constexpr std::uint8_t kRouteDisable = 0x80;
  static constexpr unsigned kIsaIrqs = 16;

  using IsaIrqLine = std::function<void(unsigned isa_irq, bool level)>;

  explicit Piix3(IsaIrqLine isa_irq);

  // The PIRQ (0 = A) a function's pin reaches.
  static unsigned pirq_of(unsigned slot, pci::IntxPin pin);
  // Whether PIRQRC may route to this ISA IRQ (the others are reserved: the PIRQ stays idle).
  static bool routable_irq(unsigned irq);

  // PciRoot's INTx router: function (slot, function) asserts or releases pin.
  void pci_intx(unsigned slot, unsigned function, pci::IntxPin pin, bool level);
  // The current level of an ISA IRQ as the PIRQ router drives it.
  bool isa_irq_level(unsigned irq);

 protected:
  void config_written(std::uint16_t offset, unsigned size) override;

 private:
  void update_outputs_locked();

  IsaIrqLine isa_irq_;
  std::mutex route_mutex_;
  std::array<std::uint8_t, kPirqs> routes_{kRouteDisable, kRouteDisable, kRouteDisable,
                                           kRouteDisable};
  // Bit slot * 8 + function: that function asserts this PIRQ.
  std::array<std::bitset<pci::kSlots * pci::kFunctions>, kPirqs> pirq_sources_{};
  std::array<bool, kIsaIrqs> irq_level_{};
};

}  // namespace devices
