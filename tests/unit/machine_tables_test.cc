// The machine's memory map (RAM around the PCI hole, E820) and its ACPI tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "machine/acpi.h"
#include "machine/layout.h"
#include "machine/memory_map.h"
#include "machine/pc.h"

namespace {

using machine::E820Entry;
using machine::E820Type;
namespace layout = machine::layout;

constexpr std::uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;

TEST(MemoryMap, SmallRamIsOneRegionBelowTheHole) {
  const auto l = machine::ram_layout(256 * kMiB);
  EXPECT_EQ(l.below_4g, 256 * kMiB);
  EXPECT_EQ(l.above_4g, 0u);
  const auto regions = machine::ram_regions(l);
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].gpa, 0u);
  EXPECT_EQ(regions[0].size, 256 * kMiB);
}

TEST(MemoryMap, LargeRamContinuesAbove4GiB) {
  const auto l = machine::ram_layout(5 * kGiB);
  EXPECT_EQ(l.below_4g, layout::kPciHoleStart);
  EXPECT_EQ(l.above_4g, 5 * kGiB - layout::kPciHoleStart);
  const auto regions = machine::ram_regions(l);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[1].gpa, 4 * kGiB);
  EXPECT_EQ(regions[0].size + regions[1].size, 5 * kGiB);
}

TEST(MemoryMap, E820LeavesTheLegacyHolesAndReservesTheBiosArea) {
  const auto map = machine::e820_map(machine::ram_layout(512 * kMiB));
  const std::vector<E820Entry> want = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x400, E820Type::kReserved},
      {0xe0000, 0x20000, E820Type::kReserved},
      {0x100000, 512 * kMiB - 0x100000, E820Type::kRam},
  };
  EXPECT_EQ(map, want);
}

TEST(MemoryMap, E820ReportsRamAboveTheHoleAndNothingInIt) {
  const auto map = machine::e820_map(machine::ram_layout(4 * kGiB));
  ASSERT_GE(map.size(), 2u);
  EXPECT_EQ(map.back(), (E820Entry{4 * kGiB, 1 * kGiB, E820Type::kRam}));
  const auto& below = map[map.size() - 2];
  EXPECT_EQ(below.addr + below.size, layout::kPciHoleStart);
  for (std::size_t i = 1; i < map.size(); ++i) {
    EXPECT_GE(map[i].addr, map[i - 1].addr + map[i - 1].size) << "sorted, no overlap";
  }
}

TEST(MemoryMap, TinyRamReportsOnlyWhatExists) {
  const auto map = machine::e820_map(machine::ram_layout(512 * 1024));
  ASSERT_EQ(map.size(), 1u);
  EXPECT_EQ(map[0], (E820Entry{0, 512 * 1024, E820Type::kRam}));
}

// ---- ACPI

class AcpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config.cpu_count = 3;
    config.lapic_addr = 0xfee00000;
    config.ioapic_addr = 0xfec00000;
    config.ioapic_id = 0;
    config.overrides = {{0, 2, machine::kAcpiIrqConforming},
                        {9, 9, machine::kAcpiIrqActiveHighLevel}};
    config.sci_irq = 9;
    config.pm1a_event_port = 0x600;
    config.pm1a_control_port = 0x604;
    config.pm_timer_port = 0x608;
    config.reset_port = 0xcf9;
    config.reset_value = 0x06;
    config.s5_sleep_type = 5;
    t = machine::build_acpi_tables(config, kBase);
  }
  const std::uint8_t* at(std::uint64_t addr) { return t.bytes.data() + (addr - kBase); }
  std::uint64_t get(std::uint64_t addr, int width) {
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) {
      v |= static_cast<std::uint64_t>(at(addr)[i]) << (8 * i);
    }
    return v;
  }
  std::uint32_t length(std::uint64_t table) { return static_cast<std::uint32_t>(get(table + 4, 4)); }
  std::string signature(std::uint64_t table) {
    return std::string(reinterpret_cast<const char*>(at(table)), 4);
  }
  bool sums_to_zero(std::uint64_t table, std::size_t len) {
    return machine::acpi_checksum(std::span(at(table), len)) == 0;
  }

  static constexpr std::uint64_t kBase = 0xe0000;
  machine::AcpiConfig config;
  machine::AcpiTables t;
};

TEST_F(AcpiTest, RsdpPointsAtRsdtAndXsdtWithBothChecksums) {
  EXPECT_EQ(t.rsdp, kBase);
  EXPECT_EQ(std::memcmp(at(t.rsdp), "RSD PTR ", 8), 0);
  EXPECT_EQ(at(t.rsdp)[15], 2) << "revision 2: has the XSDT";
  EXPECT_TRUE(sums_to_zero(t.rsdp, 20));
  EXPECT_TRUE(sums_to_zero(t.rsdp, 36));
  EXPECT_EQ(get(t.rsdp + 16, 4), t.rsdt);
  EXPECT_EQ(get(t.rsdp + 20, 4), 36u);
  EXPECT_EQ(get(t.rsdp + 24, 8), t.xsdt);
  EXPECT_EQ(t.rsdp % 16, 0u) << "found by the 16-byte-step scan of the BIOS area";
}

TEST_F(AcpiTest, EveryTableHasItsSignatureLengthAndChecksum) {
  for (auto [addr, sig] : std::vector<std::pair<std::uint64_t, std::string>>{
           {t.rsdt, "RSDT"}, {t.xsdt, "XSDT"}, {t.fadt, "FACP"}, {t.dsdt, "DSDT"},
           {t.madt, "APIC"}}) {
    EXPECT_EQ(signature(addr), sig);
    ASSERT_LE(addr - kBase + length(addr), t.bytes.size()) << sig;
    EXPECT_TRUE(sums_to_zero(addr, length(addr))) << sig;
  }
  EXPECT_EQ(signature(t.facs), "FACS");
  EXPECT_EQ(length(t.facs), 64u);
  EXPECT_EQ(t.facs % 64, 0u) << "the FACS must be 64-byte aligned";
}

TEST_F(AcpiTest, RsdtAndXsdtListFadtAndMadt) {
  ASSERT_EQ(length(t.rsdt), 36u + 2 * 4);
  EXPECT_EQ(get(t.rsdt + 36, 4), t.fadt);
  EXPECT_EQ(get(t.rsdt + 40, 4), t.madt);
  ASSERT_EQ(length(t.xsdt), 36u + 2 * 8);
  EXPECT_EQ(get(t.xsdt + 36, 8), t.fadt);
  EXPECT_EQ(get(t.xsdt + 44, 8), t.madt);
}

TEST_F(AcpiTest, FadtDescribesThePmBlocksResetRegisterAndBootFlags) {
  const std::uint64_t f = t.fadt;
  EXPECT_EQ(length(f), 244u);
  EXPECT_EQ(at(f)[8], 3) << "revision";
  EXPECT_EQ(get(f + 36, 4), t.facs);
  EXPECT_EQ(get(f + 40, 4), t.dsdt);
  EXPECT_EQ(get(f + 46, 2), 9u) << "SCI_INT";
  EXPECT_EQ(get(f + 48, 4), 0u) << "no SMI_CMD: always in ACPI mode";
  EXPECT_EQ(get(f + 56, 4), 0x600u) << "PM1a_EVT_BLK";
  EXPECT_EQ(get(f + 64, 4), 0x604u) << "PM1a_CNT_BLK";
  EXPECT_EQ(get(f + 76, 4), 0x608u) << "PM_TMR_BLK";
  EXPECT_EQ(at(f)[88], 4) << "PM1_EVT_LEN";
  EXPECT_EQ(at(f)[89], 2) << "PM1_CNT_LEN";
  EXPECT_EQ(at(f)[91], 4) << "PM_TMR_LEN";
  EXPECT_EQ(at(f)[108], 0x32) << "CENTURY";
  EXPECT_EQ(get(f + 109, 2) & 3, 3u) << "IAPC_BOOT_ARCH: legacy devices, 8042";
  const std::uint32_t flags = static_cast<std::uint32_t>(get(f + 112, 4));
  EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
  EXPECT_FALSE(flags & (1u << 8)) << "24-bit PM timer";
  // RESET_REG: system I/O, 8 bits, at 0xcf9; RESET_VALUE 6.
  EXPECT_EQ(at(f)[116], 1);
  EXPECT_EQ(at(f)[117], 8);
  EXPECT_EQ(get(f + 120, 8), 0xcf9u);
  EXPECT_EQ(at(f)[128], 6);
  // The 64-bit forms agree with the 32-bit ones.
  EXPECT_EQ(get(f + 132, 8), t.facs);
  EXPECT_EQ(get(f + 140, 8), t.dsdt);
  EXPECT_EQ(at(f)[148], 1);
  EXPECT_EQ(get(f + 152, 8), 0x600u) << "X_PM1a_EVT_BLK";
  EXPECT_EQ(get(f + 176, 8), 0x604u) << "X_PM1a_CNT_BLK";
  EXPECT_EQ(get(f + 212, 8), 0x608u) << "X_PM_TMR_BLK";
  EXPECT_EQ(at(f)[209], 32) << "X_PM_TMR_BLK bit width";
}

TEST_F(AcpiTest, DsdtDefinesS5WithTheConfiguredSleepType) {
  const std::uint8_t* aml = at(t.dsdt) + 36;
  const std::size_t n = length(t.dsdt) - 36;
  const std::uint8_t want[] = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                               0x0a, 5,   0x0a, 5,   0x00, 0x00};
  ASSERT_EQ(n, sizeof(want));
  EXPECT_EQ(std::memcmp(aml, want, sizeof(want)), 0);
}

TEST(AcpiPci, DsdtHasThePciRootBridgeWithItsWindows) {
  // The bytes iasl -d turns into Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId
  // ("PNP0A03")) ... Name (_CRS, ResourceTemplate () { ... }) } }.
  const auto t = machine::build_acpi_tables(machine::pc_acpi_config(1, 256ull << 20), 0xe0000);
  const std::uint8_t* dsdt = t.bytes.data() + (t.dsdt - 0xe0000);
  std::uint32_t len;
  std::memcpy(&len, dsdt + 4, 4);
  const std::string aml(reinterpret_cast<const char*>(dsdt), len);
  EXPECT_EQ(machine::acpi_checksum(std::span(dsdt, len)), 0);
  const auto device = aml.find("\x5b\x82");
  ASSERT_NE(device, std::string::npos) << "DeviceOp";
  EXPECT_NE(aml.find("\\_SB_"), std::string::npos);
  EXPECT_EQ(aml.substr(device + 4, 4), "PCI0") << "two-byte PkgLength, then the name";
  EXPECT_NE(aml.find(std::string("_HID\x0c\x41\xd0\x0a\x03", 9)), std::string::npos)
      << "EisaId (PNP0A03)";
  // DWordMemory window from the end of RAM (256 MiB) to below the IOAPIC.
  const std::string window("\x87\x17\x00\x00\x0c\x03\x00\x00\x00\x00"
                           "\x00\x00\x00\x10\xff\xff\xbf\xfe", 18);
  EXPECT_NE(aml.find(window), std::string::npos);
  // The package lengths add up: the Scope's covers the rest of the table.
  const auto scope_at = aml.find("\x10", 36 + 14);
  ASSERT_LT(scope_at, aml.size());
  const std::size_t pkg = (static_cast<std::uint8_t>(aml[scope_at + 1]) & 0x0f) |
                          (static_cast<std::size_t>(static_cast<std::uint8_t>(aml[scope_at + 2])) << 4);
  EXPECT_EQ(scope_at + 1 + pkg, aml.size());
}

TEST_F(AcpiTest, MadtListsEveryCpuTheIoapicAndTheOverrides) {
  const std::uint64_t m = t.madt;
  EXPECT_EQ(get(m + 36, 4), 0xfee00000u);
  EXPECT_EQ(get(m + 40, 4), 1u) << "PCAT_COMPAT";
  std::vector<unsigned> apic_ids;
  int ioapics = 0, nmis = 0;
  std::vector<std::pair<unsigned, unsigned>> overrides;
  for (std::uint64_t p = m + 44; p < m + length(m);) {
    const std::uint8_t type = at(p)[0], len = at(p)[1];
    ASSERT_GE(len, 2) << "entry lengths must make progress";
    switch (type) {
      case 0:
        EXPECT_EQ(len, 8);
        EXPECT_EQ(get(p + 4, 4) & 1, 1u) << "enabled";
        EXPECT_EQ(at(p)[2], at(p)[3]) << "processor UID = APIC ID";
        apic_ids.push_back(at(p)[3]);
        break;
      case 1:
        EXPECT_EQ(len, 12);
        EXPECT_EQ(get(p + 4, 4), 0xfec00000u);
        EXPECT_EQ(get(p + 8, 4), 0u) << "GSI base";
        ++ioapics;
        break;
      case 2:
        EXPECT_EQ(len, 10);
        overrides.push_back({at(p)[3], static_cast<unsigned>(get(p + 4, 4))});
        if (at(p)[3] == 9) {
          EXPECT_EQ(get(p + 8, 2), 0x000du) << "SCI: level, active high";
        }
        break;
      case 4:
        EXPECT_EQ(len, 6);
        EXPECT_EQ(at(p)[5], 1) << "LINT1";
        ++nmis;
        break;
      default:
        ADD_FAILURE() << "unexpected MADT entry type " << int(type);
    }
    p += len;
  }
  EXPECT_EQ(apic_ids, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(nmis, 1);
  EXPECT_EQ(overrides, (std::vector<std::pair<unsigned, unsigned>>{{0, 2}, {9, 9}}));
}

TEST_F(AcpiTest, ManyCpusStillFitTheBiosArea) {
  config.cpu_count = 254;
  const auto big = machine::build_acpi_tables(config, kBase);
  EXPECT_LE(big.bytes.size(), layout::kAcpiTablesMaxSize);
  const std::size_t madt = big.madt - kBase;
  std::uint32_t len = 0;
  std::memcpy(&len, &big.bytes[madt + 4], 4);
  EXPECT_EQ(len, 44u + 254 * 8 + 12 + 2 * 10 + 6);
  EXPECT_EQ(machine::acpi_checksum(std::span(big.bytes).subspan(madt, len)), 0);
}

// ---- The firmware's story and KVM's wiring agree

TEST(PcWiring, EveryIsaIrqReachesThePicPinAndTheIoapicPinTheMadtNames) {
  const auto acpi = machine::pc_acpi_config(2);
  const auto routes = machine::pc_gsi_routes();
  auto routed = [&](std::uint32_t gsi, std::uint32_t chip) {
    std::vector<std::uint32_t> pins;
    for (const auto& r : routes) {
      if (r.gsi == gsi && r.type == KVM_IRQ_ROUTING_IRQCHIP && r.u.irqchip.irqchip == chip) {
        pins.push_back(r.u.irqchip.pin);
      }
    }
    return pins;
  };
  for (std::uint32_t irq = 0; irq < 16; ++irq) {
    if (irq == 2) {
      continue;  // the PIC cascade
    }
    std::uint32_t want_gsi = irq;
    for (const auto& o : acpi.overrides) {
      if (o.source == irq) {
        want_gsi = o.gsi;
      }
    }
    EXPECT_EQ(routed(irq, KVM_IRQCHIP_IOAPIC), std::vector<std::uint32_t>{want_gsi}) << irq;
    EXPECT_EQ(routed(irq, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE),
              std::vector<std::uint32_t>{irq % 8})
        << irq;
  }
  for (std::uint32_t gsi = 16; gsi < layout::kIoapicPins; ++gsi) {
    EXPECT_EQ(routed(gsi, KVM_IRQCHIP_IOAPIC), std::vector<std::uint32_t>{gsi});
  }
  // No IOAPIC pin is driven by two GSIs.
  std::vector<int> users(layout::kIoapicPins, 0);
  for (const auto& r : routes) {
    if (r.u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
      ASSERT_LT(r.u.irqchip.pin, layout::kIoapicPins);
      EXPECT_EQ(++users[r.u.irqchip.pin], 1) << "pin " << r.u.irqchip.pin;
    }
  }
}

TEST(PcWiring, AcpiPortsAreWhereTheMachinePutsTheDevices) {
  const auto acpi = machine::pc_acpi_config(1);
  EXPECT_EQ(acpi.pm1a_event_port, layout::kAcpiPmBase);
  EXPECT_EQ(acpi.pm1a_control_port, layout::kAcpiPmBase + 4);
  EXPECT_EQ(acpi.pm_timer_port, layout::kAcpiPmBase + 8);
  EXPECT_EQ(acpi.reset_port, layout::kResetControlPort);
  EXPECT_EQ(acpi.reset_port, layout::kPciConfigAddressPort + 1);
  EXPECT_EQ(acpi.sci_irq, layout::kIrqSci);
  EXPECT_EQ(acpi.ioapic_addr, layout::kIoapicAddr);
  EXPECT_EQ(acpi.lapic_addr, layout::kLapicAddr);
}

}  // namespace
