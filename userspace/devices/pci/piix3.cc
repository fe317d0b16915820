#include "devices/pci/piix3.h"

namespace devices {

namespace {

constexpr pci::Identity kIdentity{
    .vendor_id = Piix3::kVendor,
    .device_id = Piix3::kDevice,
    .revision = 0x00,
    .class_code = 0x060100,  // bridge, ISA bridge
    .multi_function = true,
};

struct Register {
  std::uint16_t offset;
  std::uint8_t reset;
  std::uint8_t mask;
};
constexpr Register kRegisters[] = {
    {0x4c, 0x4d, 0xff},                                                              // IORT
    {0x4e, 0x03, 0xff}, {0x4f, 0x00, 0xff},                                          // XBCS
    {0x60, 0x80, 0x8f}, {0x61, 0x80, 0x8f}, {0x62, 0x80, 0x8f}, {0x63, 0x80, 0x8f},  // PIRQRC
    {0x69, 0x02, 0xff},                                                              // TOM
    {0x6a, 0x00, 0xff}, {0x6b, 0x00, 0xff},                                          // MSTAT
    {0x70, 0x80, 0xff},                                                              // MBIRQ0
    {0x76, 0x0c, 0xff}, {0x77, 0x0c, 0xff},                                          // MBDMA
    {0x78, 0x02, 0xff}, {0x79, 0x00, 0xff},                                          // PCSC
    {0x80, 0x00, 0xff},                                                              // APICBASE
    {0x82, 0x00, 0xff},                                                              // DLC
    {0xa0, 0x08, 0xff},                                                              // SMICNTL
    {0xa2, 0x00, 0xff}, {0xa3, 0x00, 0xff},                                          // SMIEN
    {0xa4, 0x00, 0xff}, {0xa5, 0x00, 0xff}, {0xa6, 0x00, 0xff}, {0xa7, 0x00, 0xff},  // SEE
    {0xa8, 0x0f, 0xff},                                                              // FTMR
    {0xaa, 0x00, 0xff}, {0xab, 0x00, 0xff},                                          // SMIREQ
    {0xac, 0x00, 0xff},                                                              // CTLTMR
    {0xae, 0x00, 0xff},                                                              // CTHTMR
};

}  // namespace

Piix3::Piix3(IsaIrqLine isa_irq)
    : pci::PciFunction("piix3", kIdentity), isa_irq_(std::move(isa_irq)) {
  for (const auto& r : kRegisters) {
    set_writable(r.offset, r.mask);
    set_config(r.offset, std::span(&r.reset, 1));
  }
  // Command: the bridge decodes I/O and memory and can master from reset (data sheet 2.2.3).
  const std::uint8_t command[2] = {0x07, 0x00};
  set_config(pci::kCommand, command);
  const std::uint8_t status[2] = {0x00, 0x02};  // DEVSEL# medium
  set_config(pci::kStatus, status);
}

unsigned Piix3::pirq_of(unsigned slot, pci::IntxPin pin) {
  return (slot + static_cast<unsigned>(pin) - 2) & 3;
}

bool Piix3::routable_irq(unsigned irq) {
  switch (irq) {
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 9:
    case 10:
    case 11:
    case 12:
    case 14:
    case 15:
      return true;
    default:
      return false;
  }
}

void Piix3::pci_intx(unsigned slot, unsigned function, pci::IntxPin pin, bool level) {
  if (pin == pci::IntxPin::kNone || slot >= pci::kSlots || function >= pci::kFunctions) {
    return;
  }
  std::lock_guard lock(route_mutex_);
  pirq_sources_[pirq_of(slot, pin)].set(slot * pci::kFunctions + function, level);
  update_outputs_locked();
}

bool Piix3::isa_irq_level(unsigned irq) {
  std::lock_guard lock(route_mutex_);
  return irq < kIsaIrqs && irq_level_[irq];
}

void Piix3::config_written(std::uint16_t offset, unsigned size) {
  if (offset >= kPirqRoute + kPirqs || offset + size <= kPirqRoute) {
    return;
  }
  std::lock_guard lock(route_mutex_);
  for (unsigned i = 0; i < kPirqs; ++i) {
    routes_[i] = config_byte_locked(static_cast<std::uint16_t>(kPirqRoute + i));
  }
  update_outputs_locked();
}

void Piix3::update_outputs_locked() {
  std::array<bool, kIsaIrqs> want{};
  for (unsigned i = 0; i < kPirqs; ++i) {
    const unsigned irq = routes_[i] & 0x0f;
    if ((routes_[i] & kRouteDisable) == 0 && routable_irq(irq) && pirq_sources_[i].any()) {
      want[irq] = true;
    }
  }
  // Releases first, so that a level moving between IRQs never shows on both at once.
  for (bool assert_pass : {false, true}) {
    for (unsigned irq = 0; irq < kIsaIrqs; ++irq) {
      if (want[irq] != irq_level_[irq] && want[irq] == assert_pass) {
        irq_level_[irq] = want[irq];
        if (isa_irq_) {
          isa_irq_(irq, want[irq]);
        }
      }
    }
  }
}

}  // namespace devices
