// The IOAPIC model (kernel/irqchip/ioapic.c) driven through IOREGSEL/IOWIN as a guest would,
// with a fake APIC bus that records the interrupt messages.  Expected behaviour from the Intel
// 82093AA datasheet (registers, redirection entry format, remote IRR, masking).
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "ioapic.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

struct IoapicFixture : ::testing::Test {
  struct ioapic io;
  std::vector<irq_msg> sent;
  int accept = 1;

  static int Deliver(void* o, const irq_msg* m) {
    auto* f = static_cast<IoapicFixture*>(o);
    f->sent.push_back(*m);
    return f->accept;
  }
  std::vector<unsigned> acked;
  static void PinAcked(void* o, unsigned pin) { static_cast<IoapicFixture*>(o)->acked.push_back(pin); }
  static constexpr ioapic_ops kOps = {Deliver, nullptr, PinAcked};

  void SetUp() override { ioapic_init(&io, &kOps, this); }

  void WriteReg(uint32_t reg, uint32_t v) {
    ASSERT_TRUE(ioapic_mmio_write(&io, 0x00, 4, reg));
    ASSERT_TRUE(ioapic_mmio_write(&io, 0x10, 4, v));
  }
  uint32_t ReadReg(uint32_t reg) {
    uint64_t v = 0;
    EXPECT_TRUE(ioapic_mmio_write(&io, 0x00, 4, reg));
    EXPECT_TRUE(ioapic_mmio_read(&io, 0x10, 4, &v));
    return static_cast<uint32_t>(v);
  }
  void Program(unsigned pin, uint32_t lo, uint8_t dest) {
    WriteReg(0x11 + 2 * pin, uint32_t(dest) << 24);
    WriteReg(0x10 + 2 * pin, lo);
  }
};

constexpr uint32_t kLevel = 1u << 15, kMasked = 1u << 16, kRemoteIrr = 1u << 14,
                   kLogical = 1u << 11, kActiveLow = 1u << 13;

TEST_F(IoapicFixture, IdVersionArbitration) {
  EXPECT_EQ(ReadReg(0x01), 0x00170011u);
  WriteReg(0x00, 0x0a000000);
  EXPECT_EQ(ReadReg(0x00), 0x0a000000u);
  EXPECT_EQ(ReadReg(0x02), 0x0a000000u);
  WriteReg(0x01, 0);  // read only
  EXPECT_EQ(ReadReg(0x01), 0x00170011u);
}

TEST_F(IoapicFixture, EntriesComeUpMasked) {
  for (unsigned pin = 0; pin < 24; pin++) EXPECT_EQ(ReadReg(0x10 + 2 * pin), kMasked) << pin;
  EXPECT_EQ(ioapic_set_irq(&io, 4, 1), -1);
  EXPECT_TRUE(sent.empty());
}

TEST_F(IoapicFixture, EdgeRedirectionBecomesAMessage) {
  Program(3, 0x33 | (LAPIC_DM_LOWEST << 8) | kLogical, 0x0f);
  EXPECT_EQ(ReadReg(0x17), 0x0f000000u);
  EXPECT_EQ(ioapic_set_irq(&io, 3, 1), 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].vector, 0x33);
  EXPECT_EQ(sent[0].delivery_mode, LAPIC_DM_LOWEST);
  EXPECT_TRUE(sent[0].dest_logical);
  EXPECT_EQ(sent[0].dest, 0x0fu);
  EXPECT_FALSE(sent[0].level_trigger);
  ioapic_set_irq(&io, 3, 0);
  ioapic_set_irq(&io, 3, 1);
  EXPECT_EQ(sent.size(), 2u);
  // High again without a fall is no edge: nothing, reported as coalesced (upstream's
  // ioapic_set_irq: IRR stays set while the input is high).
  EXPECT_EQ(ioapic_set_irq(&io, 3, 1), 0);
  EXPECT_EQ(sent.size(), 2u);
  ioapic_set_irq(&io, 3, 0);
  EXPECT_EQ(ioapic_set_irq(&io, 3, 1), 1);
  EXPECT_EQ(sent.size(), 3u);
}

TEST_F(IoapicFixture, MaskedEdgeIsDropped) {
  Program(3, 0x33 | kMasked, 0);
  EXPECT_EQ(ioapic_set_irq(&io, 3, 1), -1);
  Program(3, 0x33, 0);
  EXPECT_TRUE(sent.empty());
  // The input is still high after the unmask: a second 1 is no new edge.
  EXPECT_EQ(ioapic_set_irq(&io, 3, 1), 0);
  EXPECT_TRUE(sent.empty());
  ioapic_set_irq(&io, 3, 0);
  ioapic_set_irq(&io, 3, 1);
  EXPECT_EQ(sent.size(), 1u);
}

TEST_F(IoapicFixture, EdgeIrrFollowsTheInput) {
  Program(4, 0x34, 0);
  ioapic_set_irq(&io, 4, 1);
  kvm_ioapic_state st;
  ioapic_get_state(&io, &st);
  EXPECT_EQ(st.irr, 1u << 4);
  ioapic_set_irq(&io, 4, 0);
  ioapic_get_state(&io, &st);
  EXPECT_EQ(st.irr, 0u);
}

TEST_F(IoapicFixture, LevelRemoteIrrAndEoiRedelivery) {
  Program(5, 0x45 | kLevel, 1);
  EXPECT_EQ(ioapic_set_irq(&io, 5, 1), 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].level_trigger);
  EXPECT_TRUE(ReadReg(0x10 + 10) & kRemoteIrr);
  EXPECT_EQ(ioapic_set_irq(&io, 5, 1), 0);  // waits for the EOI
  EXPECT_EQ(sent.size(), 1u);
  ioapic_eoi(&io, 0x44);  // another vector: nothing
  EXPECT_EQ(sent.size(), 1u);
  ioapic_eoi(&io, 0x45);  // still asserted: delivered again
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_TRUE(ReadReg(0x10 + 10) & kRemoteIrr);
  ioapic_set_irq(&io, 5, 0);
  ioapic_eoi(&io, 0x45);
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_FALSE(ReadReg(0x10 + 10) & kRemoteIrr);
}

TEST_F(IoapicFixture, EoiReportsEveryPinWithThatVector) {
  Program(2, 0x30, 0);           // edge, e.g. the PIT
  Program(8, 0x30 | kLevel, 0);  // level, same vector
  Program(9, 0x31, 0);
  ioapic_eoi(&io, 0x30);
  EXPECT_EQ(acked, (std::vector<unsigned>{2, 8}));
}

TEST_F(IoapicFixture, UnmaskingAnAssertedLevelLineDelivers) {
  Program(9, 0x59 | kLevel | kMasked, 0);
  EXPECT_EQ(ioapic_set_irq(&io, 9, 1), -1);
  EXPECT_TRUE(sent.empty());
  Program(9, 0x59 | kLevel, 0);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].vector, 0x59);
}

TEST_F(IoapicFixture, ReadOnlyBitsResistWrites) {
  Program(7, 0x60 | kLevel | kRemoteIrr | (1u << 12) | kActiveLow, 0);
  uint32_t lo = ReadReg(0x10 + 14);
  EXPECT_FALSE(lo & kRemoteIrr);
  EXPECT_FALSE(lo & (1u << 12));
  EXPECT_TRUE(lo & kActiveLow);  // polarity is stored
  ioapic_set_irq(&io, 7, 1);
  EXPECT_TRUE(ReadReg(0x10 + 14) & kRemoteIrr);
  Program(7, 0x60, 0);  // to edge: remote IRR goes
  EXPECT_FALSE(ReadReg(0x10 + 14) & kRemoteIrr);
}

TEST_F(IoapicFixture, IrrTracksRequests) {
  Program(2, 0x30 | kMasked | kLevel, 0);
  ioapic_set_irq(&io, 2, 1);
  kvm_ioapic_state st;
  ioapic_get_state(&io, &st);
  EXPECT_EQ(st.irr, 1u << 2);
  ioapic_set_irq(&io, 2, 0);
  ioapic_get_state(&io, &st);
  EXPECT_EQ(st.irr, 0u);
}

TEST_F(IoapicFixture, StateRoundTripKeepsPendingLevel) {
  WriteReg(0x00, 0x05000000);
  Program(10, 0x70 | kLevel, 3);
  ioapic_set_irq(&io, 10, 1);
  kvm_ioapic_state st;
  ioapic_get_state(&io, &st);
  EXPECT_EQ(st.base_address, 0xfec00000ull);
  EXPECT_EQ(st.id, 5u);
  EXPECT_EQ(st.redirtbl[10].fields.vector, 0x70);
  EXPECT_EQ(st.redirtbl[10].fields.remote_irr, 1);
  EXPECT_EQ(st.redirtbl[10].fields.dest_id, 3);

  struct ioapic other;
  std::vector<irq_msg> none;
  ioapic_init(&other, &kOps, this);
  sent.clear();
  ioapic_set_state(&other, &st);
  EXPECT_TRUE(sent.empty());  // remote IRR set: waits for EOI
  ioapic_eoi(&other, 0x70);
  EXPECT_EQ(sent.size(), 1u);  // line restored as asserted
}

TEST_F(IoapicFixture, MmioOutsideTheWindow) {
  uint64_t v = 1;
  EXPECT_FALSE(ioapic_mmio_read(&io, 0x100, 4, &v));
  EXPECT_TRUE(ioapic_mmio_read(&io, 0x20, 4, &v));
  EXPECT_EQ(v, 0u);
}

}  // namespace
