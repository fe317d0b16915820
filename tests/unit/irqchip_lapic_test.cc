// The local APIC model (kernel/irqchip/lapic.c) on a fake four-vCPU machine: the IPI callback
// fans messages out with lapic_deliver_msg(), the timer callback records deadlines against a
// fake nanosecond clock.  Expected behaviour from the Intel SDM vol. 3A chapter 10 and the
// x2APIC specification.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "lapic.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

constexpr int kCpus = 4;

struct Machine;
struct Cpu {
  Machine* m;
  int index;
  struct lapic apic;
  std::vector<uint8_t> eois;
  std::vector<uint64_t> deadlines;
  int kicks = 0;
};

struct Machine {
  Cpu cpu[kCpus];
  struct lapic* apics[kCpus];
  unsigned rr = 0;
  int ipis = 0;

  static void SendIpi(void* o, const irq_msg* msg) {
    auto* c = static_cast<Cpu*>(o);
    c->m->ipis++;
    lapic_deliver_msg(c->m->apics, kCpus, &c->apic, msg, &c->m->rr);
  }
  static void Eoi(void* o, uint8_t v) { static_cast<Cpu*>(o)->eois.push_back(v); }
  static void Timer(void* o, uint64_t ns) { static_cast<Cpu*>(o)->deadlines.push_back(ns); }
  static void Kick(void* o) { static_cast<Cpu*>(o)->kicks++; }
  static constexpr lapic_ops kOps = {SendIpi, Eoi, Timer, Kick};

  Machine() {
    for (int i = 0; i < kCpus; i++) {
      cpu[i].m = this;
      cpu[i].index = i;
      lapic_init(&cpu[i].apic, i, i == 0, &kOps, &cpu[i]);
      cpu[i].apic.x2apic_supported = true;
      cpu[i].apic.tsc_deadline_supported = true;
      apics[i] = &cpu[i].apic;
    }
  }
};

uint32_t Rd(struct lapic* a, uint32_t off, uint64_t now = 0) {
  uint32_t v = 0xdeadbeef;
  EXPECT_TRUE(lapic_mmio_read(a, off, 4, &v, now));
  return v;
}
void Wr(struct lapic* a, uint32_t off, uint32_t v, uint64_t now = 0) {
  EXPECT_TRUE(lapic_mmio_write(a, off, 4, v, now));
}
void Enable(struct lapic* a) { Wr(a, LAPIC_SPIV, 0x1ff); }
bool IrrHas(struct lapic* a, int v) {
  return Rd(a, LAPIC_IRR + (v / 32) * 16) & (1u << (v % 32));
}
bool IsrHas(struct lapic* a, int v) {
  return Rd(a, LAPIC_ISR + (v / 32) * 16) & (1u << (v % 32));
}

struct LapicFixture : ::testing::Test {
  Machine m;
  struct lapic* a = &m.cpu[0].apic;
  void SetUp() override {
    for (auto& c : m.cpu) Enable(&c.apic);
  }
  void Icr(struct lapic* src, uint32_t hi, uint32_t lo) {
    Wr(src, LAPIC_ICR2, hi);
    Wr(src, LAPIC_ICR, lo);
  }
  // Which of the four got `vector` in their IRR; clears them for the next check.
  std::vector<int> Receivers(int vector) {
    std::vector<int> r;
    for (int i = 0; i < kCpus; i++) {
      if (IrrHas(&m.cpu[i].apic, vector)) {
        r.push_back(i);
        EXPECT_EQ(lapic_acknowledge(&m.cpu[i].apic), vector);
        Wr(&m.cpu[i].apic, LAPIC_EOI, 0);
      }
    }
    return r;
  }
};

using V = std::vector<int>;

TEST_F(LapicFixture, ResetValues) {
  Machine fresh;
  struct lapic* b = &fresh.cpu[1].apic;
  EXPECT_EQ(Rd(b, LAPIC_ID), 1u << 24);
  EXPECT_EQ(Rd(b, LAPIC_LVR), 0x00050014u);
  EXPECT_EQ(Rd(b, LAPIC_SPIV), 0xffu);
  EXPECT_EQ(Rd(b, LAPIC_DFR), 0xffffffffu);
  for (uint32_t off : {LAPIC_LVTT, LAPIC_LVTTHMR, LAPIC_LVTPC, LAPIC_LVT0, LAPIC_LVT1, LAPIC_LVTERR})
    EXPECT_EQ(Rd(b, off), LAPIC_LVT_MASKED) << off;
  EXPECT_EQ(b->apic_base, 0xfee00000ull | LAPIC_BASE_ENABLE);
  // The BSP comes up with LINT0 in ExtINT mode, unmasked: the PIC is connected.
  struct lapic* bsp = &fresh.cpu[0].apic;
  EXPECT_EQ(Rd(bsp, LAPIC_LVT0), 0x700u);
  EXPECT_EQ(bsp->apic_base, 0xfee00000ull | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP);
  EXPECT_TRUE(lapic_accepts_pic_intr(bsp));
  EXPECT_FALSE(lapic_accepts_pic_intr(b));
}

TEST_F(LapicFixture, PriorityTprPprIrrIsr) {
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x51, false);
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x62, false);
  EXPECT_EQ(lapic_has_interrupt(a), 0x62);
  Wr(a, LAPIC_TASKPRI, 0x70);
  EXPECT_EQ(Rd(a, LAPIC_PROCPRI), 0x70u);
  EXPECT_EQ(lapic_has_interrupt(a), -1);
  Wr(a, LAPIC_TASKPRI, 0x62);  // same class as 0x62: still blocked
  EXPECT_EQ(lapic_has_interrupt(a), -1);
  Wr(a, LAPIC_TASKPRI, 0x55);
  EXPECT_EQ(lapic_acknowledge(a), 0x62);
  EXPECT_TRUE(IsrHas(a, 0x62));
  EXPECT_FALSE(IrrHas(a, 0x62));
  EXPECT_EQ(Rd(a, LAPIC_PROCPRI), 0x60u);  // ISRV class beats TPR
  EXPECT_EQ(lapic_has_interrupt(a), -1);  // 0x51 is below
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x6f, false);
  EXPECT_EQ(lapic_has_interrupt(a), -1);  // same class as in service
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x70, false);
  EXPECT_EQ(lapic_acknowledge(a), 0x70);  // nests
  Wr(a, LAPIC_EOI, 0);
  EXPECT_FALSE(IsrHas(a, 0x70));
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(Rd(a, LAPIC_PROCPRI), 0x55u);
  EXPECT_EQ(lapic_acknowledge(a), 0x6f);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(lapic_has_interrupt(a), -1);  // 0x51 is class 5 = PPR class 5
  Wr(a, LAPIC_TASKPRI, 0);
  EXPECT_EQ(lapic_acknowledge(a), 0x51);
}

TEST_F(LapicFixture, Cr8IsTprHighNibble) {
  lapic_set_cr8(a, 9);
  EXPECT_EQ(Rd(a, LAPIC_TASKPRI), 0x90u);
  Wr(a, LAPIC_TASKPRI, 0x4f);
  EXPECT_EQ(lapic_get_cr8(a), 4u);
}

TEST_F(LapicFixture, EoiOfLevelVectorReachesTheIoapic) {
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x40, true);
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x30, false);
  EXPECT_TRUE(Rd(a, LAPIC_TMR + (0x40 / 32) * 16) & (1u << (0x40 % 32)));
  EXPECT_EQ(lapic_acknowledge(a), 0x40);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(m.cpu[0].eois, std::vector<uint8_t>{0x40});
  EXPECT_EQ(lapic_acknowledge(a), 0x30);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(m.cpu[0].eois.size(), 1u);  // edge: no broadcast
}

TEST_F(LapicFixture, EoiNotifyReportsChosenEdgeVectors) {
  lapic_set_eoi_notify(a, 0x38, true);
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x38, false);
  EXPECT_EQ(lapic_acknowledge(a), 0x38);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(m.cpu[0].eois, std::vector<uint8_t>{0x38});
  lapic_set_eoi_notify(a, 0x38, false);
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x38, false);
  lapic_acknowledge(a);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(m.cpu[0].eois.size(), 1u);
}

TEST_F(LapicFixture, CoalescingAndKicks) {
  int k = m.cpu[1].kicks;
  EXPECT_EQ(lapic_accept_interrupt(&m.cpu[1].apic, LAPIC_DM_FIXED, 0x80, false), 1);
  EXPECT_EQ(lapic_accept_interrupt(&m.cpu[1].apic, LAPIC_DM_FIXED, 0x80, false), 0);
  EXPECT_EQ(m.cpu[1].kicks, k + 1);
}

TEST_F(LapicFixture, SoftwareDisabledDropsFixedButTakesNmi) {
  Wr(a, LAPIC_SPIV, 0xff);
  EXPECT_EQ(lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x80, false), 0);
  EXPECT_EQ(lapic_accept_interrupt(a, LAPIC_DM_NMI, 0, false), 1);
  EXPECT_EQ(a->nmi_pending, 1u);
}

TEST_F(LapicFixture, SoftwareDisableMasksAllLvts) {
  Wr(a, LAPIC_LVTT, 0x20);
  EXPECT_EQ(Rd(a, LAPIC_LVTT), 0x20u);
  Wr(a, LAPIC_SPIV, 0xff);
  EXPECT_EQ(Rd(a, LAPIC_LVTT), 0x20u | LAPIC_LVT_MASKED);
  Wr(a, LAPIC_LVTT, 0x21);  // cannot unmask while disabled
  EXPECT_EQ(Rd(a, LAPIC_LVTT), 0x21u | LAPIC_LVT_MASKED);
  Enable(a);
  Wr(a, LAPIC_LVTT, 0x21);
  EXPECT_EQ(Rd(a, LAPIC_LVTT), 0x21u);
}

TEST_F(LapicFixture, IpiPhysicalAndBroadcast) {
  Icr(a, 2u << 24, 0x4041);
  EXPECT_EQ(Receivers(0x41), V{2});
  Icr(a, 0xffu << 24, 0x4042);
  EXPECT_EQ(Receivers(0x42), (V{0, 1, 2, 3}));
  Icr(a, 7u << 24, 0x4043);  // nobody has ID 7
  EXPECT_EQ(Receivers(0x43), V{});
}

TEST_F(LapicFixture, IpiShorthands) {
  struct lapic* src = &m.cpu[1].apic;
  Icr(src, 0, 0x4051 | (LAPIC_SH_SELF << 18));
  EXPECT_EQ(Receivers(0x51), V{1});
  Icr(src, 0, 0x4052 | (LAPIC_SH_ALL_INCL_SELF << 18));
  EXPECT_EQ(Receivers(0x52), (V{0, 1, 2, 3}));
  Icr(src, 0, 0x4053 | (LAPIC_SH_ALL_EXCL_SELF << 18));
  EXPECT_EQ(Receivers(0x53), (V{0, 2, 3}));
  // A shorthand ignores the destination field.
  Icr(src, 3u << 24, 0x4054 | (LAPIC_SH_SELF << 18));
  EXPECT_EQ(Receivers(0x54), V{1});
}

TEST_F(LapicFixture, LogicalFlat) {
  for (int i = 0; i < kCpus; i++) Wr(&m.cpu[i].apic, LAPIC_LDR, (1u << i) << 24);
  Icr(a, 0x05u << 24, 0x4861);  // logical, MDA 0b0101
  EXPECT_EQ(Receivers(0x61), (V{0, 2}));
  Icr(a, 0x08u << 24, 0x4862);
  EXPECT_EQ(Receivers(0x62), V{3});
  Icr(a, 0xffu << 24, 0x4863);
  EXPECT_EQ(Receivers(0x63), (V{0, 1, 2, 3}));
  Icr(a, 0x30u << 24, 0x4864);
  EXPECT_EQ(Receivers(0x64), V{});
}

TEST_F(LapicFixture, LogicalCluster) {
  // Two clusters of two: cluster 1 = CPUs 0, 1; cluster 2 = CPUs 2, 3.
  const uint32_t ldr[kCpus] = {0x11, 0x12, 0x21, 0x22};
  for (int i = 0; i < kCpus; i++) {
    Wr(&m.cpu[i].apic, LAPIC_DFR, 0x0fffffff);
    Wr(&m.cpu[i].apic, LAPIC_LDR, ldr[i] << 24);
  }
  EXPECT_EQ(Rd(a, LAPIC_DFR), 0x0fffffffu);
  Icr(a, 0x13u << 24, 0x4871);
  EXPECT_EQ(Receivers(0x71), (V{0, 1}));
  Icr(a, 0x22u << 24, 0x4872);
  EXPECT_EQ(Receivers(0x72), V{3});
  Icr(a, 0x31u << 24, 0x4873);
  EXPECT_EQ(Receivers(0x73), V{});
}

TEST_F(LapicFixture, LowestPriorityPicksLowestTpr) {
  for (int i = 0; i < kCpus; i++) {
    Wr(&m.cpu[i].apic, LAPIC_LDR, (1u << i) << 24);
    Wr(&m.cpu[i].apic, LAPIC_TASKPRI, 0x40);
  }
  Wr(&m.cpu[2].apic, LAPIC_TASKPRI, 0x10);
  Icr(a, 0x0fu << 24, 0x4981);  // lowest priority, logical, all four
  EXPECT_EQ(Receivers(0x81), V{2});
  Wr(&m.cpu[2].apic, LAPIC_TASKPRI, 0x40);
  // Ties rotate: two deliveries land on two different CPUs.
  Icr(a, 0x0fu << 24, 0x4982);
  V first = Receivers(0x82);
  Icr(a, 0x0fu << 24, 0x4982);
  V second = Receivers(0x82);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first, second);
}

TEST_F(LapicFixture, NmiInitSipi) {
  struct lapic* t = &m.cpu[3].apic;
  Icr(a, 3u << 24, 0x4400);  // NMI
  EXPECT_EQ(t->nmi_pending, 1u);
  Icr(a, 3u << 24, 0xc500);  // INIT assert, level
  EXPECT_TRUE(t->init_pending);
  t->init_pending = false;
  Icr(a, 3u << 24, 0x8500);  // INIT level de-assert: ignored
  EXPECT_FALSE(t->init_pending);
  Icr(a, 3u << 24, 0x4609);  // SIPI, start page 9
  EXPECT_TRUE(t->sipi_pending);
  EXPECT_EQ(t->sipi_vector, 9);
  Icr(a, 0, 0x4400 | (LAPIC_SH_ALL_EXCL_SELF << 18));
  EXPECT_EQ(a->nmi_pending, 0u);
  EXPECT_EQ(m.cpu[1].apic.nmi_pending, 1u);
  EXPECT_EQ(t->nmi_pending, 2u);
}

// INIT-SIPI-SIPI where the target took the first SIPI, started and halted before the second
// came: that SIPI stays latched (nothing waits for it), and the next INIT must not pair with it.
// Only a SIPI sent after the INIT is the one that starts the CPU.
TEST_F(LapicFixture, InitDropsSipiLatchedBeforeIt) {
  struct lapic* t = &m.cpu[1].apic;
  Icr(a, 1u << 24, 0x4608);  // a stale SIPI, start page 8 (firmware's)
  ASSERT_TRUE(t->sipi_pending);
  Icr(a, 1u << 24, 0xc500);  // the OS's INIT assert
  EXPECT_TRUE(t->init_pending);
  EXPECT_FALSE(t->sipi_pending);
  Icr(a, 1u << 24, 0x8500);  // de-assert: ignored, changes nothing
  EXPECT_TRUE(t->init_pending);
  Icr(a, 1u << 24, 0x4699);  // the OS's SIPI, page 0x99
  EXPECT_TRUE(t->init_pending);
  EXPECT_TRUE(t->sipi_pending);
  EXPECT_EQ(t->sipi_vector, 0x99);
  // Its second SIPI only repeats the vector.
  Icr(a, 1u << 24, 0x4699);
  EXPECT_EQ(t->sipi_vector, 0x99);
}

TEST_F(LapicFixture, IcrDeliveryStatusReadsIdle) {
  Icr(a, 1u << 24, 0x4041 | (1u << 12));
  EXPECT_EQ(Rd(a, LAPIC_ICR) & (1u << 12), 0u);
  EXPECT_EQ(Rd(a, LAPIC_ICR2), 1u << 24);
}

TEST_F(LapicFixture, EsrLatchesOnWrite) {
  Icr(a, 1u << 24, 0x4005);  // fixed vector 5: illegal, not sent
  EXPECT_FALSE(IrrHas(&m.cpu[1].apic, 5));
  EXPECT_EQ(Rd(a, LAPIC_ESR), 0u);  // not visible until the write
  Wr(a, LAPIC_ESR, 0);
  EXPECT_EQ(Rd(a, LAPIC_ESR), LAPIC_ESR_SEND_ILLEGAL);
  Wr(a, LAPIC_ESR, 0);
  EXPECT_EQ(Rd(a, LAPIC_ESR), 0u);
  // Receive side, with the error LVT raising vector 0xfe.
  Wr(a, LAPIC_LVTERR, 0xfe);
  EXPECT_EQ(lapic_accept_interrupt(a, LAPIC_DM_FIXED, 3, false), 0);
  Wr(a, LAPIC_ESR, 0);
  EXPECT_EQ(Rd(a, LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL);
  EXPECT_EQ(lapic_has_interrupt(a), 0xfe);
}

TEST_F(LapicFixture, LintThroughLvt) {
  struct lapic* b = &m.cpu[1].apic;
  lapic_raise_lvt(b, LAPIC_LVT_LINT1);  // masked at reset
  EXPECT_EQ(b->nmi_pending, 0u);
  Wr(b, LAPIC_LVT1, 0x400);  // NMI
  lapic_raise_lvt(b, LAPIC_LVT_LINT1);
  EXPECT_EQ(b->nmi_pending, 1u);
  Wr(b, LAPIC_LVT0, 0x700);  // ExtINT
  EXPECT_TRUE(lapic_accepts_pic_intr(b));
  lapic_raise_lvt(b, LAPIC_LVT_LINT0);
  EXPECT_TRUE(b->extint_pending);
  Wr(b, LAPIC_LVT0, 0x8000 | 0x93);  // fixed, level
  lapic_raise_lvt(b, LAPIC_LVT_LINT0);
  EXPECT_EQ(lapic_has_interrupt(b), 0x93);
}

// The PIT's NMI-watchdog wire: an NMI-mode LINT0 marks the VM as wanting it, and each tick
// goes to every LAPIC through its own LVT0 (masked: nothing; ExtINT: left to the PIC's INTR).
TEST_F(LapicFixture, PitTickThroughLint0) {
  struct lapic* b = &m.cpu[1].apic;
  struct lapic* c = &m.cpu[2].apic;
  struct lapic* d = &m.cpu[3].apic;
  EXPECT_FALSE(lapic_lvt0_nmi_mode(a));  // BSP: ExtINT at reset
  EXPECT_FALSE(lapic_lvt0_nmi_mode(b));  // APs: masked at reset
  Wr(b, LAPIC_LVT0, 0x10400);            // NMI, masked
  EXPECT_FALSE(lapic_lvt0_nmi_mode(b));
  Wr(b, LAPIC_LVT0, 0x400);              // NMI
  EXPECT_TRUE(lapic_lvt0_nmi_mode(b));
  Wr(c, LAPIC_LVT0, 0x55);               // fixed 0x55
  for (auto& cpu : m.cpu) lapic_pit_tick_lint0(&cpu.apic);
  EXPECT_EQ(b->nmi_pending, 1u);
  EXPECT_EQ(lapic_has_interrupt(c), 0x55);
  EXPECT_FALSE(a->extint_pending);
  EXPECT_EQ(a->nmi_pending, 0u);
  EXPECT_EQ(d->nmi_pending, 0u);
  EXPECT_EQ(lapic_has_interrupt(d), -1);
  // A hardware-disabled APIC takes nothing, whatever its LVT0 says.
  Wr(d, LAPIC_LVT0, 0x400);
  ASSERT_EQ(lapic_set_base(d, 0xfee00000, true), 0);
  EXPECT_FALSE(lapic_hw_enabled(d));
  lapic_pit_tick_lint0(d);
  EXPECT_EQ(d->nmi_pending, 0u);
}

// ---- timer ----

TEST_F(LapicFixture, OneShotTimer) {
  Wr(a, LAPIC_TDCR, 0xb);  // divide by 1
  Wr(a, LAPIC_LVTT, 0xec);
  Wr(a, LAPIC_TMICT, 1000, 5000);
  EXPECT_EQ(m.cpu[0].deadlines.back(), 6000u);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 5400), 600u);
  EXPECT_EQ(lapic_timer_expired(a, 5999), 6000u);  // early: nothing yet
  EXPECT_EQ(lapic_has_interrupt(a), -1);
  EXPECT_EQ(lapic_timer_expired(a, 6000), 0u);
  EXPECT_EQ(lapic_has_interrupt(a), 0xec);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 6500), 0u);
  EXPECT_EQ(lapic_timer_expired(a, 7000), 0u);  // once only
}

TEST_F(LapicFixture, DivideConfiguration) {
  const struct {
    uint32_t tdcr, div;
  } cases[] = {{0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
  for (auto c : cases) {
    Wr(a, LAPIC_TDCR, c.tdcr);
    Wr(a, LAPIC_TMICT, 100, 0);
    EXPECT_EQ(m.cpu[0].deadlines.back(), 100u * c.div) << c.tdcr;
    EXPECT_EQ(Rd(a, LAPIC_TMCCT, 10 * c.div), 90u) << c.tdcr;
  }
}

TEST_F(LapicFixture, MaskedTimerStillCountsButRaisesNothing) {
  Wr(a, LAPIC_TDCR, 0xb);
  Wr(a, LAPIC_LVTT, LAPIC_LVT_MASKED | 0xec);
  Wr(a, LAPIC_TMICT, 1000, 0);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 250), 750u);
  lapic_timer_expired(a, 1000);
  EXPECT_EQ(lapic_has_interrupt(a), -1);
}

TEST_F(LapicFixture, PeriodicTimer) {
  Wr(a, LAPIC_TDCR, 0x0);  // divide by 2
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0xed);
  Wr(a, LAPIC_TMICT, 500000, 0);  // 1 ms
  EXPECT_EQ(m.cpu[0].deadlines.back(), 1000000u);
  EXPECT_EQ(lapic_timer_expired(a, 1000000), 2000000u);
  EXPECT_EQ(lapic_acknowledge(a), 0xed);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 2500000), 250000u);  // reloaded each period
  // A late expiry coalesces the missed periods into one interrupt.
  EXPECT_EQ(lapic_timer_expired(a, 5200000), 6000000u);
  EXPECT_EQ(lapic_acknowledge(a), 0xed);
  Wr(a, LAPIC_EOI, 0);
  EXPECT_EQ(lapic_has_interrupt(a), -1);
}

TEST_F(LapicFixture, PeriodicTimerIsNotScheduledTooOften) {
  Wr(a, LAPIC_TDCR, 0xb);
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0xed);
  Wr(a, LAPIC_TMICT, 10, 0);
  EXPECT_EQ(m.cpu[0].deadlines.back(), LAPIC_MIN_PERIOD_NS);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 3), 7u);  // the guest-visible count is exact
}

TEST_F(LapicFixture, TimerModeChangeDisarms) {
  Wr(a, LAPIC_TDCR, 0xb);
  Wr(a, LAPIC_TMICT, 1000, 0);
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0xed, 10);
  EXPECT_EQ(m.cpu[0].deadlines.back(), 0u);
  EXPECT_EQ(Rd(a, LAPIC_TMICT), 0u);
}

TEST_F(LapicFixture, DivideChangeWhileCountingKeepsTheCount) {
  Wr(a, LAPIC_TDCR, 0xb);
  Wr(a, LAPIC_TMICT, 1000, 0);
  Wr(a, LAPIC_TDCR, 0x0, 400);  // 600 left, now at 2 ns per tick
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 400), 600u);
  EXPECT_EQ(m.cpu[0].deadlines.back(), 1600u);
}

TEST_F(LapicFixture, TscDeadline) {
  a->tsc_khz = 2000000;  // 2 GHz: 2 TSC ticks per ns
  EXPECT_EQ(lapic_read_tsc_deadline(a), 0u);
  lapic_write_tsc_deadline(a, 5000, 0, 0);  // not in TSC-deadline mode: ignored
  EXPECT_EQ(lapic_read_tsc_deadline(a), 0u);
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_TSCDEADLINE | 0xee);
  EXPECT_EQ(Rd(a, LAPIC_LVTT), LAPIC_TIMER_TSCDEADLINE | 0xeeu);
  Wr(a, LAPIC_TMICT, 1000, 0);  // ignored in this mode
  EXPECT_EQ(Rd(a, LAPIC_TMICT), 0u);
  lapic_write_tsc_deadline(a, 11000, 1000, 100);
  EXPECT_EQ(lapic_read_tsc_deadline(a), 11000u);
  EXPECT_EQ(m.cpu[0].deadlines.back(), 100u + 5000u);
  EXPECT_EQ(Rd(a, LAPIC_TMCCT, 200), 0u);
  EXPECT_EQ(lapic_timer_expired(a, 5100), 0u);
  EXPECT_EQ(lapic_has_interrupt(a), 0xee);
  EXPECT_EQ(lapic_read_tsc_deadline(a), 0u);  // cleared on expiry
  lapic_acknowledge(a);
  Wr(a, LAPIC_EOI, 0);
  lapic_write_tsc_deadline(a, 500, 1000, 6000);  // already passed: fires now
  EXPECT_EQ(lapic_has_interrupt(a), 0xee);
  lapic_write_tsc_deadline(a, 1 << 30, 1000, 6000);
  lapic_write_tsc_deadline(a, 0, 1000, 6000);  // disarm
  EXPECT_EQ(m.cpu[0].deadlines.back(), 0u);
}

TEST_F(LapicFixture, TscDeadlineModeNeedsCpuid) {
  a->tsc_deadline_supported = false;
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_TSCDEADLINE | 0xee);
  EXPECT_EQ(Rd(a, LAPIC_LVTT), 0xeeu);
}

// ---- x2APIC ----

struct X2apicFixture : LapicFixture {
  struct lapic* x = &m.cpu[1].apic;
  void SetUp() override {
    LapicFixture::SetUp();
    x->initial_id = 0x13;  // so the cluster arithmetic shows
    ASSERT_EQ(lapic_set_base(x, 0xfee00000ull | LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD, false), 0);
  }
  uint64_t R(uint32_t msr) {
    uint64_t v = 0;
    EXPECT_EQ(lapic_msr_read(x, msr, &v, 0), 0) << std::hex << msr;
    return v;
  }
};

TEST_F(X2apicFixture, MsrsNeedX2apicMode) {
  uint64_t v;
  EXPECT_EQ(lapic_msr_read(a, 0x802, &v, 0), LAPIC_MSR_GP);
  EXPECT_EQ(lapic_msr_write(a, 0x808, 0, 0), LAPIC_MSR_GP);
  EXPECT_EQ(lapic_msr_read(x, 0x802, &v, 0), 0);
}

TEST_F(X2apicFixture, IdAndDerivedLdr) {
  EXPECT_EQ(R(0x802), 0x13u);
  EXPECT_EQ(R(0x80d), 0x00010008u);  // cluster 1, bit 3
  EXPECT_EQ(R(0x803), 0x00050014u);
  uint32_t v;
  EXPECT_FALSE(lapic_mmio_read(x, LAPIC_ID, 4, &v, 0));  // no MMIO in x2APIC mode
}

TEST_F(X2apicFixture, GpRules) {
  uint64_t v;
  EXPECT_EQ(lapic_msr_write(x, 0x802, 5, 0), LAPIC_MSR_GP);    // ID read-only
  EXPECT_EQ(lapic_msr_write(x, 0x80d, 5, 0), LAPIC_MSR_GP);    // LDR read-only
  EXPECT_EQ(lapic_msr_read(x, 0x80b, &v, 0), LAPIC_MSR_GP);    // EOI write-only
  EXPECT_EQ(lapic_msr_write(x, 0x80b, 1, 0), LAPIC_MSR_GP);    // EOI must be 0
  EXPECT_EQ(lapic_msr_write(x, 0x80b, 0, 0), 0);
  EXPECT_EQ(lapic_msr_read(x, 0x80e, &v, 0), LAPIC_MSR_GP);    // no DFR
  EXPECT_EQ(lapic_msr_read(x, 0x809, &v, 0), LAPIC_MSR_GP);    // no APR
  EXPECT_EQ(lapic_msr_read(x, 0x82f, &v, 0), LAPIC_MSR_GP);    // no CMCI
  EXPECT_EQ(lapic_msr_read(x, 0x831, &v, 0), LAPIC_MSR_GP);    // no ICR2
  EXPECT_EQ(lapic_msr_read(x, 0x83f, &v, 0), LAPIC_MSR_GP);    // SELF_IPI write-only
  EXPECT_EQ(lapic_msr_write(x, 0x828, 1, 0), LAPIC_MSR_GP);    // ESR write must be 0
  EXPECT_EQ(lapic_msr_write(x, 0x808, 0x100, 0), LAPIC_MSR_GP);  // TPR reserved bits
  EXPECT_EQ(lapic_msr_write(x, 0x808, 1ull << 32, 0), LAPIC_MSR_GP);
  EXPECT_EQ(lapic_msr_write(x, 0x80f, 0x1000 | 0x1ff, 0), LAPIC_MSR_GP);  // no directed EOI
  EXPECT_EQ(lapic_msr_write(x, 0x835, 1u << 17, 0), LAPIC_MSR_GP);  // LINT0 reserved bit
  // Read-only status bits written back as read are ignored, not faulted (read-modify-write).
  EXPECT_EQ(lapic_msr_write(x, 0x835, (1u << 14) | (1u << 12) | 0x10000, 0), 0);
  EXPECT_EQ(R(0x835), 0x10000u);
  EXPECT_EQ(lapic_msr_write(x, 0x839, 0, 0), LAPIC_MSR_GP);  // TMCCT read-only
  EXPECT_EQ(lapic_msr_write(x, 0x83f, 0x100, 0), LAPIC_MSR_GP);
  EXPECT_EQ(lapic_msr_write(x, 0x83e, 0x4, 0), LAPIC_MSR_GP);  // TDCR bit 2 reserved
  EXPECT_EQ(lapic_msr_write(x, 0x808, 0x20, 0), 0);
  EXPECT_EQ(R(0x808), 0x20u);
  EXPECT_EQ(lapic_msr_read(x, 0x7ff, &v, 0), LAPIC_MSR_GP);
}

TEST_F(X2apicFixture, SelfIpiAndIsrIrrMsrs) {
  EXPECT_EQ(lapic_msr_write(x, 0x83f, 0x91, 0), 0);
  EXPECT_EQ(R(0x820 + 0x91 / 32), 1ull << (0x91 % 32));
  EXPECT_EQ(lapic_acknowledge(x), 0x91);
  EXPECT_EQ(R(0x810 + 0x91 / 32), 1ull << (0x91 % 32));
  EXPECT_EQ(lapic_msr_write(x, 0x80b, 0, 0), 0);
  EXPECT_EQ(R(0x810 + 0x91 / 32), 0u);
}

TEST_F(X2apicFixture, IcrIsOne64BitMsr) {
  // Put the other three in x2APIC mode too and send to x2APIC ID 2 physically.
  for (int i : {0, 2, 3})
    ASSERT_EQ(lapic_set_base(&m.cpu[i].apic, 0xfee00000ull | LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD,
                             false), 0);
  EXPECT_EQ(lapic_msr_write(x, 0x830, (2ull << 32) | 0x4055, 0), 0);
  EXPECT_EQ(lapic_has_interrupt(&m.cpu[2].apic), 0x55);
  EXPECT_EQ(R(0x830), (2ull << 32) | 0x4055);
  // Logical x2APIC: cluster 0, members 0 and 3.
  EXPECT_EQ(lapic_msr_write(x, 0x830, (0x9ull << 32) | 0x4856, 0), 0);
  EXPECT_EQ(lapic_has_interrupt(&m.cpu[0].apic), 0x56);
  EXPECT_EQ(lapic_has_interrupt(&m.cpu[3].apic), 0x56);
  // Broadcast 0xffffffff.
  EXPECT_EQ(lapic_msr_write(x, 0x830, (0xffffffffull << 32) | 0x4060, 0), 0);
  EXPECT_TRUE(R(0x820 + 0x60 / 32) & (1ull << (0x60 % 32)));
}

TEST_F(LapicFixture, ApicBaseTransitions) {
  const uint64_t base = 0xfee00000ull, en = LAPIC_BASE_ENABLE, x2 = LAPIC_BASE_EXTD;
  struct lapic* b = &m.cpu[2].apic;
  EXPECT_EQ(lapic_set_base(b, base | en | 0x1, false), LAPIC_MSR_GP);        // reserved bit 0
  EXPECT_EQ(lapic_set_base(b, base | en | (1ull << 9), false), LAPIC_MSR_GP);  // reserved bit 9
  b->maxphyaddr = 40;
  EXPECT_EQ(lapic_set_base(b, (1ull << 40) | en, false), LAPIC_MSR_GP);
  EXPECT_EQ(lapic_set_base(b, base | x2, false), LAPIC_MSR_GP);  // EN=0, EXTD=1 invalid
  EXPECT_EQ(lapic_set_base(b, base | en | x2, false), 0);       // xAPIC -> x2APIC
  EXPECT_EQ(lapic_set_base(b, base | en, false), LAPIC_MSR_GP);  // x2APIC -> xAPIC
  EXPECT_EQ(lapic_set_base(b, base, false), 0);                  // x2APIC -> disabled
  EXPECT_FALSE(lapic_hw_enabled(b));
  EXPECT_EQ(lapic_set_base(b, base | en | x2, false), LAPIC_MSR_GP);  // disabled -> x2APIC
  EXPECT_EQ(lapic_set_base(b, base | en | x2, true), 0);              // ...unless the host does it
  EXPECT_EQ(lapic_set_base(b, base, false), 0);
  EXPECT_EQ(lapic_set_base(b, 0xfed00000ull | en, false), 0);  // relocate, xAPIC
  EXPECT_EQ(lapic_base_address(b), 0xfed00000ull);
  b->x2apic_supported = false;
  EXPECT_EQ(lapic_set_base(b, 0xfed00000ull | en | x2, false), LAPIC_MSR_GP);
}

TEST_F(LapicFixture, HardwareDisableLosesStateAndDeafens) {
  struct lapic* b = &m.cpu[2].apic;
  Wr(b, LAPIC_TASKPRI, 0x30);
  lapic_accept_interrupt(b, LAPIC_DM_FIXED, 0x80, false);
  ASSERT_EQ(lapic_set_base(b, 0xfee00000ull, false), 0);
  EXPECT_EQ(lapic_accept_interrupt(b, LAPIC_DM_NMI, 0, false), 0);
  EXPECT_EQ(lapic_has_interrupt(b), -1);
  uint32_t v;
  EXPECT_FALSE(lapic_mmio_read(b, LAPIC_ID, 4, &v, 0));
  EXPECT_TRUE(lapic_accepts_pic_intr(b));  // INTR goes straight to the core
  ASSERT_EQ(lapic_set_base(b, 0xfee00000ull | LAPIC_BASE_ENABLE, false), 0);
  EXPECT_EQ(Rd(b, LAPIC_TASKPRI), 0u);
  EXPECT_EQ(Rd(b, LAPIC_SPIV), 0xffu);
  EXPECT_EQ(Rd(b, LAPIC_ID), 2u << 24);
}

TEST_F(LapicFixture, InitSignalKeepsIdAndBase) {
  struct lapic* b = &m.cpu[3].apic;
  Wr(b, LAPIC_ID, 9u << 24);
  Wr(b, LAPIC_TASKPRI, 0x30);
  lapic_init_signal(b);
  EXPECT_EQ(Rd(b, LAPIC_ID), 9u << 24);
  EXPECT_EQ(Rd(b, LAPIC_TASKPRI), 0u);
  EXPECT_EQ(Rd(b, LAPIC_SPIV), 0xffu);
  EXPECT_TRUE(lapic_hw_enabled(b));
}

TEST_F(LapicFixture, StateRoundTripContinuesTheTimer) {
  Wr(a, LAPIC_TDCR, 0xb);
  Wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0xe0);
  Wr(a, LAPIC_TMICT, 1000000, 0);
  Wr(a, LAPIC_TASKPRI, 0x20);
  lapic_accept_interrupt(a, LAPIC_DM_FIXED, 0x99, false);
  kvm_lapic_state st;
  lapic_get_state(a, &st, 300000);
  uint32_t regs[256];
  std::memcpy(regs, st.regs, sizeof(regs));
  EXPECT_EQ(regs[LAPIC_TMCCT / 4], 700000u);
  EXPECT_EQ(regs[LAPIC_TASKPRI / 4], 0x20u);

  Machine other;
  struct lapic* b = &other.cpu[0].apic;
  ASSERT_EQ(lapic_set_state(b, &st, 5000000), 0);
  EXPECT_EQ(Rd(b, LAPIC_TMCCT, 5000000), 700000u);
  EXPECT_EQ(other.cpu[0].deadlines.back(), 5700000u);
  EXPECT_EQ(lapic_has_interrupt(b), 0x99);
}

TEST_F(X2apicFixture, StateCarriesXapicFormatId) {
  kvm_lapic_state st;
  lapic_get_state(x, &st, 0);
  uint32_t regs[256];
  std::memcpy(regs, st.regs, sizeof(regs));
  EXPECT_EQ(regs[LAPIC_ID / 4], 0x13u << 24);
  regs[LAPIC_LDR / 4] = 0;  // recomputed on set
  std::memcpy(st.regs, regs, sizeof(regs));
  ASSERT_EQ(lapic_set_state(x, &st, 0), 0);
  EXPECT_EQ(R(0x802), 0x13u);
  EXPECT_EQ(R(0x80d), 0x00010008u);
}

}  // namespace
