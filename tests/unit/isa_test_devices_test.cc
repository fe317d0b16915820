// debug-exit and pc-testdev, alone and on a port bus at their machine addresses.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "bus/bus.h"
#include "devices/isa/debug_exit.h"
#include "devices/isa/pc_testdev.h"
#include "machine/layout.h"

namespace {

std::array<std::uint8_t, 4> le(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}

TEST(DebugExit, WriteRequestsExitWithShiftedStatus) {
  std::optional<std::uint32_t> status;
  devices::DebugExit dev([&](std::uint32_t s) { status = s; });
  auto zero = le(0);
  dev.write(0, zero);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1u);
  auto v = le(0x15);
  dev.write(0, v);
  EXPECT_EQ(*status, 0x2bu);
  auto big = le(0x80000001u);
  dev.write(0, big);
  EXPECT_EQ(*status, 3u) << "the top bit shifts out, as in QEMU's 32-bit port write";
}

TEST(DebugExit, ByteWriteIsZeroExtended) {
  std::optional<std::uint32_t> status;
  devices::DebugExit dev([&](std::uint32_t s) { status = s; });
  const std::uint8_t one = 0x7f;
  dev.write(0, std::span(&one, 1));
  EXPECT_EQ(status, 0xffu);
}

TEST(DebugExit, ReadsDoNotRequestExit) {
  bool called = false;
  devices::DebugExit dev([&](std::uint32_t) { called = true; });
  std::array<std::uint8_t, 4> buf{9, 9, 9, 9};
  dev.read(0, buf);
  EXPECT_EQ(buf, (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_FALSE(called);
}

TEST(PcTestdev, ReadReturnsLastWriteAtEachWidth) {
  devices::PcTestdev dev;
  auto v = le(0xdeadbeef);
  dev.write(0, v);
  std::array<std::uint8_t, 4> four{};
  dev.read(0, four);
  EXPECT_EQ(four, v);
  std::array<std::uint8_t, 2> two{};
  dev.read(0, two);
  EXPECT_EQ(two, (std::array<std::uint8_t, 2>{0xef, 0xbe}));
  std::uint8_t one = 0;
  dev.read(0, std::span(&one, 1));
  EXPECT_EQ(one, 0xef);
}

TEST(PcTestdev, NarrowWriteReplacesOnlyItsByteLanes) {
  devices::PcTestdev dev;
  auto v = le(0x12345678);
  dev.write(0, v);
  const std::uint8_t b = 0xab;
  dev.write(0, std::span(&b, 1));
  EXPECT_EQ(dev.value(), 0x123456abu);
  const std::uint8_t w[2] = {0xef, 0xcd};
  dev.write(2, w);
  EXPECT_EQ(dev.value(), 0xcdef56abu);
}

TEST(PcTestdev, ReadAtAnOffsetReturnsThoseLanes) {
  devices::PcTestdev dev;
  auto v = le(0x12345678);
  dev.write(0, v);
  std::uint8_t one = 0;
  dev.read(1, std::span(&one, 1));
  EXPECT_EQ(one, 0x56);
  std::array<std::uint8_t, 2> two{};
  dev.read(2, two);
  EXPECT_EQ(two, (std::array<std::uint8_t, 2>{0x34, 0x12}));
  std::array<std::uint8_t, 4> past{};
  dev.read(3, past);  // only byte 3 exists
  EXPECT_EQ(past, (std::array<std::uint8_t, 4>{0x12, 0, 0, 0}));
}

TEST(PcTestdev, ThroughThePortBusAtItsMachineAddress) {
  bus::Bus ports(0x10000);
  devices::PcTestdev dev;
  ASSERT_TRUE(
      ports.add(machine::layout::kPcTestdevIoportBase, devices::PcTestdev::kIoportSize, dev, "pc-testdev")
          .ok());
  const std::array<std::uint8_t, 2> w = {0x34, 0x12};
  ports.write(0xe2, w);
  std::array<std::uint8_t, 2> r{};
  ports.read(0xe2, r);
  EXPECT_EQ(r, w);
  std::uint8_t high = 0;
  ports.read(0xe3, std::span(&high, 1));
  EXPECT_EQ(high, 0x12);
  EXPECT_EQ(dev.value(), 0x12340000u);
  EXPECT_EQ(ports.unassigned_reads(), 0u);
}

TEST(PcTestdevIomem, ReadsBackWhatWasWrittenAtEveryWidthAndAlignment) {
  devices::PcTestdevIomem dev;
  std::array<std::uint8_t, 8> zero{9, 9, 9, 9, 9, 9, 9, 9};
  dev.read(0x1234, zero);
  EXPECT_EQ(zero, (std::array<std::uint8_t, 8>{})) << "starts zero-filled";
  const std::array<std::uint8_t, 8> q = {1, 2, 3, 4, 5, 6, 7, 8};
  dev.write(0x103, q);  // unaligned 8-byte store
  std::array<std::uint8_t, 8> rq{};
  dev.read(0x103, rq);
  EXPECT_EQ(rq, q);
  std::array<std::uint8_t, 2> rw{};
  dev.read(0x105, rw);
  EXPECT_EQ(rw, (std::array<std::uint8_t, 2>{3, 4}));
  const std::uint8_t b = 0xaa;
  dev.write(0x104, std::span(&b, 1));
  std::array<std::uint8_t, 4> rd{};
  dev.read(0x103, rd);
  EXPECT_EQ(rd, (std::array<std::uint8_t, 4>{1, 0xaa, 3, 4}));
  std::uint8_t before = 9;
  dev.read(0x102, std::span(&before, 1));
  EXPECT_EQ(before, 0) << "bytes outside the store are untouched";
}

TEST(PcTestdevIomem, LastBytesWorkAndBytesPastTheEndAreDropped) {
  devices::PcTestdevIomem dev;
  const auto v = le(0x44332211);
  dev.write(devices::PcTestdevIomem::kSize - 2, v);
  std::array<std::uint8_t, 4> r{9, 9, 9, 9};
  dev.read(devices::PcTestdevIomem::kSize - 2, r);
  EXPECT_EQ(r, (std::array<std::uint8_t, 4>{0x11, 0x22, 0, 0}));
  std::array<std::uint8_t, 2> first{9, 9};
  dev.read(0, first);
  EXPECT_EQ(first, (std::array<std::uint8_t, 2>{})) << "no wrap-around to offset 0";
}

TEST(PcTestdevIomem, ThroughTheMmioBusAtItsMachineAddress) {
  bus::Bus mmio(~0ull);
  devices::PcTestdevIomem dev;
  ASSERT_TRUE(mmio.add(machine::layout::kPcTestdevIomemBase, devices::PcTestdevIomem::kSize, dev,
                       "pc-testdev-iomem")
                  .ok());
  const auto v = le(0xcafef00d);
  mmio.write(0xff00fffc, v);
  std::array<std::uint8_t, 4> r{};
  mmio.read(0xff00fffc, r);
  EXPECT_EQ(r, v);
  std::array<std::uint8_t, 4> direct{};
  dev.read(0xfffc, direct);
  EXPECT_EQ(direct, v);
  std::uint8_t past = 0;
  mmio.read(0xff010000, std::span(&past, 1));
  EXPECT_EQ(past, 0xff) << "the region ends after 64 KiB";
  EXPECT_EQ(mmio.unassigned_reads(), 1u);
}

}  // namespace

TEST(PcTestdevIrqLines, ByteWriteDrivesItsLineToTheLevel) {
  std::vector<std::pair<std::uint32_t, bool>> calls;
  devices::PcTestdevIrqLines dev([&](std::uint32_t line, bool level) { calls.emplace_back(line, level); });
  const std::uint8_t one = 1, zero = 0, other = 0x80;
  dev.write(10, std::span(&one, 1));
  dev.write(10, std::span(&zero, 1));
  dev.write(23, std::span(&other, 1));
  EXPECT_EQ(calls, (std::vector<std::pair<std::uint32_t, bool>>{{10, true}, {10, false}, {23, true}}));
}

TEST(PcTestdevIrqLines, WideWriteDrivesOneLinePerByteAndDropsLinesPast23) {
  std::vector<std::pair<std::uint32_t, bool>> calls;
  devices::PcTestdevIrqLines dev([&](std::uint32_t line, bool level) { calls.emplace_back(line, level); });
  const std::array<std::uint8_t, 2> w = {0, 5};
  dev.write(3, w);
  const std::array<std::uint8_t, 4> past = {1, 1, 1, 1};
  dev.write(22, past);
  EXPECT_EQ(calls, (std::vector<std::pair<std::uint32_t, bool>>{
                       {3, false}, {4, true}, {22, true}, {23, true}}));
}

TEST(PcTestdevIrqLines, ReadsAreZeroAndDriveNothing) {
  int calls = 0;
  devices::PcTestdevIrqLines dev([&](std::uint32_t, bool) { ++calls; });
  std::array<std::uint8_t, 4> buf{9, 9, 9, 9};
  dev.read(0, buf);
  EXPECT_EQ(buf, (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_EQ(calls, 0);
}

TEST(PcTestdevIrqLines, PortWriteAt0x2000PlusNReachesLineN) {
  bus::Bus ports(0x10000);
  std::vector<std::pair<std::uint32_t, bool>> calls;
  devices::PcTestdevIrqLines dev([&](std::uint32_t line, bool level) { calls.emplace_back(line, level); });
  ASSERT_TRUE(ports.add(machine::layout::kPcTestdevIrqLineBase, machine::layout::kPcTestdevIrqLineLength,
                        dev, "pc-testdev-irq")
                  .ok());
  EXPECT_EQ(machine::layout::kPcTestdevIrqLineBase, 0x2000);
  const std::uint8_t one = 1;
  ports.write(0x2000 + 17, std::span(&one, 1));
  ports.write(0x2000 + 24, std::span(&one, 1));  // past the device: unassigned
  EXPECT_EQ(calls, (std::vector<std::pair<std::uint32_t, bool>>{{17, true}}));
  EXPECT_EQ(ports.unassigned_writes(), 1u);
}
