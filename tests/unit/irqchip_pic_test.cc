// The two cascaded 8259A PICs (kernel/irqchip/pic.c) built in userspace and driven through
// their ports, as a guest would.  Expected behaviour from the Intel 8259A datasheet (ICW/OCW
// formats, fully nested mode, EOI and rotation commands, poll, special mask, SFNM) and the
// PIIX ELCR.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "pic.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

struct PicFixture : ::testing::Test {
  struct pic pic;
  std::vector<bool> outputs;
  std::vector<unsigned> acked;
  std::vector<std::pair<unsigned, bool>> masks;

  static void SetOutput(void* o, bool level) { static_cast<PicFixture*>(o)->outputs.push_back(level); }
  static void Acked(void* o, unsigned irq) { static_cast<PicFixture*>(o)->acked.push_back(irq); }
  static void MaskChanged(void* o, unsigned irq, bool m) {
    static_cast<PicFixture*>(o)->masks.emplace_back(irq, m);
  }
  static constexpr pic_ops kOps = {SetOutput, Acked, MaskChanged};

  void SetUp() override { pic_init(&pic, &kOps, this); }

  void Out(uint16_t port, uint8_t v) { ASSERT_TRUE(pic_port_write(&pic, port, v)); }
  uint8_t In(uint16_t port) {
    uint8_t v = 0;
    EXPECT_TRUE(pic_port_read(&pic, port, &v));
    return v;
  }
  // What a PC BIOS does: edge, cascade, ICW4 8086 mode, vectors 0x08/0x70 (or the given bases).
  void InitPc(uint8_t master_base = 0x20, uint8_t slave_base = 0x28, uint8_t icw4 = 0x01,
              uint8_t slave_icw4 = 0x01) {
    Out(0x20, 0x11);
    Out(0x21, master_base);
    Out(0x21, 0x04);
    Out(0x21, icw4);
    Out(0xa0, 0x11);
    Out(0xa1, slave_base);
    Out(0xa1, 0x02);
    Out(0xa1, slave_icw4);
  }
  void Pulse(unsigned irq) {
    pic_set_irq(&pic, irq, 1);
    pic_set_irq(&pic, irq, 0);
  }
  uint8_t ReadIsr(uint16_t cmd) {
    Out(cmd, 0x0b);
    return In(cmd);
  }
  uint8_t ReadIrr(uint16_t cmd) {
    Out(cmd, 0x0a);
    return In(cmd);
  }
};

TEST_F(PicFixture, InitSequenceSetsVectorBaseAndClearsMasks) {
  Out(0x21, 0xff);  // OCW1 before init: masks everything
  InitPc(0x08, 0x70);
  EXPECT_EQ(In(0x21), 0x00);  // ICW1 cleared the IMR
  kvm_pic_state st;
  ASSERT_EQ(pic_get_state(&pic, KVM_IRQCHIP_PIC_MASTER, &st), 0);
  EXPECT_EQ(st.irq_base, 0x08);
  EXPECT_EQ(st.init_state, 0);
  EXPECT_EQ(st.init4, 1);
  Pulse(1);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x09);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  EXPECT_EQ(ReadIsr(0x20), 0x02);
  Out(0x20, 0x20);  // non-specific EOI
  EXPECT_EQ(ReadIsr(0x20), 0x00);
  EXPECT_EQ(acked, std::vector<unsigned>{1});
}

TEST_F(PicFixture, InitWithoutIcw4AndSingleMode) {
  Out(0x20, 0x12);  // ICW1: single, no ICW4
  Out(0x21, 0x40);  // ICW2; no ICW3 in single mode, no ICW4
  Out(0x21, 0xfe);  // so this is OCW1 already
  EXPECT_EQ(In(0x21), 0xfe);
  Pulse(0);
  EXPECT_EQ(pic_acknowledge(&pic), 0x40);
}

TEST_F(PicFixture, IcwSequenceIsStateful) {
  Out(0x20, 0x11);
  kvm_pic_state st;
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.init_state, 1);
  Out(0x21, 0x20);
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.init_state, 2);
  Out(0x21, 0x04);
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.init_state, 3);
  Out(0x21, 0x03);  // AEOI
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.init_state, 0);
  EXPECT_EQ(st.auto_eoi, 1);
}

TEST_F(PicFixture, FullyNestedPriority) {
  InitPc();
  Pulse(3);
  Pulse(1);
  EXPECT_EQ(pic_acknowledge(&pic), 0x21);  // IR1 before IR3
  EXPECT_FALSE(pic_has_interrupt(&pic));   // IR3 is lower than IR1 in service
  Pulse(0);
  EXPECT_TRUE(pic_has_interrupt(&pic));  // IR0 is higher: nests
  EXPECT_EQ(pic_acknowledge(&pic), 0x20);
  EXPECT_EQ(ReadIsr(0x20), 0x03);
  Out(0x20, 0x20);  // EOI clears IR0 (highest in service)
  EXPECT_EQ(ReadIsr(0x20), 0x02);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  Out(0x20, 0x20);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x23);
}

TEST_F(PicFixture, SpecificEoiAndRotation) {
  InitPc();
  Pulse(1);
  Pulse(4);
  EXPECT_EQ(pic_acknowledge(&pic), 0x21);
  Out(0x20, 0x60 | 1);  // specific EOI IR1
  EXPECT_EQ(ReadIsr(0x20), 0);
  EXPECT_EQ(pic_acknowledge(&pic), 0x24);
  Out(0x20, 0xa0);  // rotate on non-specific EOI: IR4 becomes lowest, IR5 highest
  kvm_pic_state st;
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.priority_add, 5);
  Pulse(2 + 1);  // IR3
  Pulse(6);
  EXPECT_EQ(pic_acknowledge(&pic), 0x26);  // IR6 outranks IR3 now
  Out(0x20, 0xe0 | 6);                     // rotate on specific EOI of IR6
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.priority_add, 7);
  Out(0x20, 0xc0 | 2);  // set priority: IR2 lowest, IR3 highest
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.priority_add, 3);
  EXPECT_EQ(pic_acknowledge(&pic), 0x23);
}

TEST_F(PicFixture, AutoEoiLeavesIsrClearAndCanRotate) {
  InitPc(0x20, 0x28, 0x03);
  Pulse(5);
  EXPECT_EQ(pic_acknowledge(&pic), 0x25);
  EXPECT_EQ(ReadIsr(0x20), 0);
  EXPECT_EQ(acked, std::vector<unsigned>{5});  // AEOI: acknowledged at INTA
  Out(0x20, 0x80);  // set rotate in AEOI
  Pulse(5);
  EXPECT_EQ(pic_acknowledge(&pic), 0x25);
  kvm_pic_state st;
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.rotate_on_auto_eoi, 1);
  EXPECT_EQ(st.priority_add, 6);
}

TEST_F(PicFixture, AckListenersHearSpecificEoisOfInServiceLevelsOnly) {
  InitPc();
  Pulse(0);
  Pulse(3);
  EXPECT_EQ(pic_acknowledge(&pic), 0x20);
  EXPECT_TRUE(acked.empty());
  Out(0x20, 0x63);  // specific EOI of IR3: not in service, nothing heard
  EXPECT_TRUE(acked.empty());
  Out(0x20, 0x60);  // specific EOI of IR0
  EXPECT_EQ(acked, std::vector<unsigned>{0});
  EXPECT_EQ(pic_acknowledge(&pic), 0x23);
  Out(0x20, 0xe3);  // rotate on specific EOI of IR3
  EXPECT_EQ(acked, (std::vector<unsigned>{0, 3}));
  Out(0x20, 0x20);  // non-specific EOI with nothing in service
  EXPECT_EQ(acked.size(), 2u);
}

TEST_F(PicFixture, CascadeThroughIr2) {
  InitPc();
  Pulse(10);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x2a);
  EXPECT_EQ(ReadIsr(0x20), 0x04);
  EXPECT_EQ(ReadIsr(0xa0), 0x04);
  EXPECT_TRUE(acked.empty());  // acknowledged at the EOI, not at INTA
  Pulse(9);  // higher on the slave, but master IR2 is in service: blocked
  EXPECT_FALSE(pic_has_interrupt(&pic));
  Out(0xa0, 0x20);
  EXPECT_EQ(acked, std::vector<unsigned>{10});
  Out(0x20, 0x20);  // the cascade input's EOI is no device's
  EXPECT_EQ(acked, std::vector<unsigned>{10});
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x29);
}

TEST_F(PicFixture, SlaveMaskedBehindMasterMask) {
  InitPc();
  Out(0x21, 0x04);  // mask the cascade
  Pulse(12);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  Out(0x21, 0x00);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x2c);
}

TEST_F(PicFixture, SpecialFullyNestedModeLetsHigherSlaveRequestsThrough) {
  InitPc(0x20, 0x28, 0x11);  // SFNM on the master
  Pulse(10);
  EXPECT_EQ(pic_acknowledge(&pic), 0x2a);
  Pulse(9);  // higher priority on the slave than 10
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x29);
  Pulse(11);  // lower than 10 and 9 on the slave: still blocked there
  EXPECT_FALSE(pic_has_interrupt(&pic));
}

TEST_F(PicFixture, EdgeNeedsANewRisingEdge) {
  InitPc();
  EXPECT_EQ(pic_set_irq(&pic, 4, 1), 1);
  EXPECT_EQ(pic_set_irq(&pic, 4, 1), 0);  // still high: no new edge
  EXPECT_EQ(pic_acknowledge(&pic), 0x24);
  Out(0x20, 0x20);
  EXPECT_FALSE(pic_has_interrupt(&pic));  // line still high, but edge-triggered
  pic_set_irq(&pic, 4, 1);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  pic_set_irq(&pic, 4, 0);
  pic_set_irq(&pic, 4, 1);
  EXPECT_TRUE(pic_has_interrupt(&pic));
}

TEST_F(PicFixture, EdgeRequestSurvivesTheLineFalling) {
  InitPc();
  Pulse(6);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(ReadIrr(0x20), 0x40);
}

TEST_F(PicFixture, LevelFromElcrRepeatsWhileHigh) {
  InitPc();
  Out(0x4d1, 0x02);  // IRQ9 level
  EXPECT_EQ(In(0x4d1), 0x02);
  pic_set_irq(&pic, 9, 1);
  EXPECT_EQ(pic_acknowledge(&pic), 0x29);
  Out(0xa0, 0x20);
  Out(0x20, 0x20);
  EXPECT_TRUE(pic_has_interrupt(&pic));  // still asserted
  EXPECT_EQ(pic_acknowledge(&pic), 0x29);
  Out(0xa0, 0x20);
  Out(0x20, 0x20);
  pic_set_irq(&pic, 9, 0);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  EXPECT_EQ(ReadIrr(0xa0), 0);
}

TEST_F(PicFixture, ElcrWritableBitsArePiix) {
  Out(0x4d0, 0xff);
  Out(0x4d1, 0xff);
  EXPECT_EQ(In(0x4d0), 0xf8);  // IRQ0-2 always edge
  EXPECT_EQ(In(0x4d1), 0xde);  // IRQ8 and IRQ13 always edge
}

TEST_F(PicFixture, SpuriousIrq7WhenALevelRequestVanishes) {
  InitPc();
  Out(0x4d0, 0x20);  // IRQ5 level
  pic_set_irq(&pic, 5, 1);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  pic_set_irq(&pic, 5, 0);  // gone before INTA
  EXPECT_EQ(pic_acknowledge(&pic), 0x27);
  EXPECT_EQ(ReadIsr(0x20), 0);  // spurious: nothing in service
  EXPECT_TRUE(acked.empty());
}

TEST_F(PicFixture, SlaveRequestWithdrawnDoesNotLingerOnTheCascade) {
  InitPc();
  Out(0x4d1, 0x08);  // IRQ11 level
  pic_set_irq(&pic, 11, 1);
  EXPECT_TRUE(pic_has_interrupt(&pic));
  pic_set_irq(&pic, 11, 0);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x27);  // master IR7
}

TEST_F(PicFixture, ReadIrrIsrAndPoll) {
  InitPc();
  Pulse(3);
  Pulse(5);
  EXPECT_EQ(ReadIrr(0x20), 0x28);
  EXPECT_EQ(In(0x20), 0x28);  // selection sticks
  Out(0x20, 0x0c);            // poll
  EXPECT_EQ(In(0x20), 0x83);  // IR3, acknowledged
  EXPECT_EQ(ReadIsr(0x20), 0x08);
  Out(0x20, 0x20);
  Out(0x20, 0x0c);
  EXPECT_EQ(In(0x20), 0x85);
  Out(0x20, 0x20);
  Out(0x20, 0x0c);
  EXPECT_EQ(In(0x20), 0x00);  // nothing pending
}

TEST_F(PicFixture, SpecialMaskModeOpensLowerLevels) {
  InitPc();
  Pulse(3);
  EXPECT_EQ(pic_acknowledge(&pic), 0x23);
  Pulse(5);
  EXPECT_FALSE(pic_has_interrupt(&pic));
  Out(0x21, 0x08);  // mask IR3 (in service)
  Out(0x20, 0x68);  // enter special mask mode
  EXPECT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x25);
  Out(0x20, 0x48);  // leave special mask mode
  kvm_pic_state st;
  pic_get_state(&pic, 0, &st);
  EXPECT_EQ(st.special_mask, 0);
}

TEST_F(PicFixture, SetIrqReportsMaskedAndCoalesced) {
  InitPc();
  Out(0x21, 0x10);
  EXPECT_EQ(pic_set_irq(&pic, 4, 1), -1);
  EXPECT_EQ(pic_set_irq(&pic, 3, 1), 1);
  pic_set_irq(&pic, 3, 0);
  EXPECT_EQ(pic_set_irq(&pic, 3, 1), 0);  // IR3 still pending: coalesced
}

TEST_F(PicFixture, OutputCallbackAndMaskNotifications) {
  InitPc();
  outputs.clear();
  Pulse(1);
  pic_acknowledge(&pic);
  EXPECT_EQ(outputs, (std::vector<bool>{true, false}));
  masks.clear();
  Out(0x21, 0x01);
  ASSERT_EQ(masks.size(), 1u);
  EXPECT_EQ(masks[0], std::make_pair(0u, true));
}

TEST_F(PicFixture, Icw1ResetsInServiceAndPendingEdges) {
  InitPc();
  Pulse(1);
  Pulse(3);
  pic_acknowledge(&pic);
  InitPc();
  EXPECT_EQ(ReadIsr(0x20), 0);
  EXPECT_EQ(ReadIrr(0x20), 0);
  EXPECT_FALSE(pic_has_interrupt(&pic));
}

TEST_F(PicFixture, StateRoundTrip) {
  InitPc(0x30, 0x38);
  Out(0x4d1, 0x04);
  Out(0xa1, 0x80);
  Pulse(9);
  kvm_pic_state m, s;
  ASSERT_EQ(pic_get_state(&pic, 0, &m), 0);
  ASSERT_EQ(pic_get_state(&pic, 1, &s), 0);
  EXPECT_EQ(pic_get_state(&pic, 2, &s), -EINVAL);
  EXPECT_EQ(s.irr, 0x02);
  EXPECT_EQ(s.imr, 0x80);
  EXPECT_EQ(s.elcr, 0x04);
  EXPECT_EQ(s.elcr_mask, 0xde);
  EXPECT_EQ(m.elcr_mask, 0xf8);

  struct pic other;
  pic_init(&other, nullptr, nullptr);
  ASSERT_EQ(pic_set_state(&other, 0, &m), 0);
  ASSERT_EQ(pic_set_state(&other, 1, &s), 0);
  EXPECT_TRUE(pic_has_interrupt(&other));
  EXPECT_EQ(pic_acknowledge(&other), 0x39);
}

}  // namespace
