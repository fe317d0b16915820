// The ACPI tables kvm-run gives a guest booted without firmware (ACPI 6.x spec, chapter 5):
//
//   RSDP (revision 2) -> RSDT and XSDT -> FADT, MADT;  FADT -> FACS, DSDT
//
// - FADT (revision 3, the ACPI 2.0 layout): SCI interrupt, PM1a event/control blocks and the
//   24-bit PM timer on I/O ports, no SMI command port (the machine is always in ACPI mode), the
//   reset register (a byte written to an I/O port), IA-PC boot flags "legacy devices" and
//   "8042 present", CMOS century register 0x32.  Both the 32-bit and the X_ (GAS) forms of
//   each block are filled, with the same addresses.
// - MADT: one enabled local APIC per vCPU (processor UID = APIC ID = vCPU index), the IOAPIC,
//   interrupt source overrides (ISA IRQ 0 -> GSI 2; the SCI level-triggered, active high), and
//   a local-APIC NMI on LINT1 for all processors; PCAT_COMPAT (dual 8259s present).
// - DSDT: \_S5 (soft off), whose SLP_TYPa is what the PM1a control register must see with
//   SLP_EN for the machine to power off; and \_SB.PCI0, the PCI host bridge (PNP0A03) with
//   its resource windows (_CRS), without which Linux does not scan PCI at all when it uses
//   ACPI.  No other devices: Linux finds COM1, the i8042 and the RTC at their legacy addresses.
// - FACS: present (the spec requires it outside hardware-reduced mode), all zero.
// Two ways to place them: build_acpi_tables() links them at a fixed address for a direct boot;
// for a firmware boot, acpi_table_loader() writes QEMU's BIOS linker/loader script
// (fw_cfg "etc/table-loader") with which SeaBIOS or our BIOS allocates "etc/acpi/tables"
// (high memory, 64-byte aligned) and "etc/acpi/rsdp" (the F segment, 16-byte aligned), patches
// every pointer (ADD_POINTER) and computes every checksum (ADD_CHECKSUM).  Both come from
// build_relocatable_acpi(), so the two boot paths give the guest the same tables.
// Missing: HPET, MCFG, SRAT, processor objects and anything else in the DSDT (no PCI
// interrupt routing _PRT: PCI INTx falls back to the interrupt line register; no power
// button, no sleep states other than S5).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace machine {

struct AcpiIrqOverride {
  std::uint8_t source;  // ISA IRQ
  std::uint32_t gsi;
  std::uint16_t flags;  // MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3
};

struct AcpiConfig {
  unsigned cpu_count = 1;
  std::uint32_t lapic_addr = 0;
  std::uint32_t ioapic_addr = 0;
  std::uint8_t ioapic_id = 0;
  std::vector<AcpiIrqOverride> overrides;
  std::uint16_t sci_irq = 0;
  std::uint16_t pm1a_event_port = 0;    // 4 bytes: status, enable
  std::uint16_t pm1a_control_port = 0;  // 2 bytes
  std::uint16_t pm_timer_port = 0;      // 4 bytes, 24 bits used
  std::uint16_t reset_port = 0;
  std::uint8_t reset_value = 0;
  std::uint8_t s5_sleep_type = 0;  // SLP_TYPa value of \_S5
  std::uint8_t century_register = 0x32;
  // The PCI host bridge in the DSDT (\_SB.PCI0, PNP0A03) with its windows: I/O outside
  // 0xCF8-0xCFF, the VGA window, and memory [pci_mmio_start, pci_mmio_end].
  bool pci = false;
  std::uint32_t pci_mmio_start = 0;
  std::uint32_t pci_mmio_end = 0;
};

// MPS INTI flags used in overrides.
inline constexpr std::uint16_t kAcpiIrqConforming = 0x0000;
inline constexpr std::uint16_t kAcpiIrqActiveHighLevel = 0x000d;

struct AcpiTables {
  std::vector<std::uint8_t> bytes;  // to be copied to guest-physical base
  std::uint64_t base = 0;
  // Guest-physical address of each table (for tests and for boot_params.acpi_rsdp_addr).
  std::uint64_t rsdp = 0, rsdt = 0, xsdt = 0, fadt = 0, facs = 0, dsdt = 0, madt = 0;
};

// The tables before placement: the RSDP and one blob with all other tables (FACS first).
// Pointer fields hold offsets into the tables blob; checksum fields are 0.
enum class AcpiBlobId { kRsdp, kTables };
struct AcpiPointer {
  AcpiBlobId in;           // the blob holding the pointer field
  std::size_t offset;      // of the field in that blob
  std::uint8_t width;      // 4 or 8 bytes, little-endian
};
struct AcpiChecksum {
  AcpiBlobId in;
  std::size_t offset;      // of the checksum byte
  std::size_t start, length;  // the bytes that must sum to 0
};
struct RelocatableAcpi {
  std::vector<std::uint8_t> rsdp;    // 36 bytes
  std::vector<std::uint8_t> tables;  // FACS, DSDT, FADT, MADT, RSDT, XSDT
  // Every pointer targets the tables blob.  Checksums are in the order they must be computed
  // (after all pointers): each table, then the RSDP's 20-byte and 36-byte checksums.
  std::vector<AcpiPointer> pointers;
  std::vector<AcpiChecksum> checksums;
  std::size_t facs = 0, dsdt = 0, fadt = 0, madt = 0, rsdt = 0, xsdt = 0;  // in tables
};

RelocatableAcpi build_relocatable_acpi(const AcpiConfig& config);

// What a loader does: adds tables_addr to every pointer, then fixes every checksum.
void link_acpi(RelocatableAcpi& acpi, std::uint64_t tables_addr);

// The direct-boot placement: the RSDP at base, the other tables at base + kAcpiTablesOffset
// (base must be 64-byte aligned, for the FACS).
inline constexpr std::size_t kAcpiTablesOffset = 64;
AcpiTables build_acpi_tables(const AcpiConfig& config, std::uint64_t base);

// QEMU's BIOS linker/loader (hw/acpi/bios-linker-loader.c): 128-byte commands.
inline constexpr char kAcpiTablesFile[] = "etc/acpi/tables";
inline constexpr char kAcpiRsdpFile[] = "etc/acpi/rsdp";
inline constexpr char kTableLoaderFile[] = "etc/table-loader";
inline constexpr std::size_t kLoaderCommandSize = 128;
inline constexpr std::size_t kLoaderFileNameSize = 56;
inline constexpr std::uint32_t kLoaderAllocate = 1;    // file[56], align u32, zone u8
inline constexpr std::uint32_t kLoaderAddPointer = 2;  // dest[56], src[56], offset u32, size u8
inline constexpr std::uint32_t kLoaderAddChecksum = 3;  // file[56], offset, start, length u32
inline constexpr std::uint8_t kLoaderZoneHigh = 1;
inline constexpr std::uint8_t kLoaderZoneFseg = 2;

// The "etc/table-loader" script for acpi: ALLOCATE both blobs, ADD_POINTER for every pointer,
// ADD_CHECKSUM for every checksum, in RelocatableAcpi's order.
std::vector<std::uint8_t> acpi_table_loader(const RelocatableAcpi& acpi);

// The sum of bytes, mod 256 (a valid table sums to 0).
std::uint8_t acpi_checksum(std::span<const std::uint8_t> bytes);

}  // namespace machine
