// fw_cfg, ACPI power management, the reset control register and port 0x80.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "devices/acpi/pm.h"
#include "devices/isa/fw_cfg.h"
#include "devices/isa/post_code.h"
#include "devices/isa/reset_control.h"

namespace {

std::uint64_t read_item(devices::FwCfg& fw, std::uint16_t key, int width) {
  const std::uint8_t sel[2] = {static_cast<std::uint8_t>(key), static_cast<std::uint8_t>(key >> 8)};
  fw.write(devices::FwCfg::kSelectorOffset, sel);
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    std::uint8_t b = 0;
    fw.read(devices::FwCfg::kDataOffset, std::span(&b, 1));
    v |= static_cast<std::uint64_t>(b) << (8 * i);
  }
  return v;
}

TEST(FwCfg, SignatureIdRamSizeAndCpuCount) {
  devices::FwCfg fw(6ull << 30, 3);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kSignature, 4), 0x554d4551u) << "\"QEMU\"";
  EXPECT_EQ(read_item(fw, devices::FwCfg::kId, 4), 1u) << "traditional interface, no DMA";
  EXPECT_EQ(read_item(fw, devices::FwCfg::kRamSize, 8), 6ull << 30);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kCpuCount, 2), 3u);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kMaxCpus, 2), 3u);
}

TEST(FwCfg, ReadsPastTheEndAndUnknownItemsGiveZeroAndSelectingRewinds) {
  devices::FwCfg fw(128ull << 20, 1);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kCpuCount, 4), 1u) << "two bytes, then zeros";
  EXPECT_EQ(read_item(fw, 0x1234, 4), 0u);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kSignature, 2), 0x4551u);
  EXPECT_EQ(read_item(fw, devices::FwCfg::kSignature, 4), 0x554d4551u) << "rewound";
}

class AcpiPmTest : public ::testing::Test {
 protected:
  std::uint16_t read16(std::uint64_t offset) {
    std::array<std::uint8_t, 2> b{};
    pm.read(offset, b);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  std::uint32_t timer() {
    std::array<std::uint8_t, 4> b{};
    pm.read(devices::AcpiPm::kPmTimerOffset, b);
    std::uint32_t v;
    std::memcpy(&v, b.data(), 4);
    return v;
  }
  void write16(std::uint64_t offset, std::uint16_t v) {
    const std::array<std::uint8_t, 2> b = {static_cast<std::uint8_t>(v),
                                           static_cast<std::uint8_t>(v >> 8)};
    pm.write(offset, b);
  }

  std::uint64_t now_ns = 5'000'000'000;
  int power_offs = 0;
  devices::AcpiPm pm{5, [this] { ++power_offs; }, [this] { return now_ns; }};
};

TEST_F(AcpiPmTest, SleepEnableWithTheS5TypePowersOff) {
  EXPECT_EQ(read16(devices::AcpiPm::kPm1ControlOffset) & devices::AcpiPm::kSciEnable, 1)
      << "always in ACPI mode";
  write16(devices::AcpiPm::kPm1ControlOffset, 5 << 10);  // type without SLP_EN
  EXPECT_EQ(power_offs, 0);
  write16(devices::AcpiPm::kPm1ControlOffset, 3 << 10 | devices::AcpiPm::kSleepEnable);  // S3
  EXPECT_EQ(power_offs, 0) << "other sleep states are ignored";
  write16(devices::AcpiPm::kPm1ControlOffset, 5 << 10 | devices::AcpiPm::kSleepEnable);
  EXPECT_EQ(power_offs, 1);
  EXPECT_EQ(read16(devices::AcpiPm::kPm1ControlOffset) & devices::AcpiPm::kSleepEnable, 0)
      << "SLP_EN reads as 0";
}

TEST_F(AcpiPmTest, TimerCountsAt3_579545MHzIn24Bits) {
  const std::uint32_t t0 = timer();
  EXPECT_EQ(t0, 0u);
  now_ns += 1'000'000'000;
  EXPECT_EQ(timer(), 3579545u & 0xffffff);
  now_ns += 4'000'000'000;  // 5 s: 17.9 M ticks wraps at 2^24
  EXPECT_EQ(timer(), (5ull * 3579545) & 0xffffff);
  EXPECT_LT(timer(), 1u << 24);
}

TEST_F(AcpiPmTest, StatusIsWriteOneToClearAndEnableHoldsItsValue) {
  write16(devices::AcpiPm::kPm1EnableOffset, 0x0121);
  EXPECT_EQ(read16(devices::AcpiPm::kPm1EnableOffset), 0x0121);
  write16(devices::AcpiPm::kPm1StatusOffset, 0xffff);
  EXPECT_EQ(read16(devices::AcpiPm::kPm1StatusOffset), 0);
}

TEST(ResetControl, ByteWriteWithRstCpuResetsWideAccessesDoNot) {
  int resets = 0;
  devices::ResetControl rc([&] { ++resets; });
  const std::array<std::uint8_t, 4> dword = {0xff, 0xff, 0xff, 0xff};
  rc.write(0, dword);  // a dword is never this byte register
  EXPECT_EQ(resets, 0);
  std::uint8_t v = 0x02;  // SYS_RST alone
  rc.write(devices::ResetControl::kRegisterOffset, std::span(&v, 1));
  EXPECT_EQ(resets, 0);
  std::uint8_t back = 0;
  rc.read(devices::ResetControl::kRegisterOffset, std::span(&back, 1));
  EXPECT_EQ(back, 0x02);
  v = 0x06;
  rc.write(devices::ResetControl::kRegisterOffset, std::span(&v, 1));
  EXPECT_EQ(resets, 1);
  std::array<std::uint8_t, 4> wide{};
  rc.read(0, wide);
  EXPECT_EQ(wide, (std::array<std::uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
}

TEST(PostCode, RemembersTheLastCode) {
  devices::PostCode port80;
  std::uint8_t v = 0x42;
  port80.write(0, std::span(&v, 1));
  std::uint8_t back = 0;
  port80.read(0, std::span(&back, 1));
  EXPECT_EQ(back, 0x42);
  EXPECT_EQ(port80.last_code(), 0x42);
  EXPECT_EQ(port80.writes(), 1u);
}

}  // namespace
