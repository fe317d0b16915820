// The IDE channel and the PIIX3 IDE function, driven through their ports the way a driver
// does: PIO and DMA command state machines, errors, out-of-range LBAs, bad PRD tables, reset,
// interrupts, and the PCI side (BAR4, IDETIM).
#include "devices/pci/ide.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "bus/pci.h"
#include "devices/pci/piix_ide.h"

namespace {

using devices::IdeChannel;

constexpr std::uint64_t kSectors = 2048;  // a 1 MiB disk
constexpr std::uint64_t kRam = 1 << 20;

std::uint8_t pattern(std::uint64_t lba, std::size_t i) {
  return static_cast<std::uint8_t>(lba * 7 + i * 13 + (i >> 8));
}

class Disk {
 public:
  Disk() {
    char name[] = "/tmp/kvm-run-ide-XXXXXX";
    const int fd = ::mkstemp(name);
    path = name;
    std::vector<std::uint8_t> bytes(kSectors * 512);
    for (std::uint64_t lba = 0; lba < kSectors; ++lba) {
      for (std::size_t i = 0; i < 512; ++i) {
        bytes[lba * 512 + i] = pattern(lba, i);
      }
    }
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  ~Disk() { ::unlink(path.c_str()); }
  std::vector<std::uint8_t> sector(std::uint64_t lba) const {
    std::vector<std::uint8_t> out(512);
    const int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, out.data(), 512, static_cast<off_t>(lba * 512)), 512);
    ::close(fd);
    return out;
  }
  std::string path;
};

class IdeTest : public ::testing::Test {
 protected:
  IdeTest()
      : ram(vmm::GuestMemory::allocate(0, kRam).value()),
        channel(
            ram, [this](bool level) { irq_changes.push_back(level); },
            [this] { return bus_master; }) {}

  void SetUp() override {
    auto image = backends::RawImage::open(disk.path);
    ASSERT_TRUE(image.ok()) << image.error().message;
    backend = image.value().get();
    channel.attach(0, std::move(image.value()));
  }

  void out(std::uint64_t reg, std::uint8_t v) {
    channel.command_block().write(reg, std::span(&v, 1));
  }
  std::uint8_t in(std::uint64_t reg) {
    std::uint8_t v = 0;
    channel.command_block().read(reg, std::span(&v, 1));
    return v;
  }
  std::uint8_t alt_status() {
    std::uint8_t v = 0;
    channel.control_block().read(0, std::span(&v, 1));
    return v;
  }
  void control(std::uint8_t v) { channel.control_block().write(0, std::span(&v, 1)); }
  std::uint16_t data16() {
    std::uint8_t b[2];
    channel.command_block().read(IdeChannel::kData, b);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  std::vector<std::uint8_t> read_block(std::size_t bytes) {
    std::vector<std::uint8_t> out(bytes);
    for (std::size_t i = 0; i < bytes; i += 2) {
      const std::uint16_t w = data16();
      out[i] = static_cast<std::uint8_t>(w);
      out[i + 1] = static_cast<std::uint8_t>(w >> 8);
    }
    return out;
  }
  void write_block(const std::vector<std::uint8_t>& bytes) {
    for (std::size_t i = 0; i < bytes.size(); i += 2) {
      channel.command_block().write(IdeChannel::kData, std::span(&bytes[i], 2));
    }
  }
  void lba28(std::uint32_t lba, std::uint8_t count, unsigned unit = 0) {
    out(IdeChannel::kSectorCount, count);
    out(IdeChannel::kLbaLow, static_cast<std::uint8_t>(lba));
    out(IdeChannel::kLbaMid, static_cast<std::uint8_t>(lba >> 8));
    out(IdeChannel::kLbaHigh, static_cast<std::uint8_t>(lba >> 16));
    out(IdeChannel::kDevice, static_cast<std::uint8_t>(0xe0 | (unit << 4) | ((lba >> 24) & 0x0f)));
  }
  void lba48(std::uint64_t lba, std::uint16_t count) {
    out(IdeChannel::kSectorCount, static_cast<std::uint8_t>(count >> 8));
    out(IdeChannel::kLbaLow, static_cast<std::uint8_t>(lba >> 24));
    out(IdeChannel::kLbaMid, static_cast<std::uint8_t>(lba >> 32));
    out(IdeChannel::kLbaHigh, static_cast<std::uint8_t>(lba >> 40));
    out(IdeChannel::kSectorCount, static_cast<std::uint8_t>(count));
    out(IdeChannel::kLbaLow, static_cast<std::uint8_t>(lba));
    out(IdeChannel::kLbaMid, static_cast<std::uint8_t>(lba >> 8));
    out(IdeChannel::kLbaHigh, static_cast<std::uint8_t>(lba >> 16));
    out(IdeChannel::kDevice, 0x40);
  }
  void command(std::uint8_t c) { out(IdeChannel::kStatusCommand, c); }
  void bm_write8(std::uint64_t off, std::uint8_t v) {
    channel.bus_master_write(off, std::span(&v, 1));
  }
  std::uint8_t bm_read8(std::uint64_t off) {
    std::uint8_t v = 0;
    channel.bus_master_read(off, std::span(&v, 1));
    return v;
  }
  void set_prd_table(std::uint32_t address) {
    std::uint8_t b[4] = {
        static_cast<std::uint8_t>(address), static_cast<std::uint8_t>(address >> 8),
        static_cast<std::uint8_t>(address >> 16), static_cast<std::uint8_t>(address >> 24)};
    channel.bus_master_write(IdeChannel::kBmPrdTable, b);
  }
  void prd(std::uint64_t table, unsigned index, std::uint32_t address, std::uint32_t bytes,
           bool end) {
    std::uint8_t e[8] = {static_cast<std::uint8_t>(address),
                         static_cast<std::uint8_t>(address >> 8),
                         static_cast<std::uint8_t>(address >> 16),
                         static_cast<std::uint8_t>(address >> 24),
                         static_cast<std::uint8_t>(bytes),
                         static_cast<std::uint8_t>(bytes >> 8),
                         0,
                         static_cast<std::uint8_t>(end ? 0x80 : 0)};
    ASSERT_TRUE(ram.write(table + 8 * index, e).ok());
  }
  // Waits until the drive is no longer busy (a DMA or flush completes on the I/O thread).
  bool wait_not_busy() {
    for (int i = 0; i < 5000; ++i) {
      if (!(alt_status() & IdeChannel::kStatusBsy)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  std::vector<std::uint8_t> ram_bytes(std::uint64_t gpa, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_TRUE(ram.read(gpa, out).ok());
    return out;
  }
  static std::vector<std::uint8_t> expected(std::uint64_t lba) {
    std::vector<std::uint8_t> out(512);
    for (std::size_t i = 0; i < 512; ++i)
      out[i] = pattern(lba, i);
    return out;
  }

  Disk disk;
  backends::RawImage* backend = nullptr;  // owned by the channel
  vmm::GuestMemory ram;
  bool bus_master = true;
  std::vector<bool> irq_changes;
  IdeChannel channel;
};

constexpr std::uint8_t kReady = IdeChannel::kStatusDrdy | IdeChannel::kStatusDsc;

TEST_F(IdeTest, IdentifyDescribesTheDisk) {
  out(IdeChannel::kDevice, 0xa0);
  command(0xec);
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(alt_status(), kReady | IdeChannel::kStatusDrq);
  const auto id = read_block(512);
  auto word = [&](unsigned w) { return static_cast<unsigned>(id[2 * w] | id[2 * w + 1] << 8); };
  EXPECT_EQ(word(0), 0x0040u);
  EXPECT_EQ(word(60) | word(61) << 16, kSectors);
  EXPECT_EQ(word(100) | word(101) << 16, kSectors);
  EXPECT_EQ(word(49) & 0x0300u, 0x0300u);      // LBA and DMA
  EXPECT_EQ(word(83) & (1u << 10), 1u << 10);  // LBA48
  EXPECT_EQ(word(47) & 0xff, 16u);             // READ/WRITE MULTIPLE up to 16
  std::string model;
  for (unsigned w = 27; w < 47; ++w) {
    model += static_cast<char>(id[2 * w + 1]);
    model += static_cast<char>(id[2 * w]);
  }
  EXPECT_EQ(model.substr(0, 16), "kvm-run HARDDISK");
  std::uint8_t sum = 0;
  for (auto b : id)
    sum = static_cast<std::uint8_t>(sum + b);
  EXPECT_EQ(id[510], 0xa5);
  EXPECT_EQ(sum, 0);  // the integrity word checks
  // After the last word: no DRQ, no new interrupt; reading status acknowledges the old one.
  EXPECT_EQ(alt_status(), kReady);
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_FALSE(channel.irq_level());
}

TEST_F(IdeTest, PioReadInterruptsPerSector) {
  lba28(5, 2);
  command(0x20);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  EXPECT_EQ(read_block(512), expected(5));
  EXPECT_TRUE(channel.irq_level());  // the second sector is ready
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  EXPECT_EQ(read_block(512), expected(6));
  EXPECT_EQ(alt_status(), kReady);
  EXPECT_FALSE(channel.irq_level());
}

TEST_F(IdeTest, PioWriteReachesTheImage) {
  lba28(10, 2);
  command(0x30);
  EXPECT_EQ(alt_status(), kReady | IdeChannel::kStatusDrq);
  EXPECT_FALSE(channel.irq_level());  // no interrupt before the first block
  write_block(std::vector<std::uint8_t>(512, 0x11));
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  write_block(std::vector<std::uint8_t>(512, 0x22));
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(disk.sector(10), std::vector<std::uint8_t>(512, 0x11));
  EXPECT_EQ(disk.sector(11), std::vector<std::uint8_t>(512, 0x22));
  EXPECT_EQ(disk.sector(12), expected(12));
}

TEST_F(IdeTest, ReadMultipleNeedsSetMultipleMode) {
  lba28(0, 8);
  command(0xc4);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorAbrt);
  out(IdeChannel::kSectorCount, 3);  // not a power of two
  command(0xc6);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  out(IdeChannel::kSectorCount, 4);
  command(0xc6);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  lba28(20, 8);
  command(0xc4);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  const auto first = read_block(4 * 512);  // one interrupt per block of 4
  EXPECT_TRUE(std::equal(first.begin() + 3 * 512, first.end(), expected(23).begin()));
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  const auto second = read_block(4 * 512);
  EXPECT_TRUE(std::equal(second.begin(), second.begin() + 512, expected(24).begin()));
  EXPECT_EQ(alt_status(), kReady);
}

TEST_F(IdeTest, WriteMultipleExtUsesBlocks) {
  out(IdeChannel::kSectorCount, 2);
  command(0xc6);
  (void)in(IdeChannel::kStatusCommand);
  lba48(100, 4);
  command(0x39);
  EXPECT_EQ(alt_status(), kReady | IdeChannel::kStatusDrq);
  write_block(std::vector<std::uint8_t>(1024, 0x33));
  EXPECT_TRUE(channel.irq_level());
  (void)in(IdeChannel::kStatusCommand);
  write_block(std::vector<std::uint8_t>(1024, 0x44));
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(disk.sector(101), std::vector<std::uint8_t>(512, 0x33));
  EXPECT_EQ(disk.sector(103), std::vector<std::uint8_t>(512, 0x44));
}

TEST_F(IdeTest, Lba48ReadAndHobReadback) {
  lba48(0x7ff, 1);
  command(0x24);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  EXPECT_EQ(read_block(512), expected(0x7ff));
  // HOB selects the previous (high-order) bytes.
  lba48(0x561234abcdefull, 0);  // only the task file matters here
  control(IdeChannel::kControlHob);
  EXPECT_EQ(in(IdeChannel::kLbaLow), 0x34);
  EXPECT_EQ(in(IdeChannel::kLbaMid), 0x12);
  EXPECT_EQ(in(IdeChannel::kLbaHigh), 0x56);
  control(0);
  EXPECT_EQ(in(IdeChannel::kLbaLow), 0xef);
  EXPECT_EQ(in(IdeChannel::kLbaHigh), 0xab);
}

TEST_F(IdeTest, OutOfRangeRequestsFailWithIdnfBeforeAnyData) {
  lba28(kSectors - 1, 2);
  command(0x20);
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorIdnf);
  lba48(kSectors, 1);
  command(0x34);  // WRITE SECTORS EXT
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  lba48(1ull << 47, 1);
  command(0x25);  // READ DMA EXT
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorIdnf);
  lba28(kSectors, 1);
  command(0x40);  // READ VERIFY
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  lba28(kSectors - 1, 1);
  command(0x40);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(disk.sector(kSectors - 1), expected(kSectors - 1));
}

TEST_F(IdeTest, ChsAddressingFollowsInitializeDeviceParameters) {
  // Default translation 16 heads x 63 sectors: C0/H0/S6 is LBA 5.
  out(IdeChannel::kSectorCount, 1);
  out(IdeChannel::kLbaLow, 6);
  out(IdeChannel::kLbaMid, 0);
  out(IdeChannel::kLbaHigh, 0);
  out(IdeChannel::kDevice, 0xa0);
  command(0x20);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusDrq);
  EXPECT_EQ(read_block(512), expected(5));
  // 4 heads x 17 sectors: C1/H2/S3 = (1*4+2)*17+2 = 104.
  out(IdeChannel::kSectorCount, 17);
  out(IdeChannel::kDevice, 0xa0 | 3);
  command(0x91);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  out(IdeChannel::kSectorCount, 1);
  out(IdeChannel::kLbaLow, 3);
  out(IdeChannel::kLbaMid, 1);
  out(IdeChannel::kDevice, 0xa0 | 2);
  command(0x20);
  (void)in(IdeChannel::kStatusCommand);
  EXPECT_EQ(read_block(512), expected(104));
  // Sector 0 does not exist in CHS.
  out(IdeChannel::kLbaLow, 0);
  command(0x20);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorIdnf);
}

TEST_F(IdeTest, DmaReadScattersIntoRamAndInterruptsFromTheIoThread) {
  prd(0x1000, 0, 0x2000, 512, false);
  prd(0x1000, 1, 0x3000, 512, true);
  set_prd_table(0x1000);
  lba28(7, 2);
  command(0xc8);
  EXPECT_FALSE(channel.irq_level());
  EXPECT_TRUE(alt_status() & IdeChannel::kStatusBsy);  // waits for the bus master
  bm_write8(IdeChannel::kBmCommand, IdeChannel::kBmToMemory | IdeChannel::kBmStart);
  ASSERT_TRUE(wait_not_busy());
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(ram_bytes(0x2000, 512), expected(7));
  EXPECT_EQ(ram_bytes(0x3000, 512), expected(8));
  const std::uint8_t bm = bm_read8(IdeChannel::kBmStatus);
  EXPECT_TRUE(bm & IdeChannel::kBmInterrupt);
  EXPECT_FALSE(bm & IdeChannel::kBmActive);  // the table ended with the transfer
  EXPECT_FALSE(bm & IdeChannel::kBmError);
  bm_write8(IdeChannel::kBmCommand, 0);
  bm_write8(IdeChannel::kBmStatus, IdeChannel::kBmInterrupt);  // write one to clear
  EXPECT_FALSE(bm_read8(IdeChannel::kBmStatus) & IdeChannel::kBmInterrupt);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
}

TEST_F(IdeTest, DmaWriteExtWithTheBusMasterStartedFirst) {
  std::vector<std::uint8_t> data(1024, 0x77);
  ASSERT_TRUE(ram.write(0x8000, data).ok());
  prd(0x1000, 0, 0x8000, 1024, true);
  set_prd_table(0x1000);
  bm_write8(IdeChannel::kBmCommand, IdeChannel::kBmStart);  // from memory
  EXPECT_TRUE(bm_read8(IdeChannel::kBmStatus) & IdeChannel::kBmActive);
  lba48(300, 2);
  command(0x35);
  ASSERT_TRUE(wait_not_busy());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(disk.sector(300), std::vector<std::uint8_t>(512, 0x77));
  EXPECT_EQ(disk.sector(301), std::vector<std::uint8_t>(512, 0x77));
  EXPECT_EQ(disk.sector(302), expected(302));
}

TEST_F(IdeTest, ALongerPrdTableLeavesTheEngineActive) {
  prd(0x1000, 0, 0x2000, 0, true);  // 64 KiB for one sector
  set_prd_table(0x1000);
  lba28(1, 1);
  command(0xc8);
  bm_write8(IdeChannel::kBmCommand, IdeChannel::kBmToMemory | IdeChannel::kBmStart);
  ASSERT_TRUE(wait_not_busy());
  const std::uint8_t bm = bm_read8(IdeChannel::kBmStatus);
  EXPECT_TRUE(bm & IdeChannel::kBmInterrupt);
  EXPECT_TRUE(bm & IdeChannel::kBmActive);
  EXPECT_EQ(ram_bytes(0x2000, 512), expected(1));
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
}

struct BadPrd {
  const char* what;
  std::uint32_t table;
  std::uint32_t buffer;
  std::uint32_t bytes;
  std::uint8_t bm_command;
};

class IdeBadPrdTest : public IdeTest, public ::testing::WithParamInterface<BadPrd> {};

TEST_P(IdeBadPrdTest, FailsTheCommandWithABusMasterError) {
  const BadPrd& p = GetParam();
  if (p.table + 8 <= kRam) {
    prd(p.table, 0, p.buffer, p.bytes, true);
  }
  set_prd_table(p.table);
  lba28(3, 2);
  command(0xc8);
  bm_write8(IdeChannel::kBmCommand, p.bm_command);
  ASSERT_TRUE(wait_not_busy());
  EXPECT_TRUE(channel.irq_level());
  const std::uint8_t bm = bm_read8(IdeChannel::kBmStatus);
  EXPECT_TRUE(bm & IdeChannel::kBmError) << p.what;
  EXPECT_TRUE(bm & IdeChannel::kBmInterrupt) << p.what;
  EXPECT_FALSE(bm & IdeChannel::kBmActive) << p.what;
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr) << p.what;
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorAbrt) << p.what;
}

constexpr std::uint8_t kRead = IdeChannel::kBmToMemory | IdeChannel::kBmStart;

INSTANTIATE_TEST_SUITE_P(
    Ide, IdeBadPrdTest,
    ::testing::Values(BadPrd{"buffer outside RAM", 0x1000, 0x40000000, 1024, kRead},
                      BadPrd{"buffer runs off the end of RAM", 0x1000, kRam - 512, 1024, kRead},
                      BadPrd{"table outside RAM", 0xfffff000, 0x2000, 1024, kRead},
                      BadPrd{"table shorter than the transfer", 0x1000, 0x2000, 512, kRead},
                      BadPrd{"direction bit says write", 0x1000, 0x2000, 1024,
                             IdeChannel::kBmStart}));

TEST_F(IdeTest, DmaNeedsBusMasteringEnabled) {
  bus_master = false;
  prd(0x1000, 0, 0x2000, 512, true);
  set_prd_table(0x1000);
  lba28(3, 1);
  command(0xc8);
  bm_write8(IdeChannel::kBmCommand, kRead);
  ASSERT_TRUE(wait_not_busy());
  EXPECT_TRUE(bm_read8(IdeChannel::kBmStatus) & IdeChannel::kBmError);
  EXPECT_EQ(ram_bytes(0x2000, 4), std::vector<std::uint8_t>(4, 0));
}

TEST_F(IdeTest, SoftResetGivesTheSignatureWithoutAnInterrupt) {
  lba28(5, 1);
  command(0x20);  // a transfer in progress is abandoned
  (void)in(IdeChannel::kStatusCommand);
  control(IdeChannel::kControlSrst);
  EXPECT_EQ(alt_status() & IdeChannel::kStatusBsy, IdeChannel::kStatusBsy);
  command(0xec);  // ignored while in reset
  control(0);
  EXPECT_FALSE(channel.irq_level());
  EXPECT_EQ(alt_status(), kReady);
  EXPECT_EQ(in(IdeChannel::kSectorCount), 1);
  EXPECT_EQ(in(IdeChannel::kLbaLow), 1);
  EXPECT_EQ(in(IdeChannel::kLbaMid), 0);
  EXPECT_EQ(in(IdeChannel::kLbaHigh), 0);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), 0x01);
  EXPECT_EQ(in(IdeChannel::kDevice), 0);
  EXPECT_EQ(data16(), 0xffff);  // no data left from the abandoned read
}

TEST_F(IdeTest, ResetDuringDmaDropsTheCompletion) {
  prd(0x1000, 0, 0x2000, 0, true);
  set_prd_table(0x1000);
  lba28(0, 128);
  command(0xc8);
  bm_write8(IdeChannel::kBmCommand, kRead);
  control(IdeChannel::kControlSrst);
  control(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(alt_status(), kReady);
  EXPECT_FALSE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), 0x01);  // still the reset's diagnostic code
}

TEST_F(IdeTest, NienMasksTheLineNotThePendingInterrupt) {
  control(IdeChannel::kControlNien);
  command(0xe7);  // FLUSH CACHE
  ASSERT_TRUE(wait_not_busy());
  EXPECT_FALSE(channel.irq_level());
  control(0);
  EXPECT_TRUE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_FALSE(channel.irq_level());
}

TEST_F(IdeTest, SetFeaturesAndUnknownCommands) {
  out(IdeChannel::kErrorFeatures, 0x03);
  out(IdeChannel::kSectorCount, 0x22);  // multiword DMA mode 2
  command(0xef);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  command(0xec);
  (void)in(IdeChannel::kStatusCommand);
  const auto id = read_block(512);
  EXPECT_EQ(id[2 * 63 + 1], 0x04);  // MWDMA2 selected
  out(IdeChannel::kErrorFeatures, 0x03);
  out(IdeChannel::kSectorCount, 0x27);  // MWDMA 7 does not exist
  command(0xef);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  out(IdeChannel::kErrorFeatures, 0x82);  // write cache off
  command(0xef);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  out(IdeChannel::kErrorFeatures, 0x99);  // no such feature
  command(0xef);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorAbrt);
  command(0xa1);  // IDENTIFY PACKET DEVICE: this is not an ATAPI device
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady | IdeChannel::kStatusErr);
  EXPECT_EQ(in(IdeChannel::kErrorFeatures), IdeChannel::kErrorAbrt);
  command(0xea);  // FLUSH CACHE EXT
  ASSERT_TRUE(wait_not_busy());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
}

// FLUSH CACHE (EXT) is an fdatasync of the image before the command completes; with the
// write cache off (SET FEATURES 82h, which flushes too) every written block is flushed.
TEST_F(IdeTest, FlushCacheReachesTheHostFile) {
  const std::uint64_t start = backend->flushes();
  command(0xe7);  // FLUSH CACHE
  ASSERT_TRUE(wait_not_busy());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(backend->flushes(), start + 1);
  command(0xea);  // FLUSH CACHE EXT
  ASSERT_TRUE(wait_not_busy());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(backend->flushes(), start + 2);

  lba28(20, 1);  // write cache on (the default): a write is not flushed
  command(0x30);
  write_block(std::vector<std::uint8_t>(512, 0x33));
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(backend->flushes(), start + 2);

  out(IdeChannel::kErrorFeatures, 0x82);  // write cache off
  command(0xef);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(backend->flushes(), start + 3);
  lba28(21, 2);
  command(0x30);
  write_block(std::vector<std::uint8_t>(512, 0x44));
  write_block(std::vector<std::uint8_t>(512, 0x55));
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
  EXPECT_EQ(backend->flushes(), start + 5);  // one per block
  EXPECT_EQ(disk.sector(22), std::vector<std::uint8_t>(512, 0x55));
}

TEST_F(IdeTest, TheAbsentSlaveReadsStatusZeroAndIgnoresCommands) {
  out(IdeChannel::kDevice, 0xb0);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), 0);
  EXPECT_EQ(alt_status(), 0);
  command(0xec);
  EXPECT_FALSE(channel.irq_level());
  EXPECT_EQ(in(IdeChannel::kStatusCommand), 0);
  out(IdeChannel::kDevice, 0xa0);
  EXPECT_EQ(in(IdeChannel::kStatusCommand), kReady);
}

TEST(IdeEmptyChannel, Floats) {
  auto ram = vmm::GuestMemory::allocate(0, 1 << 20);
  ASSERT_TRUE(ram.ok());
  IdeChannel channel(
      ram.value(), [](bool) {}, [] { return true; });
  std::uint8_t v = 0;
  for (std::uint64_t reg = 1; reg < 8; ++reg) {
    channel.command_block().read(reg, std::span(&v, 1));
    EXPECT_EQ(v, 0xff);
  }
  channel.control_block().read(0, std::span(&v, 1));
  EXPECT_EQ(v, 0xff);
}

// ---- the PCI function --------------------------------------------------------------------

TEST(PiixIde, PciIdentityAndTheBusMasterBar) {
  auto ram = vmm::GuestMemory::allocate(0, 1 << 20);
  ASSERT_TRUE(ram.ok());
  bus::Bus ports(0x10000), mmio(~0ull);
  pci::PciRoot root(ports, mmio);
  std::vector<std::pair<unsigned, bool>> irqs;
  devices::PiixIde ide(ram.value(), [&](unsigned ch, bool level) { irqs.emplace_back(ch, level); });
  ASSERT_TRUE(root.plug(1, 1, ide).ok());
  EXPECT_EQ(root.config_read(0, 1, 1, 0, 4), 0x70108086u);
  EXPECT_EQ(root.config_read(0, 1, 1, 8, 4) >> 8, 0x010180u);
  EXPECT_EQ(root.config_read(0, 1, 1, pci::kInterruptPin, 1), 0u);  // legacy IRQs 14/15
  EXPECT_EQ(root.config_read(0, 1, 1, 0x10, 4), 0u);                // no BAR0 in legacy mode
  root.config_write(0, 1, 1, 0x20, 4, 0xffffffff);
  EXPECT_EQ(root.config_read(0, 1, 1, 0x20, 4), 0xfffffff1u);  // 16 bytes of I/O
  root.config_write(0, 1, 1, 0x20, 4, 0xc000);
  root.config_write(0, 1, 1, pci::kCommand, 2, pci::kCommandIo);
  root.config_write(0, 1, 1, 0x40, 2, 0x8000);
  EXPECT_EQ(root.config_read(0, 1, 1, 0x40, 2), 0x8000u);
  // The secondary channel's PRD register is at BAR4 + 0x0c.
  const std::uint8_t addr[4] = {0x13, 0x20, 0, 0};
  ports.write(0xc00c, addr);
  std::uint8_t back[4];
  ports.read(0xc00c, back);
  EXPECT_EQ(back[0], 0x10);  // dword aligned
  EXPECT_EQ(back[1], 0x20);
  std::uint8_t primary_prd[4];
  ports.read(0xc004, primary_prd);
  EXPECT_EQ(primary_prd[1], 0);
}

}  // namespace
