// The PIT's lost-tick reinjection end to end in userspace: the 8254, the PIC pair, the IOAPIC
// and two local APICs (kernel/irqchip/) wired the way kernel/x86/irq.c wires them, with QEMU's
// routing table (GSI 0 on PIC master pin 0 and on IOAPIC pin 2).  A guest's view: every PIT
// tick the host ran late for still arrives, one at a time, each only after the guest
// acknowledged the previous one with an EOI (PIC OCW2 or LAPIC EOI of the IOAPIC pin's
// vector); unmasking IRQ0 forgets the backlog; with KVM_REINJECT_CONTROL off, late ticks are
// lost.  Facts from upstream KVM's i8254 (ack and mask notifiers, KVM_REINJECT_CONTROL).
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "ioapic.h"
#include "irq_routing.h"
#include "lapic.h"
#include "pic.h"
#include "pit.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

constexpr int kCpus = 2;
constexpr uint8_t kTimerVector = 0x30;  // what Linux gives IRQ0 through the IOAPIC
constexpr uint32_t kMasked = 1u << 16;
constexpr uint64_t kPeriod = 1193;  // ~1 ms in PIT input clocks

// The first nanosecond at which k input clocks have elapsed.
uint64_t T(uint64_t k) { return (k * 1000000000ull + 1193181) / 1193182; }

struct PitReinjectBoard : ::testing::Test {
  struct pit pit;
  struct pic pic;
  struct ioapic io;
  struct lapic apic[kCpus];
  struct lapic* apics[kCpus];
  unsigned rr = 0;
  std::vector<kvm_irq_routing_entry> routes;
  unsigned acks = 0;  // counted inside the models, handed over by Flush() (the glue's work item)
  int pulses = 0;

  static PitReinjectBoard* B(void* o) { return static_cast<PitReinjectBoard*>(o); }
  // The glue's callbacks.
  static void Irq0Pulse(void* o) {
    B(o)->pulses++;
    B(o)->SetGsi(0, 1);
    B(o)->SetGsi(0, 0);
  }
  static void PitTimer(void*, uint64_t) {}
  static void PicOutput(void*, bool) {}
  static void PicAcked(void* o, unsigned irq) {
    B(o)->Acked(irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq & 7);
  }
  static void PicMask(void* o, unsigned irq, bool masked) {
    B(o)->MaskChanged(irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq & 7, masked);
  }
  static int Deliver(void* o, const irq_msg* m) {
    return lapic_deliver_msg(B(o)->apics, kCpus, nullptr, m, &B(o)->rr);
  }
  static void PinAcked(void* o, unsigned pin) { B(o)->Acked(KVM_IRQCHIP_IOAPIC, pin); }
  static void PinMask(void* o, unsigned pin, bool masked) {
    B(o)->MaskChanged(KVM_IRQCHIP_IOAPIC, pin, masked);
  }
  static void SendIpi(void* o, const irq_msg* m) { Deliver(o, m); }
  static void EoiBroadcast(void* o, uint8_t v) { ioapic_eoi(&B(o)->io, v); }
  static void LapicTimer(void*, uint64_t) {}
  static void Kick(void*) {}

  static constexpr pit_ops kPitOps = {Irq0Pulse, PitTimer};
  static constexpr pic_ops kPicOps = {PicOutput, PicAcked, PicMask};
  static constexpr ioapic_ops kIoapicOps = {Deliver, PinMask, PinAcked};
  static constexpr lapic_ops kLapicOps = {SendIpi, EoiBroadcast, LapicTimer, Kick};

  uint32_t Irq0Pins(uint32_t chip) {
    return irq_routing_gsi_pins(routes.data(), uint32_t(routes.size()), 0, chip);
  }
  void Acked(uint32_t chip, unsigned pin) {
    if (pit.reinject && (Irq0Pins(chip) & (1u << pin))) acks++;
  }
  void MaskChanged(uint32_t chip, unsigned pin, bool masked) {
    if (pit.reinject && (Irq0Pins(chip) & (1u << pin))) pit_irq0_mask_changed(&pit, masked);
  }
  void Flush() {
    for (; acks; acks--) pit_irq0_acked(&pit);
  }
  void Scan() {
    ioapic_scan_eoi_notify(&io, pit.reinject ? Irq0Pins(KVM_IRQCHIP_IOAPIC) : 0, apics, kCpus);
  }
  void SetGsi(uint32_t gsi, int level) {
    for (const auto& e : routes) {
      if (e.gsi != gsi) continue;
      if (e.u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC)
        ioapic_set_irq(&io, e.u.irqchip.pin, level);
      else
        pic_set_irq(&pic, e.u.irqchip.pin + (e.u.irqchip.irqchip ? 8 : 0), level);
    }
  }
  void Route(uint32_t gsi, uint32_t chip, uint32_t pin) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_IRQCHIP;
    e.u.irqchip.irqchip = chip;
    e.u.irqchip.pin = pin;
    routes.push_back(e);
  }

  void SetUp() override {
    // QEMU's table for GSI 0 (the PIT): PIC master pin 0 and IOAPIC pin 2.
    Route(0, KVM_IRQCHIP_PIC_MASTER, 0);
    Route(0, KVM_IRQCHIP_IOAPIC, 2);
    pic_init(&pic, &kPicOps, this);
    ioapic_init(&io, &kIoapicOps, this);
    for (int i = 0; i < kCpus; i++) {
      lapic_init(&apic[i], i, i == 0, &kLapicOps, this);
      apics[i] = &apic[i];
      ApicWrite(i, LAPIC_SPIV, 0x1ff);
    }
    pit_init(&pit, 0, &kPitOps, this, 0);  // reinjection on, as KVM_CREATE_PIT2 leaves it
    Scan();
  }

  void ApicWrite(int cpu, uint32_t off, uint32_t v) {
    ASSERT_TRUE(lapic_mmio_write(&apic[cpu], off, 4, v, 0));
  }
  void IoapicReg(uint32_t reg, uint32_t v) {
    ASSERT_TRUE(ioapic_mmio_write(&io, 0x00, 4, reg));
    ASSERT_TRUE(ioapic_mmio_write(&io, 0x10, 4, v));
    Scan();  // the glue rescans after every IOAPIC write
  }
  // IOAPIC pin 2: edge, fixed, physical destination cpu.
  void RouteTimerPin(int cpu, bool masked = false) {
    IoapicReg(0x10 + 2 * 2 + 1, uint32_t(cpu) << 24);
    IoapicReg(0x10 + 2 * 2, kTimerVector | (masked ? kMasked : 0));
  }
  void InitPic() {
    for (uint8_t v : {0x11, 0x20, 0x04, 0x01}) pic_port_write(&pic, v == 0x11 ? 0x20 : 0x21, v);
    for (uint8_t v : {0x11, 0x28, 0x02, 0x01}) pic_port_write(&pic, v == 0x11 ? 0xa0 : 0xa1, v);
  }
  // Channel 0, mode 2 (rate generator), kPeriod clocks, loaded at time 0.
  void StartPit() {
    pit_port_write(&pit, 0x43, 0x34, 0);
    pit_port_write(&pit, 0x40, kPeriod & 0xff, 0);
    pit_port_write(&pit, 0x40, kPeriod >> 8, 0);
  }
  // The guest takes what its LAPIC offers (-1: nothing).
  int Take(int cpu) { return lapic_has_interrupt(&apic[cpu]) >= 0 ? lapic_acknowledge(&apic[cpu]) : -1; }
  void LapicEoi(int cpu) {
    ApicWrite(cpu, LAPIC_EOI, 0);
    Flush();
  }
};

TEST_F(PitReinjectBoard, LateTicksArriveOneByOneAfterEachIoapicEoi) {
  RouteTimerPin(0);
  StartPit();
  // The host ran the hrtimer three periods late: one pulse now, two owed.
  pit_timer_expired(&pit, T(3 * kPeriod) + 5);
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(Take(0), kTimerVector);
  EXPECT_EQ(Take(0), -1);  // nothing more until the guest acknowledges
  for (int tick = 2; tick <= 3; tick++) {
    LapicEoi(0);
    EXPECT_EQ(pulses, tick);
    EXPECT_EQ(Take(0), kTimerVector) << "tick " << tick;
    EXPECT_EQ(Take(0), -1);
  }
  LapicEoi(0);
  EXPECT_EQ(pulses, 3);  // all three delivered, no more owed
  EXPECT_EQ(pit.pending, 0u);
  EXPECT_EQ(Take(0), -1);
}

TEST_F(PitReinjectBoard, AnUnacknowledgedTickHoldsTheNextBack) {
  RouteTimerPin(0);
  StartPit();
  pit_timer_expired(&pit, T(kPeriod));
  EXPECT_EQ(Take(0), kTimerVector);
  pit_timer_expired(&pit, T(2 * kPeriod));  // on time, but the first is still in service
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(Take(0), -1);
  LapicEoi(0);
  EXPECT_EQ(pulses, 2);
  EXPECT_EQ(Take(0), kTimerVector);
}

TEST_F(PitReinjectBoard, OnlyTheTargetedLapicsEoiCounts) {
  RouteTimerPin(0);
  StartPit();
  pit_timer_expired(&pit, T(2 * kPeriod));
  EXPECT_EQ(Take(0), kTimerVector);
  // Vector 0x30 on CPU 1 is some other interrupt (Linux's vectors are per CPU).
  lapic_accept_interrupt(&apic[1], LAPIC_DM_FIXED, kTimerVector, false);
  EXPECT_EQ(Take(1), kTimerVector);
  LapicEoi(1);
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(pit.pending, 2u);
  LapicEoi(0);
  EXPECT_EQ(pulses, 2);
}

TEST_F(PitReinjectBoard, RetargetingThePinMovesTheAcknowledgement) {
  RouteTimerPin(1);
  StartPit();
  pit_timer_expired(&pit, T(2 * kPeriod));
  EXPECT_EQ(Take(0), -1);
  EXPECT_EQ(Take(1), kTimerVector);
  LapicEoi(1);
  EXPECT_EQ(pulses, 2);
  EXPECT_EQ(Take(1), kTimerVector);
}

TEST_F(PitReinjectBoard, ThroughThePicTheEoiIsTheAcknowledgement) {
  InitPic();  // IMR 0 after ICW1; the IOAPIC pin stays masked (reset state)
  StartPit();
  pit_timer_expired(&pit, T(2 * kPeriod));
  ASSERT_TRUE(pic_has_interrupt(&pic));
  EXPECT_EQ(pic_acknowledge(&pic), 0x20);
  Flush();
  EXPECT_EQ(pulses, 1);  // INTA is not the acknowledgement
  EXPECT_FALSE(pic_has_interrupt(&pic));
  pic_port_write(&pic, 0x20, 0x20);  // non-specific EOI
  Flush();
  EXPECT_EQ(pulses, 2);
  EXPECT_EQ(pic_acknowledge(&pic), 0x20);
  pic_port_write(&pic, 0x20, 0x20);
  Flush();
  EXPECT_EQ(pulses, 2);
  EXPECT_EQ(pit.pending, 0u);
}

TEST_F(PitReinjectBoard, UnmaskingIrq0ForgetsTheBacklog) {
  RouteTimerPin(0, /*masked=*/true);
  StartPit();
  pit_timer_expired(&pit, T(5 * kPeriod));  // five ticks while the guest had IRQ0 masked
  EXPECT_EQ(pit.pending, 5u);
  RouteTimerPin(0);
  EXPECT_EQ(pit.pending, 0u);
  pit_timer_expired(&pit, T(6 * kPeriod));
  EXPECT_EQ(Take(0), kTimerVector);
  LapicEoi(0);
  EXPECT_EQ(Take(0), -1);  // only the new tick
}

TEST_F(PitReinjectBoard, WithReinjectionOffLateTicksAreLost) {
  RouteTimerPin(0);
  pit_set_reinject(&pit, false);  // KVM_REINJECT_CONTROL pit_reinject = 0
  Scan();
  EXPECT_EQ(apic[0].eoi_notify[kTimerVector / 32], 0u);  // no EOI reports wanted any more
  StartPit();
  pit_timer_expired(&pit, T(3 * kPeriod));
  EXPECT_EQ(Take(0), kTimerVector);
  LapicEoi(0);
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(Take(0), -1);
  pit_timer_expired(&pit, T(4 * kPeriod));  // each expiry pulses, acknowledged or not
  pit_timer_expired(&pit, T(5 * kPeriod));
  EXPECT_EQ(pulses, 3);
}

}  // namespace
