// GSI routing validation, the default table and MSI decoding (kernel/irqchip/irq_routing.c).
// Expected answers: what upstream KVM's KVM_SET_GSI_ROUTING accepts and rejects, its default
// table, and the MSI address/data layout of the Intel SDM vol. 3A 10.11.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "irq_routing.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

kvm_irq_routing_entry Chip(uint32_t gsi, uint32_t chip, uint32_t pin) {
  kvm_irq_routing_entry e;
  std::memset(&e, 0, sizeof(e));
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_IRQCHIP;
  e.u.irqchip.irqchip = chip;
  e.u.irqchip.pin = pin;
  return e;
}

kvm_irq_routing_entry Msi(uint32_t gsi, uint32_t lo, uint32_t data) {
  kvm_irq_routing_entry e;
  std::memset(&e, 0, sizeof(e));
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_MSI;
  e.u.msi.address_lo = lo;
  e.u.msi.data = data;
  return e;
}

int Validate(const std::vector<kvm_irq_routing_entry>& v, uint32_t flags = 0) {
  return irq_routing_validate(v.data(), static_cast<uint32_t>(v.size()), flags);
}

TEST(IrqRouting, DefaultTableIsUpstreams) {
  kvm_irq_routing_entry t[IRQ_ROUTING_DEFAULT_ENTRIES];
  ASSERT_EQ(irq_routing_default(t), 40u);
  EXPECT_EQ(irq_routing_validate(t, 40, 0), 0);
  const kvm_irq_routing_entry* hits[4];
  for (uint32_t gsi = 0; gsi < 24; gsi++) {
    uint32_t n = irq_routing_lookup(t, 40, gsi, hits, 4);
    ASSERT_EQ(n, gsi < 16 ? 2u : 1u) << gsi;
    bool ioapic = false, pic = false;
    for (uint32_t i = 0; i < n; i++) {
      EXPECT_EQ(hits[i]->type, (uint32_t)KVM_IRQ_ROUTING_IRQCHIP);
      if (hits[i]->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
        ioapic = true;
        EXPECT_EQ(hits[i]->u.irqchip.pin, gsi);
      } else {
        pic = true;
        EXPECT_EQ(hits[i]->u.irqchip.irqchip,
                  gsi < 8 ? (uint32_t)KVM_IRQCHIP_PIC_MASTER : (uint32_t)KVM_IRQCHIP_PIC_SLAVE);
        EXPECT_EQ(hits[i]->u.irqchip.pin, gsi % 8);
      }
    }
    EXPECT_TRUE(ioapic);
    EXPECT_EQ(pic, gsi < 16);
  }
  EXPECT_EQ(irq_routing_lookup(t, 40, 24, hits, 4), 0u);
}

TEST(IrqRouting, QemuStyleTableIsValid) {
  // What QEMU installs: PIC pins except IR2, IOAPIC pin 2 for GSI 0, MSIs above 24.
  std::vector<kvm_irq_routing_entry> v;
  for (uint32_t i = 0; i < 16; i++)
    if (i != 2) v.push_back(Chip(i, i < 8 ? 0 : 1, i % 8));
  for (uint32_t i = 0; i < 24; i++)
    if (i != 2) v.push_back(Chip(i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i));
  v.push_back(Msi(24, 0xfee00000, 0x4041));
  v.push_back(Msi(4095, 0xfee01000, 0x4042));
  EXPECT_EQ(Validate(v), 0);
  EXPECT_EQ(Validate({}), 0);
}

TEST(IrqRouting, PinsOfAGsi) {
  // QEMU's GSI 0: PIC master pin 0 and IOAPIC pin 2; an MSI route never counts.
  std::vector<kvm_irq_routing_entry> v = {Chip(0, KVM_IRQCHIP_PIC_MASTER, 0),
                                          Chip(0, KVM_IRQCHIP_IOAPIC, 2),
                                          Chip(2, KVM_IRQCHIP_IOAPIC, 0),
                                          Chip(8, KVM_IRQCHIP_PIC_SLAVE, 0),
                                          Msi(0, 0xfee00000, 0x30)};
  auto pins = [&](uint32_t gsi, uint32_t chip) {
    return irq_routing_gsi_pins(v.data(), uint32_t(v.size()), gsi, chip);
  };
  EXPECT_EQ(pins(0, KVM_IRQCHIP_IOAPIC), 1u << 2);
  EXPECT_EQ(pins(0, KVM_IRQCHIP_PIC_MASTER), 1u << 0);
  EXPECT_EQ(pins(0, KVM_IRQCHIP_PIC_SLAVE), 0u);
  EXPECT_EQ(pins(8, KVM_IRQCHIP_PIC_SLAVE), 1u << 0);
  EXPECT_EQ(pins(1, KVM_IRQCHIP_IOAPIC), 0u);
  kvm_irq_routing_entry t[IRQ_ROUTING_DEFAULT_ENTRIES];
  irq_routing_default(t);
  EXPECT_EQ(irq_routing_gsi_pins(t, 40, 0, KVM_IRQCHIP_IOAPIC), 1u << 0);  // upstream's default
  EXPECT_EQ(irq_routing_gsi_pins(t, 40, 23, KVM_IRQCHIP_IOAPIC), 1u << 23);
}

TEST(IrqRouting, RejectsWhatUpstreamRejects) {
  EXPECT_EQ(Validate({Chip(0, 0, 0)}, 1), -EINVAL);              // routing flags
  EXPECT_EQ(Validate({Chip(4096, 2, 0)}), -EINVAL);              // GSI too large
  EXPECT_EQ(Validate({Chip(1, 0, 8)}), -EINVAL);                 // PIC pin
  EXPECT_EQ(Validate({Chip(1, 1, 8)}), -EINVAL);
  EXPECT_EQ(Validate({Chip(1, 2, 24)}), -EINVAL);                // IOAPIC pin
  EXPECT_EQ(Validate({Chip(1, 3, 0)}), -EINVAL);                 // no such chip
  auto bad_type = Chip(1, 0, 1);
  bad_type.type = 3;
  EXPECT_EQ(Validate({bad_type}), -EINVAL);
  auto flagged = Msi(30, 0xfee00000, 0x30);
  flagged.flags = 1;  // KVM_MSI_VALID_DEVID: not on x86
  EXPECT_EQ(Validate({flagged}), -EINVAL);
  EXPECT_EQ(Validate({Chip(5, 2, 5), Chip(5, 2, 6)}), -EINVAL);  // same chip twice
  EXPECT_EQ(Validate({Chip(5, 2, 5), Msi(5, 0xfee00000, 0x30)}), -EINVAL);
  EXPECT_EQ(Validate({Msi(40, 0xfee00000, 0x30), Msi(40, 0xfee00000, 0x31)}), -EINVAL);
  EXPECT_EQ(Validate({Chip(5, 2, 5), Chip(5, 0, 5)}), 0);  // IOAPIC + PIC is fine
  std::vector<kvm_irq_routing_entry> too_many(KVM_MAX_IRQ_ROUTES + 1, Chip(0, 2, 0));
  EXPECT_EQ(irq_routing_validate(too_many.data(), KVM_MAX_IRQ_ROUTES + 1, 0), -EINVAL);
}

TEST(IrqRouting, MsiDecode) {
  irq_msg m;
  // Physical, destination 3, fixed, edge, vector 0x41.
  irq_msi_decode(0xfee03000, 0, 0x0041, &m);
  EXPECT_EQ(m.dest, 3u);
  EXPECT_FALSE(m.dest_logical);
  EXPECT_FALSE(m.redir_hint);
  EXPECT_EQ(m.vector, 0x41);
  EXPECT_EQ(m.delivery_mode, LAPIC_DM_FIXED);
  EXPECT_FALSE(m.level_trigger);
  EXPECT_TRUE(m.assert);
  EXPECT_EQ(m.shorthand, LAPIC_SH_NONE);
  EXPECT_FALSE(m.dest_x2apic);
  // Logical, RH, destination 0xf0, lowest priority, level asserted, vector 0xb2.
  irq_msi_decode(0xfeef000c, 0, 0xc1b2, &m);
  EXPECT_EQ(m.dest, 0xf0u);
  EXPECT_TRUE(m.dest_logical);
  EXPECT_TRUE(m.redir_hint);
  EXPECT_EQ(m.delivery_mode, LAPIC_DM_LOWEST);
  EXPECT_TRUE(m.level_trigger);
  EXPECT_TRUE(m.assert);
  EXPECT_EQ(m.vector, 0xb2);
  // NMI.
  irq_msi_decode(0xfee00000, 0, 0x0400, &m);
  EXPECT_EQ(m.delivery_mode, LAPIC_DM_NMI);
  // Level de-assert.
  irq_msi_decode(0xfee00000, 0, 0x8030, &m);
  EXPECT_TRUE(m.level_trigger);
  EXPECT_FALSE(m.assert);
}

}  // namespace
