// The BIOS's table-building logic (bios/tables.h), built for the host: the
// e820 map, PCI BAR placement, the PIIX3 interrupt swizzle and $PIR table,
// QEMU's ACPI linker/loader script and the int 13h CHS geometry.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tables.h"

namespace {

constexpr uint64_t kMiB = 1ull << 20;

// ---- e820 -------------------------------------------------------------------

TEST(BiosE820, LegacyHolesCarvedOutOfOneRamBlock) {
  e820_map m;
  e820_init(&m);
  ASSERT_EQ(e820_add(&m, 0, 512 * kMiB, E820_RAM), 0);
  ASSERT_EQ(e820_add(&m, 0x9fc00, 0x400, E820_RESERVED), 0);
  ASSERT_EQ(e820_add(&m, 0xa0000, 0x40000, E820_HOLE), 0);
  ASSERT_EQ(e820_add(&m, 0xe0000, 0x20000, E820_RESERVED), 0);
  ASSERT_EQ(m.count, 4);
  EXPECT_EQ(m.e[0].start, 0u);
  EXPECT_EQ(m.e[0].size, 0x9fc00u);
  EXPECT_EQ(m.e[0].type, uint32_t(E820_RAM));
  EXPECT_EQ(m.e[1].start, 0x9fc00u);
  EXPECT_EQ(m.e[1].size, 0x400u);
  EXPECT_EQ(m.e[1].type, uint32_t(E820_RESERVED));
  // 0xa0000-0xdffff is gone, not listed
  EXPECT_EQ(m.e[2].start, 0xe0000u);
  EXPECT_EQ(m.e[2].size, 0x20000u);
  EXPECT_EQ(m.e[3].start, 0x100000u);
  EXPECT_EQ(m.e[3].size, 512 * kMiB - 0x100000);
  EXPECT_EQ(m.e[3].type, uint32_t(E820_RAM));
}

TEST(BiosE820, SplitReplaceAndMerge) {
  e820_map m;
  e820_init(&m);
  e820_add(&m, 0x100000, 0x100000, E820_RAM);
  e820_add(&m, 0x140000, 0x10000, E820_RESERVED);  // splits the RAM in two
  ASSERT_EQ(m.count, 3);
  EXPECT_EQ(m.e[0].size, 0x40000u);
  EXPECT_EQ(m.e[2].start, 0x150000u);
  EXPECT_EQ(m.e[2].size, 0xb0000u);
  e820_add(&m, 0x140000, 0x10000, E820_RAM);  // back to RAM: merges into one
  ASSERT_EQ(m.count, 1);
  EXPECT_EQ(m.e[0].start, 0x100000u);
  EXPECT_EQ(m.e[0].size, 0x100000u);
  // overlapping the end of one entry and the start of the next
  e820_add(&m, 0x300000, 0x100000, E820_RAM);
  e820_add(&m, 0x1f0000, 0x120000, E820_ACPI);
  ASSERT_EQ(m.count, 3);
  EXPECT_EQ(m.e[0].size, 0xf0000u);
  EXPECT_EQ(m.e[1].start, 0x1f0000u);
  EXPECT_EQ(m.e[1].type, uint32_t(E820_ACPI));
  EXPECT_EQ(m.e[2].start, 0x310000u);
  EXPECT_EQ(m.e[2].size, 0xf0000u);
}

TEST(BiosE820, FullTableIsAnError) {
  e820_map m;
  e820_init(&m);
  for (int i = 0; i < E820_MAX; i++)
    ASSERT_EQ(e820_add(&m, uint64_t(i) * 0x2000, 0x1000, E820_RAM), 0);
  EXPECT_EQ(e820_add(&m, 0x1000000, 0x1000, E820_RAM), -1);
  EXPECT_EQ(m.count, E820_MAX);
}

TEST(BiosE820, MemorySizeServices) {
  e820_map m;
  e820_init(&m);
  e820_add(&m, 0, 512 * kMiB, E820_RAM);
  e820_add(&m, 512 * kMiB - 256 * 1024, 256 * 1024, E820_RESERVED);  // ACPI zone
  e820_add(&m, 0x100000000ull, 1024 * kMiB, E820_RAM);
  EXPECT_EQ(e820_ram_end_from(&m, 0x100000), 512 * kMiB - 256 * 1024);
  uint32_t kb = 0, blocks = 0;
  e820_e801(&m, &kb, &blocks);
  EXPECT_EQ(kb, 15u * 1024);
  EXPECT_EQ(blocks, uint32_t((512 * kMiB - 256 * 1024 - 16 * kMiB) >> 16));
  // RAM below 16 MiB only
  e820_init(&m);
  e820_add(&m, 0, 8 * kMiB, E820_RAM);
  e820_e801(&m, &kb, &blocks);
  EXPECT_EQ(kb, 7u * 1024);
  EXPECT_EQ(blocks, 0u);
}

// ---- PCI BARs ---------------------------------------------------------------

TEST(BiosPciAlloc, NaturallyAlignedLargestFirstNoOverlap) {
  std::vector<pci_bar_req> r = {
      {0x08, 0, 0, 0, 0, 0x1000, 0},    {0x10, 0, 0, 0, 0, 0x1000000, 0},
      {0x10, 2, 0, 1, 0, 0x4000, 0},    {0x18, 0, 1, 0, 0, 0x20, 0},
      {0x18, 1, 1, 0, 0, 0x100, 0},     {0x09, 4, 1, 0, 0, 0x10, 0},
  };
  pci_window io{0xc000, 0x10000}, mem{0xe0000000u, 0xfec00000u};
  EXPECT_EQ(pci_alloc_bars(r.data(), int(r.size()), io, mem), 0);
  for (const auto &a : r) {
    ASSERT_NE(a.addr, 0u);
    EXPECT_EQ(a.addr % a.size, 0u) << "misaligned BAR of " << a.size;
    if (a.is_io) {
      EXPECT_GE(a.addr, io.base);
      EXPECT_LE(a.addr + a.size, io.end);
    } else {
      EXPECT_GE(a.addr, mem.base);
      EXPECT_LE(uint64_t(a.addr) + a.size, mem.end);
    }
    for (const auto &b : r) {
      if (&a != &b && a.is_io == b.is_io) {
        EXPECT_TRUE(a.addr + a.size <= b.addr || b.addr + b.size <= a.addr);
      }
    }
  }
  EXPECT_EQ(r[0].size, 0x1000000u);  // sorted, largest first
  EXPECT_EQ(r[0].addr, 0xe0000000u);
}

TEST(BiosPciAlloc, WhatDoesNotFitIsCountedAndLeftZero) {
  std::vector<pci_bar_req> r = {
      {0x08, 0, 0, 0, 0, 0x20000000u, 0},  // 512 MiB: larger than the window
      {0x08, 1, 0, 0, 0, 0x3000, 0},       // not a power of two
      {0x08, 2, 1, 0, 0, 0x8000, 0},       // I/O: aligned, past the I/O window
      {0x08, 3, 0, 0, 0, 0x1000, 0},
  };
  pci_window io{0xc000, 0x10000}, mem{0xe0000000u, 0xfec00000u};
  EXPECT_EQ(pci_alloc_bars(r.data(), int(r.size()), io, mem), 3);
  int placed = 0;
  for (const auto &a : r)
    if (a.addr) {
      placed++;
      EXPECT_EQ(a.size, 0x1000u);
    }
  EXPECT_EQ(placed, 1);
}

// ---- interrupt routing ------------------------------------------------------

TEST(BiosPirq, PiixSwizzle) {
  EXPECT_EQ(pirq_for_pin(1, 1), 0);  // PIIX3 itself, INTA -> PIRQA
  EXPECT_EQ(pirq_for_pin(2, 1), 1);  // slot 2 INTA -> PIRQB
  EXPECT_EQ(pirq_for_pin(3, 1), 2);
  EXPECT_EQ(pirq_for_pin(4, 1), 3);
  EXPECT_EQ(pirq_for_pin(5, 1), 0);
  EXPECT_EQ(pirq_for_pin(3, 4), 1);  // slot 3 INTD
  EXPECT_EQ(pirq_for_pin(0, 1), 3);  // slot 0 wraps
}

TEST(BiosPirq, TableLayoutAndChecksum) {
  const uint8_t slots[] = {0, 1, 2, 3};
  uint8_t buf[256];
  size_t n = pirq_build_table(buf, sizeof(buf), slots, 4, 0x08, 0x8086, 0x7000, 0xdef8);
  ASSERT_EQ(n, 32u + 4 * 16);
  EXPECT_EQ(std::memcmp(buf, "$PIR", 4), 0);
  EXPECT_EQ(buf[5], 1);  // version 1.0
  EXPECT_EQ(buf[6] | buf[7] << 8, int(n));
  EXPECT_EQ(buf[9], 0x08);  // router 00:01.0
  EXPECT_EQ(buf[12] | buf[13] << 8, 0x8086);
  EXPECT_EQ(buf[14] | buf[15] << 8, 0x7000);
  EXPECT_EQ(table_checksum(buf, n), 0);
  const uint8_t *slot2 = buf + 32 + 2 * 16;
  EXPECT_EQ(slot2[1], 2 << 3);
  EXPECT_EQ(slot2[2], 0x61);  // INTA -> PIRQB link
  EXPECT_EQ(slot2[3] | slot2[4] << 8, 0xdef8);
  EXPECT_EQ(slot2[5], 0x62);  // INTB -> PIRQC
  EXPECT_EQ(slot2[11], 0x60);  // INTD -> PIRQA
  EXPECT_EQ(slot2[14], 2);
  EXPECT_EQ(pirq_build_table(buf, 40, slots, 4, 0x08, 0x8086, 0x7000, 0xdef8), 0u);
}

// ---- ACPI linker/loader -------------------------------------------------------

// A fake fw_cfg and guest memory: files by name, memory as a byte array
// starting at guest-physical kBase; the "high" zone grows from kBase, the
// "f-segment" zone from kBase + 0x10000.
struct FakeFw {
  static constexpr uint32_t kBase = 0x100000;
  std::map<std::string, std::vector<uint8_t>> files;
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x20000, 0xcc);
  uint32_t high = kBase, fseg = kBase + 0x10000;
  std::vector<std::pair<uint32_t, int>> allocs;  // addr, zone
  struct Write {
    std::string name;
    uint32_t offset;
    std::vector<uint8_t> data;
  };
  std::vector<Write> writes;

  loader_ops ops() {
    loader_ops o{};
    o.ctx = this;
    o.file_size = [](void *c, const char *name, uint32_t *size) {
      auto *f = static_cast<FakeFw *>(c);
      auto it = f->files.find(name);
      if (it == f->files.end()) return -1;
      *size = uint32_t(it->second.size());
      return 0;
    };
    o.alloc = [](void *c, int zone, uint32_t size, uint32_t align) -> uint32_t {
      auto *f = static_cast<FakeFw *>(c);
      uint32_t &next = zone == LOADER_ZONE_FSEG ? f->fseg : f->high;
      uint32_t a = (next + align - 1) & ~(align - 1);
      next = a + size;
      f->allocs.push_back({a, zone});
      return a;
    };
    o.ptr = [](void *c, uint32_t addr) {
      auto *f = static_cast<FakeFw *>(c);
      return f->mem.data() + (addr - kBase);
    };
    o.read_file = [](void *c, const char *name, uint32_t addr, uint32_t size) {
      auto *f = static_cast<FakeFw *>(c);
      std::memcpy(f->mem.data() + (addr - kBase), f->files.at(name).data(), size);
      return 0;
    };
    o.write_file = [](void *c, const char *name, uint32_t offset, const void *data,
                      uint32_t len) {
      auto *f = static_cast<FakeFw *>(c);
      const auto *p = static_cast<const uint8_t *>(data);
      f->writes.push_back({name, offset, std::vector<uint8_t>(p, p + len)});
      return 0;
    };
    return o;
  }
  uint8_t *at(uint32_t addr) { return mem.data() + (addr - kBase); }
};

struct Script {
  std::vector<uint8_t> bytes;
  uint8_t *add(uint32_t cmd) {
    bytes.resize(bytes.size() + 128, 0);
    uint8_t *c = bytes.data() + bytes.size() - 128;
    std::memcpy(c, &cmd, 4);
    return c;
  }
  static void put32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }
  void allocate(const char *file, uint32_t align, uint8_t zone) {
    uint8_t *c = add(LOADER_ALLOCATE);
    std::strncpy(reinterpret_cast<char *>(c + 4), file, 55);
    put32(c + 60, align);
    c[64] = zone;
  }
  void add_pointer(const char *dst, const char *src, uint32_t off, uint8_t size) {
    uint8_t *c = add(LOADER_ADD_POINTER);
    std::strncpy(reinterpret_cast<char *>(c + 4), dst, 55);
    std::strncpy(reinterpret_cast<char *>(c + 60), src, 55);
    put32(c + 116, off);
    c[120] = size;
  }
  void add_checksum(const char *file, uint32_t off, uint32_t start, uint32_t len) {
    uint8_t *c = add(LOADER_ADD_CHECKSUM);
    std::strncpy(reinterpret_cast<char *>(c + 4), file, 55);
    put32(c + 60, off);
    put32(c + 64, start);
    put32(c + 68, len);
  }
  void write_pointer(const char *dst, const char *src, uint32_t dst_off, uint32_t src_off,
                     uint8_t size) {
    uint8_t *c = add(LOADER_WRITE_POINTER);
    std::strncpy(reinterpret_cast<char *>(c + 4), dst, 55);
    std::strncpy(reinterpret_cast<char *>(c + 60), src, 55);
    put32(c + 116, dst_off);
    put32(c + 120, src_off);
    c[124] = size;
  }
};

FakeFw make_fw() {
  FakeFw fw;
  std::vector<uint8_t> rsdp(20, 0);
  std::memcpy(rsdp.data(), "RSD PTR ", 8);
  rsdp[16] = 0x40;  // RSDT at offset 0x40 of etc/acpi/tables
  fw.files["etc/acpi/rsdp"] = rsdp;
  std::vector<uint8_t> tables(0x100);
  for (size_t i = 0; i < tables.size(); i++) tables[i] = uint8_t(i * 7);
  fw.files["etc/acpi/tables"] = tables;
  fw.files["etc/vmgenid_addr"] = std::vector<uint8_t>(8, 0);
  return fw;
}

TEST(BiosAcpiLoader, AllocatesLinksAndChecksums) {
  FakeFw fw = make_fw();
  Script s;
  s.allocate("etc/acpi/tables", 64, LOADER_ZONE_HIGH);
  s.allocate("etc/acpi/rsdp", 16, LOADER_ZONE_FSEG);
  s.add_pointer("etc/acpi/rsdp", "etc/acpi/tables", 16, 4);
  s.add_checksum("etc/acpi/rsdp", 8, 0, 20);
  s.add(0x77);  // an unknown command is skipped
  loader_result res;
  auto ops = fw.ops();
  ASSERT_EQ(acpi_run_loader(s.bytes.data(), uint32_t(s.bytes.size()), &ops, &res), 0)
      << res.error;
  EXPECT_EQ(res.commands, 4);
  EXPECT_EQ(res.skipped, 1);
  uint32_t tables = loader_file_addr(&res, "etc/acpi/tables");
  uint32_t rsdp = loader_file_addr(&res, "etc/acpi/rsdp");
  ASSERT_NE(tables, 0u);
  ASSERT_NE(rsdp, 0u);
  EXPECT_EQ(tables % 64, 0u);
  EXPECT_EQ(rsdp % 16, 0u);
  EXPECT_GE(rsdp, FakeFw::kBase + 0x10000);  // the f-segment zone
  EXPECT_EQ(std::memcmp(fw.at(tables), fw.files["etc/acpi/tables"].data(), 0x100), 0);
  uint32_t rsdt;
  std::memcpy(&rsdt, fw.at(rsdp) + 16, 4);
  EXPECT_EQ(rsdt, tables + 0x40);
  EXPECT_EQ(table_checksum(fw.at(rsdp), 20), 0);
}

TEST(BiosAcpiLoader, WritePointerGoesBackThroughFwCfg) {
  FakeFw fw = make_fw();
  Script s;
  s.allocate("etc/acpi/tables", 16, LOADER_ZONE_HIGH);
  s.write_pointer("etc/vmgenid_addr", "etc/acpi/tables", 0, 0x20, 8);
  loader_result res;
  auto ops = fw.ops();
  ASSERT_EQ(acpi_run_loader(s.bytes.data(), uint32_t(s.bytes.size()), &ops, &res), 0)
      << res.error;
  ASSERT_EQ(fw.writes.size(), 1u);
  EXPECT_EQ(fw.writes[0].name, "etc/vmgenid_addr");
  EXPECT_EQ(fw.writes[0].offset, 0u);
  ASSERT_EQ(fw.writes[0].data.size(), 8u);
  uint64_t v;
  std::memcpy(&v, fw.writes[0].data.data(), 8);
  EXPECT_EQ(v, uint64_t(loader_file_addr(&res, "etc/acpi/tables")) + 0x20);
}

TEST(BiosAcpiLoader, BadScriptsStopWithAReason) {
  struct Case {
    const char *what;
    void (*build)(Script &);
  };
  const Case cases[] = {
      {"pointer outside its file",
       [](Script &s) {
         s.allocate("etc/acpi/tables", 16, LOADER_ZONE_HIGH);
         s.allocate("etc/acpi/rsdp", 16, LOADER_ZONE_FSEG);
         s.add_pointer("etc/acpi/rsdp", "etc/acpi/tables", 18, 4);
       }},
      {"pointer size 3",
       [](Script &s) {
         s.allocate("etc/acpi/tables", 16, LOADER_ZONE_HIGH);
         s.add_pointer("etc/acpi/tables", "etc/acpi/tables", 0, 3);
       }},
      {"file not allocated",
       [](Script &s) { s.add_checksum("etc/acpi/rsdp", 8, 0, 20); }},
      {"checksum range outside",
       [](Script &s) {
         s.allocate("etc/acpi/rsdp", 16, LOADER_ZONE_FSEG);
         s.add_checksum("etc/acpi/rsdp", 8, 4, 20);
       }},
      {"unknown fw_cfg file", [](Script &s) { s.allocate("etc/nope", 16, LOADER_ZONE_HIGH); }},
      {"unknown zone", [](Script &s) { s.allocate("etc/acpi/rsdp", 16, 7); }},
      {"alignment not a power of two",
       [](Script &s) { s.allocate("etc/acpi/rsdp", 24, LOADER_ZONE_FSEG); }},
      {"allocated twice",
       [](Script &s) {
         s.allocate("etc/acpi/rsdp", 16, LOADER_ZONE_FSEG);
         s.allocate("etc/acpi/rsdp", 16, LOADER_ZONE_FSEG);
       }},
  };
  for (const auto &c : cases) {
    FakeFw fw = make_fw();
    Script s;
    c.build(s);
    loader_result res;
    auto ops = fw.ops();
    EXPECT_EQ(acpi_run_loader(s.bytes.data(), uint32_t(s.bytes.size()), &ops, &res), -1)
        << c.what;
    EXPECT_NE(res.error, nullptr) << c.what;
  }
  // a script that is not a whole number of commands
  FakeFw fw = make_fw();
  uint8_t junk[100] = {1};
  loader_result res;
  auto ops = fw.ops();
  EXPECT_EQ(acpi_run_loader(junk, sizeof(junk), &ops, &res), -1);
}

// ---- int 13h geometry ---------------------------------------------------------

TEST(BiosGeometry, SmallDiskKeepsTheDrivesOwn) {
  chs id{97, 16, 63};
  chs g = bios_geometry(id, 98304);
  EXPECT_EQ(g.cylinders, 97u);
  EXPECT_EQ(g.heads, 16u);
  EXPECT_EQ(g.sectors, 63u);
  EXPECT_EQ(chs_to_lba(g, 0, 0, 1), 0);
  EXPECT_EQ(chs_to_lba(g, 0, 1, 1), 63);
  EXPECT_EQ(chs_to_lba(g, 1, 0, 1), 16 * 63);
  EXPECT_EQ(chs_to_lba(g, 0, 0, 0), -1);   // sectors count from 1
  EXPECT_EQ(chs_to_lba(g, 0, 0, 64), -1);
  EXPECT_EQ(chs_to_lba(g, 0, 16, 1), -1);
  EXPECT_EQ(chs_to_lba(g, 97, 0, 1), -1);
}

TEST(BiosGeometry, LargeDiskGetsLbaAssistTranslation) {
  chs id{16383, 16, 63};
  chs g = bios_geometry(id, 4194304);  // 2 GiB
  EXPECT_EQ(g.heads, 128u);
  EXPECT_EQ(g.sectors, 63u);
  EXPECT_EQ(g.cylinders, 520u);
  g = bios_geometry(id, 100ull << 21);  // 100 GiB: capped at 1024 cylinders
  EXPECT_EQ(g.heads, 255u);
  EXPECT_EQ(g.cylinders, 1024u);
}

}  // namespace

// int 13h reads and writes in DRQ blocks of this many sectors (READ/WRITE
// MULTIPLE): one status check and one string I/O per block, not per sector.
TEST(BiosGeometry, MultipleModeBlockFromIdentifyWord47) {
  EXPECT_EQ(ata_multiple_sectors(0x8010), 16u);  // QEMU and kvm-run: 16
  EXPECT_EQ(ata_multiple_sectors(0x8080), 16u);  // more allowed: we ask for 16
  EXPECT_EQ(ata_multiple_sectors(0x800c), 8u);   // not a power of two: round down
  EXPECT_EQ(ata_multiple_sectors(0x8002), 2u);
  EXPECT_EQ(ata_multiple_sectors(0x8001), 0u);   // 1 sector per block: plain READ SECTORS
  EXPECT_EQ(ata_multiple_sectors(0x0000), 0u);   // not supported
}
