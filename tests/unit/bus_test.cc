#include "bus/bus.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace {

// Records every access it sees; reads return offset + i so tests can see routing.
class RecordingDevice : public bus::BusDevice {
 public:
  struct Access {
    bool write;
    std::uint64_t offset;
    std::vector<std::uint8_t> bytes;
  };
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    for (std::size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<std::uint8_t>(tag + offset + i);
    }
    log.push_back({false, offset, {data.begin(), data.end()}});
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    log.push_back({true, offset, {data.begin(), data.end()}});
  }
  std::uint8_t tag = 0;
  std::vector<Access> log;
};

TEST(Bus, RoutesWithOffsetsRelativeToTheBase) {
  bus::Bus ports(0x10000);
  RecordingDevice dev;
  dev.tag = 0x40;
  ASSERT_TRUE(ports.add(0x3f8, 8, dev, "uart").ok());

  std::array<std::uint8_t, 2> buf{};
  ports.read(0x3fa, buf);
  EXPECT_EQ(buf[0], 0x42);
  EXPECT_EQ(buf[1], 0x43);
  const std::uint8_t value[4] = {1, 2, 3, 4};
  ports.write(0x3fc, value);
  ASSERT_EQ(dev.log.size(), 2u);
  EXPECT_EQ(dev.log[0].offset, 2u);
  EXPECT_TRUE(dev.log[1].write);
  EXPECT_EQ(dev.log[1].offset, 4u);
  EXPECT_EQ(dev.log[1].bytes, (std::vector<std::uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(ports.unassigned_reads(), 0u);
  EXPECT_EQ(ports.unassigned_writes(), 0u);
}

TEST(Bus, RejectsOverlapsAndBadRanges) {
  bus::Bus ports(0x10000);
  RecordingDevice a, b;
  ASSERT_TRUE(ports.add(0x100, 0x10, a, "a").ok());
  auto overlap_end = ports.add(0x10f, 1, b, "b");
  ASSERT_FALSE(overlap_end.ok());
  EXPECT_EQ(overlap_end.error(), bus::BusError::kOverlap);
  auto overlap_start = ports.add(0xf8, 0x9, b, "b");
  ASSERT_FALSE(overlap_start.ok());
  EXPECT_EQ(overlap_start.error(), bus::BusError::kOverlap);
  auto covering = ports.add(0x0, 0x1000, b, "b");
  ASSERT_FALSE(covering.ok());
  EXPECT_EQ(covering.error(), bus::BusError::kOverlap);
  EXPECT_EQ(ports.add(0x200, 0, b, "b").error(), bus::BusError::kEmptyRange);
  EXPECT_EQ(ports.add(0xfffe, 4, b, "b").error(), bus::BusError::kBeyondLimit);
  EXPECT_EQ(ports.add(0x10000, 1, b, "b").error(), bus::BusError::kBeyondLimit);
  // Adjacent on both sides is fine.
  EXPECT_TRUE(ports.add(0x110, 1, b, "b").ok());
  RecordingDevice c;
  EXPECT_TRUE(ports.add(0xff, 1, c, "c").ok());
  EXPECT_TRUE(ports.add(0xfffc, 4, c, "c-top").ok());
}

TEST(Bus, UnassignedReadsAllOnesAndWritesAreDroppedAndCounted) {
  bus::Bus ports(0x10000);
  RecordingDevice dev;
  ASSERT_TRUE(ports.add(0x60, 1, dev, "kbd").ok());
  std::array<std::uint8_t, 4> buf{1, 2, 3, 4};
  ports.read(0x80, buf);
  EXPECT_EQ(buf, (std::array<std::uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  std::uint8_t one = 0;
  ports.read(0x61, std::span(&one, 1));
  EXPECT_EQ(one, 0xff);
  ports.write(0x80, buf);
  EXPECT_EQ(ports.unassigned_reads(), 2u);
  EXPECT_EQ(ports.unassigned_writes(), 1u);
  EXPECT_TRUE(dev.log.empty());
}

TEST(Bus, AccessStraddlingARangeIsSplitIntoBytes) {
  bus::Bus ports(0x10000);
  RecordingDevice dev;
  dev.tag = 0x10;
  ASSERT_TRUE(ports.add(0x100, 2, dev, "dev").ok());
  std::array<std::uint8_t, 4> buf{};
  ports.read(0xff, buf);  // 0xff unassigned, 0x100-0x101 device, 0x102 unassigned
  EXPECT_EQ(buf, (std::array<std::uint8_t, 4>{0xff, 0x10, 0x11, 0xff}));
  ASSERT_EQ(dev.log.size(), 2u);
  EXPECT_EQ(dev.log[0].offset, 0u);
  EXPECT_EQ(dev.log[1].offset, 1u);
  EXPECT_EQ(ports.unassigned_reads(), 2u);
}

TEST(Bus, AccessPastTheLimitIsUnassigned) {
  bus::Bus ports(0x10000);
  std::array<std::uint8_t, 2> buf{};
  ports.read(0xffff, buf);
  EXPECT_EQ(buf, (std::array<std::uint8_t, 2>{0xff, 0xff}));
  EXPECT_EQ(ports.unassigned_reads(), 1u);
}

}  // namespace

namespace {

TEST(Bus, RemoveTakesOnlyTheNamedDevicesRange) {
  bus::Bus ports(0x10000);
  RecordingDevice a, b;
  ASSERT_TRUE(ports.add(0xc000, 0x10, a, "a").ok());
  EXPECT_FALSE(ports.remove(0xc000, b));  // not b's range
  EXPECT_FALSE(ports.remove(0xc004, a));  // not a range's base
  std::uint8_t v = 0;
  ports.read(0xc001, std::span(&v, 1));
  EXPECT_EQ(a.log.size(), 1u);
  EXPECT_TRUE(ports.remove(0xc000, a));
  ports.read(0xc001, std::span(&v, 1));
  EXPECT_EQ(v, 0xff);
  EXPECT_EQ(ports.unassigned_reads(), 1u);
  ASSERT_TRUE(ports.add(0xc008, 0x10, b, "b").ok());  // the space is free again
}

}  // namespace
