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
//   SLP_EN for the machine to power off, and the PCI root bridge \_SB.PCI0 (PNP0A03, bus 0,
//   with its I/O and memory windows in _CRS), without which an ACPI OS does not enumerate PCI.
//   No other devices: Linux finds COM1, the i8042 and the RTC at their legacy addresses.
// - FACS: present (the spec requires it outside hardware-reduced mode), all zero.
// Missing: HPET, MCFG, SRAT, processor objects and anything else in the DSDT (no PCI interrupt
// routing (_PRT, link devices): the PCI functions so far use ISA IRQs; no power button, no sleep
// states other than S5).
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
  // PCI root bridge in the DSDT: the configuration mechanism's first port (0: no PCI0 device)
  // and the 32-bit MMIO window for BARs.
  std::uint16_t pci_config_port = 0;
  std::uint32_t pci_mmio_base = 0;
  std::uint32_t pci_mmio_limit = 0;
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

// Builds every table, addresses relative to base (which must be 16-byte aligned).
AcpiTables build_acpi_tables(const AcpiConfig& config, std::uint64_t base);

// The sum of bytes, mod 256 (a valid table sums to 0).
std::uint8_t acpi_checksum(std::span<const std::uint8_t> bytes);

}  // namespace machine
