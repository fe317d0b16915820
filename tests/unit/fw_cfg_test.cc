// fw_cfg's file directory and DMA interface, and the ACPI linker/loader script run the way a
// firmware runs it.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <string>

#include "devices/isa/fw_cfg.h"
#include "machine/acpi.h"
#include "machine/layout.h"
#include "vmm/guest_memory.h"

namespace {

using devices::FwCfg;

void select(FwCfg& fw, std::uint16_t key) {
  const std::uint8_t sel[2] = {static_cast<std::uint8_t>(key), static_cast<std::uint8_t>(key >> 8)};
  fw.write(FwCfg::kSelectorOffset, sel);
}

std::vector<std::uint8_t> read_bytes(FwCfg& fw, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) {
    fw.read(FwCfg::kDataOffset, std::span(&b, 1));
  }
  return out;
}

std::uint64_t be(const std::uint8_t* p, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

std::uint64_t le(const std::uint8_t* p, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  }
  return v;
}

struct DirEntry {
  std::uint32_t size;
  std::uint16_t select;
};

std::map<std::string, DirEntry> read_directory(FwCfg& fw) {
  select(fw, FwCfg::kFileDir);
  const auto count_bytes = read_bytes(fw, 4);
  const auto count = static_cast<std::uint32_t>(be(count_bytes.data(), 4));
  std::map<std::string, DirEntry> dir;
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto e = read_bytes(fw, FwCfg::kDirEntrySize);
    EXPECT_EQ(be(&e[6], 2), 0u) << "reserved";
    EXPECT_EQ(e[63], 0) << "names are NUL-terminated";
    std::string name(reinterpret_cast<const char*>(&e[8]));
    dir[name] = {static_cast<std::uint32_t>(be(&e[0], 4)),
                 static_cast<std::uint16_t>(be(&e[4], 2))};
  }
  return dir;
}

TEST(FwCfgFiles, DirectoryListsFilesSortedWithBigEndianSizesAndSelectors) {
  FwCfg fw(64ull << 20, 1);
  ASSERT_TRUE(fw.add_file("etc/zeta", {1, 2, 3}));
  ASSERT_TRUE(fw.add_file("etc/alpha", std::vector<std::uint8_t>(300, 7)));
  const auto dir = read_directory(fw);
  ASSERT_EQ(dir.size(), 2u);
  EXPECT_EQ(dir.at("etc/alpha").size, 300u);
  EXPECT_EQ(dir.at("etc/alpha").select, FwCfg::kFirstFile) << "sorted by name";
  EXPECT_EQ(dir.at("etc/zeta").size, 3u);
  EXPECT_EQ(dir.at("etc/zeta").select, FwCfg::kFirstFile + 1);
  EXPECT_EQ(fw.file_selector("etc/zeta"), FwCfg::kFirstFile + 1);
  select(fw, dir.at("etc/zeta").select);
  EXPECT_EQ(read_bytes(fw, 5), (std::vector<std::uint8_t>{1, 2, 3, 0, 0})) << "zeros past the end";
}

TEST(FwCfgFiles, BadNamesAreRefused) {
  FwCfg fw(64ull << 20, 1);
  EXPECT_FALSE(fw.add_file("", {1}));
  EXPECT_FALSE(fw.add_file(std::string(56, 'x'), {1})) << "55 bytes plus the NUL at most";
  EXPECT_TRUE(fw.add_file(std::string(55, 'x'), {1}));
  EXPECT_TRUE(read_directory(fw).count(std::string(55, 'x')));
}

TEST(FwCfgFiles, WithoutGuestMemoryThereIsNoDma) {
  FwCfg fw(64ull << 20, 1);
  select(fw, FwCfg::kId);
  EXPECT_EQ(le(read_bytes(fw, 4).data(), 4), FwCfg::kIdTraditional);
  std::array<std::uint8_t, 4> b{};
  fw.read(FwCfg::kDmaHighOffset, b);
  EXPECT_EQ(b, (std::array<std::uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
}

class FwCfgDma : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fw.add_file("etc/data", {10, 11, 12, 13, 14, 15})); }
  // Writes an access at kAccess and starts it with a low-half write only (as SeaBIOS does).
  std::uint32_t run(std::uint32_t control, std::uint32_t length, std::uint64_t address,
                    std::uint64_t access = kAccess) {
    std::uint8_t a[16];
    for (int i = 0; i < 4; ++i) {
      a[i] = static_cast<std::uint8_t>(control >> (24 - 8 * i));
      a[4 + i] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; ++i) {
      a[8 + i] = static_cast<std::uint8_t>(address >> (56 - 8 * i));
    }
    if (ram.contains(access, 16)) {
      EXPECT_TRUE(ram.write(access, a));
    }
    if (access >> 32) {
      const std::uint8_t high[4] = {
          static_cast<std::uint8_t>(access >> 56), static_cast<std::uint8_t>(access >> 48),
          static_cast<std::uint8_t>(access >> 40), static_cast<std::uint8_t>(access >> 32)};
      fw.write(FwCfg::kDmaHighOffset, high);
    }
    const std::uint8_t low[4] = {
        static_cast<std::uint8_t>(access >> 24), static_cast<std::uint8_t>(access >> 16),
        static_cast<std::uint8_t>(access >> 8), static_cast<std::uint8_t>(access)};
    fw.write(FwCfg::kDmaLowOffset, low);
    std::uint8_t done[4] = {};
    if (ram.contains(access, 4)) {
      EXPECT_TRUE(ram.read(access, done));
    }
    return static_cast<std::uint32_t>(be(done, 4));
  }
  std::vector<std::uint8_t> at(std::uint64_t gpa, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_TRUE(ram.read(gpa, out));
    return out;
  }

  static constexpr std::uint64_t kAccess = 0x1000;
  static constexpr std::uint64_t kBuffer = 0x2000;
  vmm::GuestMemory ram = std::move(vmm::GuestMemory::allocate(0, 1 << 20).value());
  FwCfg fw{64ull << 20, 2, &ram};
};

TEST_F(FwCfgDma, IdAdvertisesDmaAndTheAddressRegisterReadsQemuCfg) {
  select(fw, FwCfg::kId);
  EXPECT_EQ(le(read_bytes(fw, 4).data(), 4), FwCfg::kIdTraditional | FwCfg::kIdDma);
  std::array<std::uint8_t, 8> sig{};
  fw.read(FwCfg::kDmaHighOffset, std::span(sig).first(4));
  fw.read(FwCfg::kDmaLowOffset, std::span(sig).last(4));
  EXPECT_EQ(std::string(sig.begin(), sig.end()), "QEMU CFG");
}

TEST_F(FwCfgDma, SelectAndReadCopiesTheItemAndCompletesWithZeroControl) {
  const std::uint16_t sel = *fw.file_selector("etc/data");
  ASSERT_TRUE(ram.fill(kBuffer, 16, 0xee));
  EXPECT_EQ(
      run(static_cast<std::uint32_t>(sel) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, kBuffer),
      0u);
  EXPECT_EQ(at(kBuffer, 5), (std::vector<std::uint8_t>{10, 11, 12, 13, 0xee}));
  // The offset is shared with the data port, and a read past the end fills zeros.
  EXPECT_EQ(read_bytes(fw, 1), std::vector<std::uint8_t>{14});
  EXPECT_EQ(run(FwCfg::kDmaRead, 4, kBuffer), 0u);
  EXPECT_EQ(at(kBuffer, 5), (std::vector<std::uint8_t>{15, 0, 0, 0, 0xee}));
  EXPECT_EQ(fw.dma_errors(), 0u);
}

TEST_F(FwCfgDma, SkipAdvancesWithoutWriting) {
  const std::uint16_t sel = *fw.file_selector("etc/data");
  ASSERT_TRUE(ram.fill(kBuffer, 8, 0xee));
  EXPECT_EQ(
      run(static_cast<std::uint32_t>(sel) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaSkip, 3, kBuffer),
      0u);
  EXPECT_EQ(at(kBuffer, 1), std::vector<std::uint8_t>{0xee});
  EXPECT_EQ(run(FwCfg::kDmaRead, 2, kBuffer), 0u);
  EXPECT_EQ(at(kBuffer, 2), (std::vector<std::uint8_t>{13, 14}));
}

TEST_F(FwCfgDma, WritesAndDestinationsOutsideRamEndInError) {
  const std::uint16_t sel = *fw.file_selector("etc/data");
  EXPECT_EQ(
      run(static_cast<std::uint32_t>(sel) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaWrite, 2, kBuffer),
      FwCfg::kDmaError)
      << "nothing is writable";
  EXPECT_EQ(run(FwCfg::kDmaRead, 16, (1 << 20) - 8), FwCfg::kDmaError) << "runs past RAM";
  EXPECT_EQ(run(FwCfg::kDmaRead, 16, ~0ull - 4), FwCfg::kDmaError) << "wraps";
  EXPECT_EQ(fw.dma_errors(), 3u);
  // An access structure outside RAM: nothing to write back, only counted.
  run(FwCfg::kDmaRead, 4, kBuffer, 0x7'0000'0000ull);
  EXPECT_EQ(fw.dma_errors(), 4u);
}

// A firmware's view of the linker/loader: allocate each file at a chosen address in a flat
// memory, then run the pointer and checksum commands, exactly as the script says.
struct LoadedFile {
  std::uint64_t addr;
  std::vector<std::uint8_t> bytes;
};

std::string cmd_name(const std::uint8_t* p) {
  return std::string(reinterpret_cast<const char*>(p),
                     strnlen(reinterpret_cast<const char*>(p), 56));
}

TEST(AcpiTableLoader, AFirmwareRunningTheScriptGetsValidLinkedTables) {
  machine::AcpiConfig config;
  config.cpu_count = 3;
  config.lapic_addr = 0xfee00000;
  config.ioapic_addr = 0xfec00000;
  config.pm1a_event_port = 0x600;
  config.pm1a_control_port = 0x604;
  config.pm_timer_port = 0x608;
  config.s5_sleep_type = 5;
  const auto acpi = machine::build_relocatable_acpi(config);
  const auto script = machine::acpi_table_loader(acpi);
  ASSERT_EQ(script.size() % machine::kLoaderCommandSize, 0u);

  std::map<std::string, std::vector<std::uint8_t>> blobs = {{machine::kAcpiTablesFile, acpi.tables},
                                                            {machine::kAcpiRsdpFile, acpi.rsdp}};
  std::map<std::string, LoadedFile> mem;
  const std::map<std::uint8_t, std::uint64_t> zone_base = {{machine::kLoaderZoneHigh, 0x7ffe0000},
                                                           {machine::kLoaderZoneFseg, 0xf5a30}};
  int allocs = 0, pointers = 0, checksums = 0;
  for (std::size_t at = 0; at < script.size(); at += machine::kLoaderCommandSize) {
    const std::uint8_t* c = &script[at];
    switch (le(c, 4)) {
      case machine::kLoaderAllocate: {
        const std::string file = cmd_name(c + 4);
        const auto align = static_cast<std::uint32_t>(le(c + 60, 4));
        ASSERT_TRUE(blobs.count(file)) << file;
        ASSERT_TRUE(zone_base.count(c[64])) << "zone " << int(c[64]);
        const std::uint64_t addr = zone_base.at(c[64]) & ~std::uint64_t(align - 1);
        if (file == machine::kAcpiTablesFile) {
          EXPECT_EQ(align, 64u) << "FACS alignment";
          EXPECT_EQ(c[64], machine::kLoaderZoneHigh);
        } else {
          EXPECT_EQ(align, 16u);
          EXPECT_EQ(c[64], machine::kLoaderZoneFseg) << "the RSDP must be found by a scan";
        }
        mem[file] = {addr, blobs.at(file)};
        ++allocs;
        break;
      }
      case machine::kLoaderAddPointer: {
        auto& dest = mem.at(cmd_name(c + 4));
        const auto& src = mem.at(cmd_name(c + 60));
        const auto offset = static_cast<std::uint32_t>(le(c + 116, 4));
        const std::uint8_t size = c[120];
        ASSERT_TRUE(size == 4 || size == 8);
        ASSERT_LE(offset + size, dest.bytes.size());
        std::uint64_t v = le(&dest.bytes[offset], size) + src.addr;
        for (int i = 0; i < size; ++i) {
          dest.bytes[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
        }
        ++pointers;
        break;
      }
      case machine::kLoaderAddChecksum: {
        auto& f = mem.at(cmd_name(c + 4));
        const auto offset = le(c + 60, 4), start = le(c + 64, 4), length = le(c + 68, 4);
        ASSERT_LE(start + length, f.bytes.size());
        f.bytes[offset] = static_cast<std::uint8_t>(
            f.bytes[offset] - machine::acpi_checksum(std::span(f.bytes).subspan(start, length)));
        ++checksums;
        break;
      }
      default:
        FAIL() << "unknown command " << le(c, 4);
    }
  }
  EXPECT_EQ(allocs, 2);
  EXPECT_EQ(pointers, 10) << "FADT 4, RSDT 2, XSDT 2, RSDP 2";
  EXPECT_EQ(checksums, 7) << "DSDT, FADT, MADT, RSDT, XSDT and the RSDP's two";

  const auto& rsdp = mem.at(machine::kAcpiRsdpFile).bytes;
  const auto& tables = mem.at(machine::kAcpiTablesFile);
  EXPECT_EQ(machine::acpi_checksum(std::span(rsdp).first(20)), 0);
  EXPECT_EQ(machine::acpi_checksum(std::span(rsdp).first(36)), 0);
  auto table_at = [&](std::uint64_t addr) -> const std::uint8_t* {
    EXPECT_GE(addr, tables.addr);
    EXPECT_LT(addr, tables.addr + tables.bytes.size());
    return &tables.bytes[addr - tables.addr];
  };
  auto valid = [&](const std::uint8_t* t, const char* sig) {
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(t), 4), sig);
    const auto len = static_cast<std::uint32_t>(le(t + 4, 4));
    EXPECT_EQ(machine::acpi_checksum(std::span(t, len)), 0) << sig;
  };
  const std::uint8_t* xsdt = table_at(le(&rsdp[24], 8));
  valid(xsdt, "XSDT");
  valid(table_at(le(&rsdp[16], 4)), "RSDT");
  const std::uint8_t* fadt = table_at(le(xsdt + 36, 8));
  valid(fadt, "FACP");
  valid(table_at(le(xsdt + 44, 8)), "APIC");
  valid(table_at(le(fadt + 40, 4)), "DSDT");
  EXPECT_EQ(le(fadt + 140, 8), le(fadt + 40, 4)) << "X_DSDT = DSDT";
  const std::uint64_t facs = le(fadt + 36, 4);
  EXPECT_EQ(facs % 64, 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(table_at(facs)), 4), "FACS");

  // The same tables as the direct-boot path, linked at the same address.
  auto direct = acpi;
  machine::link_acpi(direct, tables.addr);
  EXPECT_EQ(direct.tables, tables.bytes);
}

}  // namespace
