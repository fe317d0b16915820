// Booting through a BIOS: the ROM layout, the PAM decisions and the memory slots they lead to,
// the window's exits, and the E820 file the firmware reads.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "machine/firmware.h"
#include "machine/layout.h"
#include "machine/memory_map.h"
#include "machine/pc.h"

namespace {

using machine::PamBacking;
using machine::PamMapping;
using machine::PamSegmentState;

TEST(RomLayout, TheImageEndsAt4GiBAndItsLast128KiBAppearBelow1MiB) {
  auto l = machine::rom_layout(128 * 1024);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->high_base, 0xfffe0000u);
  EXPECT_EQ(l->alias_base, 0xe0000u);
  EXPECT_EQ(l->alias_size, 128u * 1024);
  EXPECT_EQ(l->alias_offset, 0u);
  // The reset vector 0xFFFFFFF0 and F000:FFF0 (0xFFFF0) are the same ROM byte.
  EXPECT_EQ(0xfffffff0u - l->high_base, l->alias_offset + (0xffff0 - l->alias_base));

  l = machine::rom_layout(256 * 1024);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->high_base, 0xfffc0000u);
  EXPECT_EQ(l->alias_base, 0xe0000u) << "only the last 128 KiB below 1 MiB";
  EXPECT_EQ(l->alias_offset, 128u * 1024);
  EXPECT_GE(l->high_base, machine::layout::kKvmReservedStart + machine::layout::kKvmReservedSize)
      << "the ROM must not cover KVM's TSS pages";

  l = machine::rom_layout(64 * 1024);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->alias_base, 0xf0000u);
  EXPECT_EQ(l->alias_size, 64u * 1024);
}

TEST(RomLayout, OddAndOversizedImagesAreRefused) {
  for (std::uint64_t size : {0ull, 1221ull, 65535ull, 100000ull, 320ull * 1024, 1ull << 20}) {
    auto l = machine::rom_layout(size);
    ASSERT_FALSE(l.ok()) << size;
    EXPECT_NE(l.error().find(std::to_string(size)), std::string::npos) << l.error();
  }
}

TEST(Pam, ResetStateIsThirteenSegmentsWithNeitherReadNorWriteToDram) {
  const auto s = machine::pam_reset_state();
  ASSERT_EQ(s.size(), machine::kPamSegments);
  EXPECT_EQ(s[0].base, 0xc0000u);
  EXPECT_EQ(s[11].base, 0xec000u);
  EXPECT_EQ(s[11].size, 0x4000u);
  EXPECT_EQ(s[12].base, 0xf0000u);
  EXPECT_EQ(s[12].size, 0x10000u);
  for (const auto& seg : s) {
    EXPECT_FALSE(seg.read_dram || seg.write_dram);
  }
}

TEST(Pam, EachModeMapsWhatTheDataSheetSays) {
  const auto rom = machine::rom_layout(128 * 1024).value();
  const PamSegmentState f{0xf0000, 0x10000, false, false};
  EXPECT_EQ(machine::pam_mapping(f, rom), (PamMapping{PamBacking::kRom, 0x10000, true}))
      << "reset: the ROM's last 64 KiB";
  const PamSegmentState e4{0xe4000, 0x4000, false, true};
  EXPECT_EQ(machine::pam_mapping(e4, rom), (PamMapping{PamBacking::kRom, 0x4000, true}))
      << "write-only: reads still from ROM, writes exit";
  EXPECT_EQ(machine::pam_mapping({0xf0000, 0x10000, true, true}, rom),
            (PamMapping{PamBacking::kRam, 0, false}));
  EXPECT_EQ(machine::pam_mapping({0xf0000, 0x10000, true, false}, rom),
            (PamMapping{PamBacking::kRam, 0, true}))
      << "read-only RAM: writes exit and are dropped";
  EXPECT_EQ(machine::pam_mapping({0xc8000, 0x4000, false, false}, rom), PamMapping{})
      << "below the ROM alias there is nothing";
  const auto small = machine::rom_layout(64 * 1024).value();
  EXPECT_EQ(machine::pam_mapping({0xe0000, 0x4000, false, false}, small), PamMapping{});
}

// A fake KVM: remembers the slots and refuses what KVM refuses (deleting a missing slot,
// adding over an existing one).
struct FakeSlots {
  struct Slot {
    std::uint64_t gpa, size;
    std::uint8_t* host;
    bool read_only;
  };
  std::map<std::uint32_t, Slot> slots;
  int calls = 0;
  bool refuse = false;
  machine::PamMemory::SetSlot callback() {
    return [this](std::uint32_t slot, std::uint64_t gpa, std::uint64_t size, std::uint8_t* host,
                  bool read_only) {
      ++calls;
      if (refuse) {
        return false;
      }
      if (size == 0) {
        return slots.erase(slot) == 1;
      }
      if (slots.count(slot)) {
        return false;
      }
      slots[slot] = {gpa, size, host, read_only};
      return true;
    };
  }
};

class PamMemoryTest : public ::testing::Test {
 protected:
  PamMemoryTest() : ram(2 << 20, 0), rom(128 * 1024) {
    for (std::size_t i = 0; i < rom.size(); ++i) {
      rom[i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
  }
  std::vector<PamSegmentState> all(bool read_dram, bool write_dram) {
    auto s = machine::pam_reset_state();
    for (auto& seg : s) {
      seg.read_dram = read_dram;
      seg.write_dram = write_dram;
    }
    return s;
  }
  std::uint8_t read(std::uint64_t gpa) {
    std::uint8_t b = 0;
    pam.read(gpa - machine::kPamWindowStart, std::span(&b, 1));
    return b;
  }
  void write(std::uint64_t gpa, std::uint8_t v) {
    pam.write(gpa - machine::kPamWindowStart, std::span(&v, 1));
  }

  std::vector<std::uint8_t> ram;
  std::vector<std::uint8_t> rom;
  FakeSlots kvm;
  machine::RomLayout layout = machine::rom_layout(128 * 1024).value();
  machine::PamMemory pam{ram.data(), rom, layout, 16, kvm.callback()};
};

TEST_F(PamMemoryTest, ResetMapsTheRomAliasReadOnlyAndNothingBelowIt) {
  ASSERT_TRUE(pam.update(machine::pam_reset_state()));
  EXPECT_EQ(kvm.slots.size(), 5u) << "0xE0000-0xEFFFF in four 16 KiB segments, and the F segment";
  for (const auto& [slot, s] : kvm.slots) {
    EXPECT_TRUE(s.read_only);
    EXPECT_GE(s.gpa, 0xe0000u);
    EXPECT_EQ(s.host, rom.data() + (s.gpa - 0xe0000)) << "slot " << slot;
  }
  EXPECT_EQ(kvm.slots.at(16 + 12).gpa, 0xf0000u) << "segment i is slot first + i";
  EXPECT_EQ(read(0xffff0), rom[0x1fff0]) << "F000:FFF0 is the ROM's reset vector";
  EXPECT_EQ(read(0xc0000), 0xff) << "no option ROM";
  write(0xf1234, 0x55);
  EXPECT_EQ(ram[0xf1234], 0) << "writes to ROM go nowhere";
  EXPECT_EQ(pam.dropped_writes(), 1u);
}

TEST_F(PamMemoryTest, ShadowingTheBiosTheWaySeaBiosDoes) {
  ASSERT_TRUE(pam.update(machine::pam_reset_state()));
  // Everything read/write: RAM everywhere, the ROM slots replaced.
  ASSERT_TRUE(pam.update(all(true, true)));
  ASSERT_EQ(kvm.slots.size(), 13u);
  for (const auto& [slot, s] : kvm.slots) {
    EXPECT_FALSE(s.read_only);
    EXPECT_EQ(s.host, ram.data() + s.gpa);
  }
  ram[0xf0000] = 0x12;
  EXPECT_EQ(read(0xf0000), 0x12) << "an exit during the swap sees the new state";
  // Then read-only: writes exit and are dropped.
  ASSERT_TRUE(pam.update(all(true, false)));
  for (const auto& [slot, s] : kvm.slots) {
    EXPECT_TRUE(s.read_only);
    EXPECT_EQ(s.host, ram.data() + s.gpa);
  }
  write(0xf0000, 0x34);
  EXPECT_EQ(ram[0xf0000], 0x12);
}

TEST_F(PamMemoryTest, WriteOnlyReadsTheRomAndWritesTheRam) {
  ASSERT_TRUE(pam.update(all(false, true)));
  EXPECT_EQ(kvm.slots.size(), 5u) << "reads still come from the ROM alias";
  write(0xf8000, 0x77);
  EXPECT_EQ(ram[0xf8000], 0x77);
  EXPECT_EQ(read(0xf8000), rom[0x18000]);
  write(0xc4000, 0x66);
  EXPECT_EQ(ram[0xc4000], 0x66) << "also below the ROM alias";
  EXPECT_EQ(read(0xc4000), 0xff);
}

TEST_F(PamMemoryTest, UnchangedSegmentsAreLeftAloneAndRefusalsAreReported) {
  ASSERT_TRUE(pam.update(machine::pam_reset_state()));
  const int calls = kvm.calls;
  ASSERT_TRUE(pam.update(machine::pam_reset_state()));
  EXPECT_EQ(kvm.calls, calls);
  kvm.refuse = true;
  EXPECT_FALSE(pam.update(all(true, true)));
  kvm.refuse = false;
  EXPECT_TRUE(pam.update(all(true, true))) << "a later update recovers";
  EXPECT_EQ(kvm.slots.size(), 13u);
}

TEST(FirmwareE820, QemuFormatWithRamAroundTheHoleAndKvmsPagesReserved) {
  auto read_entry = [](const std::vector<std::uint8_t>& f, std::size_t i) {
    std::uint64_t addr, size;
    std::uint32_t type;
    std::memcpy(&addr, &f[i * 20], 8);
    std::memcpy(&size, &f[i * 20 + 8], 8);
    std::memcpy(&type, &f[i * 20 + 16], 4);
    return machine::E820Entry{addr, size, static_cast<machine::E820Type>(type)};
  };
  auto f = machine::firmware_e820_file(machine::ram_layout(512ull << 20));
  ASSERT_EQ(f.size(), 2u * 20);
  EXPECT_EQ(read_entry(f, 0), (machine::E820Entry{0, 512ull << 20, machine::E820Type::kRam}));
  EXPECT_EQ(read_entry(f, 1),
            (machine::E820Entry{0xfffbc000, 0x4000, machine::E820Type::kReserved}));

  f = machine::firmware_e820_file(machine::ram_layout(4ull << 30));
  ASSERT_EQ(f.size(), 3u * 20);
  EXPECT_EQ(read_entry(f, 0), (machine::E820Entry{0, 3ull << 30, machine::E820Type::kRam}));
  EXPECT_EQ(read_entry(f, 1),
            (machine::E820Entry{4ull << 30, 1ull << 30, machine::E820Type::kRam}));
}

}  // namespace

namespace {

TEST(FirmwareFwCfg, TheFilesSeaBiosAndOurBiosReadAreThereAndAgree) {
  machine::PcConfig config;
  config.cpus = 3;
  config.ram_bytes = 512ull << 20;
  const auto layout = machine::ram_layout(config.ram_bytes);
  std::map<std::string, std::vector<std::uint8_t>> files;
  for (auto& [name, data] : machine::firmware_fw_cfg_files(config, layout)) {
    EXPECT_TRUE(files.emplace(name, data).second) << "twice: " << name;
  }
  EXPECT_EQ(files.at("etc/boot-cpus"), (std::vector<std::uint8_t>{3, 0}));
  EXPECT_EQ(files.at("etc/sercon-port"), (std::vector<std::uint8_t>{0xf8, 0x03}));
  EXPECT_EQ(files.at("etc/e820"), machine::firmware_e820_file(layout));
  EXPECT_FALSE(files.count("etc/boot-fail-wait")) << "the firmware's own default";
  // Every file the loader script names is there.
  const auto& script = files.at("etc/table-loader");
  ASSERT_EQ(script.size() % 128, 0u);
  for (std::size_t at = 0; at < script.size(); at += 128) {
    const std::string name(reinterpret_cast<const char*>(&script[at + 4]));
    EXPECT_TRUE(files.count(name)) << name;
  }
  // The MADT in the tables lists all three CPUs (type 0 entries of 8 bytes).
  const auto& tables = files.at("etc/acpi/tables");
  const std::string blob(tables.begin(), tables.end());
  const auto madt = blob.find("APIC");
  ASSERT_NE(madt, std::string::npos);
  std::uint32_t len;
  std::memcpy(&len, &tables[madt + 4], 4);
  int cpus = 0;
  for (std::size_t p = madt + 44; p < madt + len; p += tables[p + 1]) {
    cpus += tables[p] == 0 && (tables[p + 4] & 1);
  }
  EXPECT_EQ(cpus, 3);

  config.reboot_timeout_ms = -1;
  for (auto& [name, data] : machine::firmware_fw_cfg_files(config, layout)) {
    if (name == "etc/boot-fail-wait") {
      EXPECT_EQ(data, (std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0xff})) << "-1: never";
    }
  }
}

}  // namespace
