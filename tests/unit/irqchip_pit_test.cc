// The 8254 PIT model (kernel/irqchip/pit.c) driven through ports 0x40-0x43 and 0x61 against a
// fake nanosecond clock.  Expected behaviour from the Intel 8254 datasheet (modes 0-5, latch
// and read-back commands, status byte, access modes, BCD) and the PC wiring (1.193182 MHz,
// channel 2 gate and OUT on port 0x61).
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "pit.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace {

// The first nanosecond at which k input clocks have elapsed: ceil(k * 10^9 / 1193182).
uint64_t T(uint64_t k) { return (k * 1000000000ull + 1193181) / 1193182; }

struct PitFixture : ::testing::Test {
  struct pit pit;
  int pulses = 0;
  std::vector<uint64_t> deadlines;

  static void Pulse(void* o) { static_cast<PitFixture*>(o)->pulses++; }
  static void Timer(void* o, uint64_t ns) { static_cast<PitFixture*>(o)->deadlines.push_back(ns); }
  static constexpr pit_ops kOps = {Pulse, Timer};

  void SetUp() override { pit_init(&pit, 0, &kOps, this, 0); }

  void Out(uint16_t port, uint8_t v, uint64_t now) { ASSERT_TRUE(pit_port_write(&pit, port, v, now)); }
  uint8_t In(uint16_t port, uint64_t now) {
    uint8_t v = 0;
    EXPECT_TRUE(pit_port_read(&pit, port, &v, now));
    return v;
  }
  // Control word then a 16-bit count, LSB first.
  void Program(unsigned ch, uint8_t mode, uint16_t count, uint64_t now, bool bcd = false) {
    Out(0x43, uint8_t(ch << 6 | 0x30 | mode << 1 | (bcd ? 1 : 0)), now);
    Out(0x40 + ch, count & 0xff, now);
    Out(0x40 + ch, count >> 8, now);
  }
  uint16_t ReadWord(unsigned ch, uint64_t now) {
    uint8_t lo = In(0x40 + ch, now);
    return uint16_t(lo | In(0x40 + ch, now) << 8);
  }
  bool Out2(uint64_t now) { return In(0x61, now) & 0x20; }
};

TEST_F(PitFixture, Mode2RateGeneratorOnChannel0) {
  const uint64_t t0 = 1000;
  Program(0, 2, 1193, t0);
  ASSERT_FALSE(deadlines.empty());
  EXPECT_EQ(deadlines.back(), t0 + T(1193));
  EXPECT_TRUE(pit_output(&pit, 0, t0 + T(1191)));
  EXPECT_FALSE(pit_output(&pit, 0, t0 + T(1192)));  // low for the one clock at count 1
  EXPECT_TRUE(pit_output(&pit, 0, t0 + T(1193)));   // the rising edge: IRQ0
  EXPECT_EQ(ReadWord(0, t0 + T(193)), 1000);
  EXPECT_EQ(ReadWord(0, t0 + T(1193 + 193)), 1000);  // reloaded
  EXPECT_EQ(pit_timer_expired(&pit, t0 + T(1193)), t0 + T(2 * 1193));
  EXPECT_EQ(pulses, 1);
}

TEST_F(PitFixture, Mode0InterruptOnTerminalCountViaPort61) {
  Out(0x61, 0x01, 0);  // gate 2 on, speaker off
  Program(2, 0, 100, 0);
  EXPECT_FALSE(Out2(0));
  EXPECT_FALSE(Out2(T(99)));
  EXPECT_TRUE(Out2(T(100)));
  EXPECT_TRUE(Out2(T(5000)));  // stays high
  EXPECT_EQ(ReadWord(2, T(40)), 60);
  EXPECT_EQ(ReadWord(2, T(101)), 0xffff);  // keeps counting down, wrapping
}

TEST_F(PitFixture, Mode0OneShotOnChannel0) {
  Program(0, 0, 500, 0);
  EXPECT_EQ(deadlines.back(), T(500));
  EXPECT_EQ(pit_timer_expired(&pit, T(500)), 0u);
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(pit_timer_expired(&pit, T(2000)), 0u);
  EXPECT_EQ(pulses, 1);
}

TEST_F(PitFixture, Mode1RetriggersOnGateEdge) {
  Out(0x61, 0x01, 0);
  Program(2, 1, 50, 0);
  EXPECT_FALSE(Out2(T(10)));
  EXPECT_TRUE(Out2(T(50)));
  Out(0x61, 0x00, T(60));
  Out(0x61, 0x01, T(70));  // rising edge: one-shot again
  EXPECT_FALSE(Out2(T(70) + T(49)));
  EXPECT_TRUE(Out2(T(70) + T(50) + 1));
}

TEST_F(PitFixture, Mode3SquareWave) {
  Out(0x61, 0x01, 0);
  Program(2, 3, 10, 0);
  for (int d = 0; d < 30; d++) EXPECT_EQ(Out2(T(d)), d % 10 < 5) << d;
  EXPECT_EQ(ReadWord(2, T(2)), 6);  // counts down by two
  Out(0x61, 0x00, T(7));            // gate low forces OUT high
  EXPECT_TRUE(Out2(T(7)));
}

TEST_F(PitFixture, Mode3OddCountHighHalfIsLonger) {
  Out(0x61, 0x01, 0);
  Program(2, 3, 9, 0);
  for (int d = 0; d < 9; d++) EXPECT_EQ(Out2(T(d)), d < 5) << d;
}

TEST_F(PitFixture, Mode4SoftwareStrobe) {
  Out(0x61, 0x01, 0);
  Program(2, 4, 20, 0);
  EXPECT_TRUE(Out2(T(19)));
  EXPECT_FALSE(Out2(T(20)));
  EXPECT_TRUE(Out2(T(21)));
}

TEST_F(PitFixture, Mode5HardwareStrobeRetriggers) {
  Out(0x61, 0x01, 0);
  Program(2, 5, 20, 0);
  EXPECT_FALSE(Out2(T(20)));
  Out(0x61, 0x00, T(30));
  Out(0x61, 0x01, T(40));
  EXPECT_TRUE(Out2(T(40) + T(19)));
  EXPECT_FALSE(Out2(T(40) + T(20) + 1));
}

TEST_F(PitFixture, Mode4And2OnChannel0Schedule) {
  Program(0, 4, 100, 0);
  EXPECT_EQ(deadlines.back(), T(101));  // OUT rises after the strobe
  Out(0x43, 0x3e, 0);                   // mode 7 = mode 3
  EXPECT_EQ(deadlines.back(), 0u);      // no count yet: nothing armed
  Out(0x40, 0x00, 0);
  Out(0x40, 0x10, 0);  // 0x1000
  EXPECT_EQ(deadlines.back(), T(0x1000));
}

TEST_F(PitFixture, CounterLatchFreezesTheValue) {
  Program(0, 2, 1000, 0);
  Out(0x43, 0x00, T(100));  // latch channel 0
  Out(0x43, 0x00, T(300));  // ignored: first latch not read yet
  EXPECT_EQ(ReadWord(0, T(500)), 900);
  EXPECT_EQ(ReadWord(0, T(500)), 500);  // live again
}

TEST_F(PitFixture, LsbOnlyAndMsbOnlyAccess) {
  Out(0x43, 0x10, 0);  // channel 0, LSB only, mode 0
  Out(0x40, 0x50, 0);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count, 0x50u);
  EXPECT_EQ(In(0x40, T(0x10)), 0x40);
  EXPECT_EQ(In(0x40, T(0x10)), 0x40);  // always the LSB
  Out(0x43, 0x20, 0);                  // MSB only
  Out(0x40, 0x12, 0);
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count, 0x1200u);
  EXPECT_EQ(In(0x40, T(0x100)), 0x11);
}

TEST_F(PitFixture, WordAccessAlternatesAndKeepsHalfWrittenState) {
  Out(0x43, 0x30, 0);
  Out(0x40, 0x34, 0);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].write_state, PIT_RW_WORD1);
  EXPECT_EQ(st.channels[0].write_latch, 0x34);
  Out(0x40, 0x12, 0);
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count, 0x1234u);
  EXPECT_EQ(st.channels[0].write_state, PIT_RW_WORD0);
  EXPECT_EQ(In(0x40, 0), 0x34);
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].read_state, PIT_RW_WORD1);
  EXPECT_EQ(In(0x40, 0), 0x12);
}

TEST_F(PitFixture, ZeroMeans65536) {
  Program(0, 2, 0, 0);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count, 0x10000u);
  EXPECT_EQ(deadlines.back(), T(65536));
  EXPECT_EQ(ReadWord(0, 0), 0);
  EXPECT_EQ(ReadWord(0, T(1)), 0xffff);
}

TEST_F(PitFixture, BcdCountsInDecimal) {
  Program(0, 0, 0x1234, 0, true);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count, 1234u);  // binary ticks in the ABI
  EXPECT_EQ(st.channels[0].bcd, 1);
  EXPECT_EQ(ReadWord(0, T(34)), 0x1200);
  EXPECT_EQ(ReadWord(0, T(1235)), 0x9999);  // wraps modulo 10000
  EXPECT_EQ(deadlines.back(), T(1234));
}

TEST_F(PitFixture, ReadBackStatusAndCount) {
  Out(0x43, 0x34, 0);  // channel 0, word, mode 2: no count yet
  Out(0x43, 0xe2, 0);  // read-back: status only of channel 0
  EXPECT_EQ(In(0x40, 0), 0x80 | 0x40 | 0x30 | 0x04);  // OUT high, NULL COUNT
  Out(0x40, 0xe8, 0);
  Out(0x40, 0x03, 0);  // 1000
  Out(0x43, 0xc2, T(10));  // latch count and status of channel 0
  EXPECT_EQ(In(0x40, T(400)), 0x80 | 0x30 | 0x04);  // status first, count loaded
  EXPECT_EQ(ReadWord(0, T(400)), 990);
  // Read-back of channels 1 and 2 counts only.
  Out(0x61, 0x01, 0);
  Program(2, 0, 300, 0);
  Out(0x43, 0xd8, T(100));
  EXPECT_EQ(ReadWord(2, T(200)), 200);
}

TEST_F(PitFixture, ReinjectsLostTicksOneByOne) {
  const uint64_t n = 1193;
  Program(0, 2, n, 0);
  // The host ran the timer three periods late.
  EXPECT_EQ(pit_timer_expired(&pit, T(3 * n) + 5), T(4 * n));
  EXPECT_EQ(pulses, 1);
  EXPECT_EQ(pit.pending, 3u);
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 2);
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 3);
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 3);  // all three delivered
  EXPECT_EQ(pit.pending, 0u);
  // An on-time tick while none is outstanding goes out at once.
  pit_timer_expired(&pit, T(4 * n));
  EXPECT_EQ(pulses, 4);
  // One that arrives while the previous is unacknowledged waits.
  pit_timer_expired(&pit, T(5 * n));
  EXPECT_EQ(pulses, 4);
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 5);
}

TEST_F(PitFixture, WithoutReinjectionMissedTicksAreLost) {
  pit_set_reinject(&pit, false);
  Program(0, 2, 1193, 0);
  pit_timer_expired(&pit, T(3 * 1193));
  EXPECT_EQ(pulses, 1);
  pit_timer_expired(&pit, T(4 * 1193));
  EXPECT_EQ(pulses, 2);  // no ack needed
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 2);
}

TEST_F(PitFixture, ReinjectControlWithTheSamePolicyKeepsTheBacklog) {
  Program(0, 2, 1193, 0);
  pit_timer_expired(&pit, T(3 * 1193));
  EXPECT_EQ(pit.pending, 3u);
  pit_set_reinject(&pit, true);  // already on: nothing changes (upstream)
  EXPECT_EQ(pit.pending, 3u);
  pit_set_reinject(&pit, false);
  pit_set_reinject(&pit, true);  // a real change forgets it
  EXPECT_EQ(pit.pending, 0u);
  EXPECT_TRUE(pit.irq_ack);
}

TEST_F(PitFixture, UnmaskForgetsTheBacklog) {
  Program(0, 2, 1193, 0);
  pit_timer_expired(&pit, T(5 * 1193));
  EXPECT_EQ(pit.pending, 5u);
  pit_irq0_mask_changed(&pit, false);
  EXPECT_EQ(pit.pending, 0u);
  pit_irq0_acked(&pit);
  EXPECT_EQ(pulses, 1);
}

TEST_F(PitFixture, TinyPeriodsAreStretched) {
  Program(0, 2, 2, 0);
  EXPECT_EQ(deadlines.back(), PIT_MIN_PERIOD_NS);
  EXPECT_EQ(pit_timer_expired(&pit, PIT_MIN_PERIOD_NS), 2 * PIT_MIN_PERIOD_NS);
}

TEST_F(PitFixture, SpeakerPortBits) {
  Out(0x61, 0x03, 0);
  EXPECT_EQ(In(0x61, 0) & 0x03, 0x03);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON, (uint32_t)KVM_PIT_FLAGS_SPEAKER_DATA_ON);
  EXPECT_EQ(st.channels[2].gate, 1);
  EXPECT_NE(In(0x61, 0) & 0x10, In(0x61, 15085) & 0x10);  // refresh toggles
  uint8_t v;
  EXPECT_FALSE(pit_port_read(&pit, 0x60, &v, 0));
}

TEST_F(PitFixture, StateRoundTripKeepsTheSchedule) {
  const uint64_t t0 = 123456789;
  Program(0, 2, 11932, t0);
  kvm_pit_state2 st;
  pit_get_state(&pit, &st);
  EXPECT_EQ(st.channels[0].count_load_time, (int64_t)t0);
  EXPECT_EQ(st.channels[0].mode, 2);
  EXPECT_EQ(st.channels[0].rw_mode, 3);

  struct pit other;
  PitFixture* self = this;
  pit_init(&other, 0, &kOps, self, 0);
  deadlines.clear();
  const uint64_t now = t0 + T(3 * 11932 + 100);
  pit_set_state(&other, &st, now);
  ASSERT_FALSE(deadlines.empty());
  EXPECT_EQ(deadlines.back(), t0 + T(4 * 11932));
  EXPECT_EQ(pit_current_count(&other, 0, now), 11932u - 100u);
}

}  // namespace
