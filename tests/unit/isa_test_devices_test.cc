// debug-exit and pc-testdev, alone and on a port bus at their machine addresses.
#include <gtest/gtest.h>

#include <array>
#include <optional>

#include "bus/bus.h"
#include "devices/isa/debug_exit.h"
#include "devices/isa/pc_testdev.h"
#include "machine/pc.h"

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
      ports.add(machine::kPcTestdevIoportBase, devices::PcTestdev::kIoportSize, dev, "pc-testdev")
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

}  // namespace
