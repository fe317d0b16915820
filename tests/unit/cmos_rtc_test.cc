// MC146818 RTC and CMOS RAM through the index/data ports.
#include "devices/isa/cmos_rtc.h"

#include <gtest/gtest.h>

namespace {

using devices::CmosRtc;

// 2024-02-29 23:59:58 UTC, a Thursday.
constexpr std::int64_t kLeapDayNight = 1709251198;

class CmosTest : public ::testing::Test {
 protected:
  std::uint8_t get(std::uint8_t index) {
    rtc.write(CmosRtc::kIndexOffset, std::span(&index, 1));
    std::uint8_t v = 0;
    rtc.read(CmosRtc::kDataOffset, std::span(&v, 1));
    return v;
  }
  void put(std::uint8_t index, std::uint8_t value) {
    rtc.write(CmosRtc::kIndexOffset, std::span(&index, 1));
    rtc.write(CmosRtc::kDataOffset, std::span(&value, 1));
  }

  std::int64_t host_now = kLeapDayNight;
  CmosRtc rtc{[this] { return host_now; }};
};

TEST_F(CmosTest, TimeIsTheHostsInBcdAnd24HourByDefault) {
  EXPECT_EQ(get(CmosRtc::kSeconds), 0x58);
  EXPECT_EQ(get(CmosRtc::kMinutes), 0x59);
  EXPECT_EQ(get(CmosRtc::kHours), 0x23);
  EXPECT_EQ(get(CmosRtc::kDayOfWeek), 0x05);  // Thursday = 5 (Sunday = 1)
  EXPECT_EQ(get(CmosRtc::kDayOfMonth), 0x29);
  EXPECT_EQ(get(CmosRtc::kMonth), 0x02);
  EXPECT_EQ(get(CmosRtc::kYear), 0x24);
  EXPECT_EQ(get(CmosRtc::kCentury), 0x20);
  host_now += 3;  // the clock runs with the host's
  EXPECT_EQ(get(CmosRtc::kSeconds), 0x01);
  EXPECT_EQ(get(CmosRtc::kDayOfMonth), 0x01);
  EXPECT_EQ(get(CmosRtc::kMonth), 0x03);
}

TEST_F(CmosTest, BinaryAnd12HourModes) {
  put(CmosRtc::kRegB, CmosRtc::kRegBBinary);  // binary, 12-hour
  EXPECT_EQ(get(CmosRtc::kSeconds), 58);
  EXPECT_EQ(get(CmosRtc::kHours), 0x80 | 11) << "11 PM";
  EXPECT_EQ(get(CmosRtc::kYear), 24);
  host_now += 2;  // 00:00:00
  EXPECT_EQ(get(CmosRtc::kHours), 12) << "12 AM is 12 without the PM bit";
}

TEST_F(CmosTest, StatusRegisters) {
  EXPECT_EQ(get(CmosRtc::kRegA) & 0x80, 0) << "UIP never set";
  EXPECT_EQ(get(CmosRtc::kRegD), 0x80) << "valid RAM and time";
  EXPECT_EQ(get(CmosRtc::kRegC), 0x00);
  put(CmosRtc::kRegD, 0x00);
  EXPECT_EQ(get(CmosRtc::kRegD), 0x80) << "read-only";
}

TEST_F(CmosTest, SettingTheTimeKeepsAnOffsetFromTheHost) {
  host_now = 1710547198;      // 2024-03-15 23:59:58
  put(CmosRtc::kYear, 0x30);  // 2030
  put(CmosRtc::kHours, 0x08);
  EXPECT_EQ(get(CmosRtc::kYear), 0x30);
  EXPECT_EQ(get(CmosRtc::kHours), 0x08);
  EXPECT_EQ(get(CmosRtc::kMinutes), 0x59) << "other fields kept";
  host_now += 60;
  EXPECT_EQ(get(CmosRtc::kMinutes), 0x00) << "and the clock keeps running";
  EXPECT_EQ(get(CmosRtc::kHours), 0x09);
  EXPECT_EQ(get(CmosRtc::kDayOfMonth), 0x15);
  put(CmosRtc::kMonth, 0x13);  // nonsense is ignored
  EXPECT_EQ(get(CmosRtc::kMonth), 0x03);
  put(CmosRtc::kCentury, 0x21);
  EXPECT_EQ(get(CmosRtc::kYear), 0x30);
  EXPECT_EQ(get(CmosRtc::kCentury), 0x21);
}

TEST_F(CmosTest, NvramAndTheNmiBitOfTheIndex) {
  put(0x40, 0xab);
  EXPECT_EQ(get(0x40), 0xab);
  EXPECT_EQ(get(0x80 | 0x40), 0xab) << "bit 7 of the index is the NMI mask, not address";
}

TEST_F(CmosTest, MemorySizeRegisters) {
  rtc.set_memory_size(3ull << 30, 1ull << 30);  // 3 GiB below the hole, 1 GiB above
  rtc.set_cpu_count(4);
  EXPECT_EQ(get(0x15) | get(0x16) << 8, 640);
  EXPECT_EQ(get(0x17) | get(0x18) << 8, 0xffff) << "capped";
  EXPECT_EQ(get(0x30) | get(0x31) << 8, 0xffff);
  EXPECT_EQ(get(0x34) | get(0x35) << 8, ((3ull << 30) - (16ull << 20)) >> 16);
  EXPECT_EQ(get(0x5b) | get(0x5c) << 8 | get(0x5d) << 16, (1ull << 30) >> 16);
  EXPECT_EQ(get(0x5f), 3);
  rtc.set_memory_size(32ull << 20, 0);
  EXPECT_EQ(get(0x17) | get(0x18) << 8, 31 * 1024);
  EXPECT_EQ(get(0x34) | get(0x35) << 8, (16ull << 20) >> 16);
  EXPECT_EQ(get(0x5b) | get(0x5c) << 8 | get(0x5d) << 16, 0);
}

}  // namespace
