// The PC's fixed resources, assigned here and nowhere else: guest-physical addresses, I/O
// ports, ISA IRQs and their GSIs.  Devices never see these numbers (they see offsets); the
// machine (pc.cc) places them, and the firmware tables (acpi.cc, the E820 map) describe them.
#pragma once

#include <cstdint>

namespace machine::layout {

// ---- Guest-physical memory ------------------------------------------------------------
inline constexpr std::uint64_t kMiB = 1ull << 20;
inline constexpr std::uint64_t kGiB = 1ull << 30;

// RAM runs from 0 up to the 32-bit PCI hole; whatever does not fit below it continues at 4 GiB.
inline constexpr std::uint64_t kPciHoleStart = 3 * kGiB;
inline constexpr std::uint64_t kPciHoleEnd = 4 * kGiB;
inline constexpr std::uint64_t kHighRamStart = 4 * kGiB;

// Low memory as a PC firmware leaves it (facts the E820 map reports):
inline constexpr std::uint64_t kEbdaStart = 0x9fc00;     // 1 KiB extended BIOS data area
inline constexpr std::uint64_t kVgaStart = 0xa0000;      // legacy VGA window and option ROMs
inline constexpr std::uint64_t kBiosAreaStart = 0xe0000;  // system BIOS area, reserved
inline constexpr std::uint64_t kHighMemoryStart = 0x100000;

// Boot structures for a direct Linux boot (all in RAM below 1 MiB, none reserved in E820
// except the ACPI tables: the kernel copies what it needs before reusing low memory).
inline constexpr std::uint64_t kBootGdtAddr = 0x500;
inline constexpr std::uint64_t kBootPageTablesAddr = 0x1000;  // PML4, PDPT, 4 PDs: 0x1000-0x6fff
inline constexpr std::uint64_t kBootParamsAddr = 0x7000;      // struct boot_params ("zero page")
inline constexpr std::uint64_t kBootStackTop = 0x8ff0;
inline constexpr std::uint64_t kCmdlineAddr = 0x20000;
inline constexpr std::uint64_t kCmdlineMax = 0x10000;  // bytes including the NUL
inline constexpr std::uint64_t kKernelLoadAddr = 0x100000;
// ACPI tables live in the reserved BIOS area, where an RSDP scan also finds them.
inline constexpr std::uint64_t kAcpiTablesAddr = 0xe0000;
inline constexpr std::uint64_t kAcpiTablesMaxSize = 0x10000;

// Interrupt controllers (in the kernel when KVM offers them) and the VMX TSS.
inline constexpr std::uint64_t kIoapicAddr = 0xfec00000;
inline constexpr std::uint64_t kLapicAddr = 0xfee00000;
inline constexpr std::uint64_t kTssAddr = 0xfffbd000;  // 3 pages, for Intel VMX real mode
// What firmware must leave alone for KVM: the identity-map page KVM/VMX places below the TSS by
// default and the TSS itself (reserved in the firmware's E820 map).
inline constexpr std::uint64_t kKvmReservedStart = kTssAddr - 0x1000;
inline constexpr std::uint64_t kKvmReservedSize = 0x4000;
// The BIOS ROM ends at 4 GiB (the reset vector is its last 16 bytes); see firmware.h.
inline constexpr std::uint64_t kBiosRomEnd = 4 * kGiB;
// QEMU's pc-testdev MMIO scratch area (64 KiB), for test guests.
inline constexpr std::uint64_t kPcTestdevIomemBase = 0xff000000;

// ---- I/O ports (base, length) ---------------------------------------------------------
inline constexpr std::uint16_t kPitBase = 0x40;        // i8254, in the kernel (KVM_CREATE_PIT2)
inline constexpr std::uint16_t kI8042DataPort = 0x60;  // i8042 data
inline constexpr std::uint16_t kSpeakerPort = 0x61;    // NMI status / speaker gate (PIT ch. 2)
inline constexpr std::uint16_t kI8042CommandPort = 0x64;
inline constexpr std::uint16_t kCmosBase = 0x70;  // index, data
inline constexpr std::uint16_t kCmosLength = 2;
inline constexpr std::uint16_t kPostCodePort = 0x80;
inline constexpr std::uint16_t kPcTestdevIoportBase = 0xe0;
inline constexpr std::uint16_t kDebugExitBase = 0xf4;
inline constexpr std::uint16_t kCom1Base = 0x3f8;
// pc-testdev's IRQ-line ports: a byte written at kPcTestdevIrqLineBase + n drives GSI n.
inline constexpr std::uint16_t kPcTestdevIrqLineBase = 0x2000;
inline constexpr std::uint16_t kPcTestdevIrqLineLength = 24;
inline constexpr std::uint16_t kFwCfgBase = 0x510;  // selector, data; DMA address at 0x514
// SeaBIOS's debug console on QEMU (isa-debugcon at 0x402; reads back 0xe9 when present).
inline constexpr std::uint16_t kFirmwareDebugPort = 0x402;
inline constexpr std::uint16_t kAcpiPmBase = 0x600;  // PM1a event, PM1a control, PM timer
// PCI configuration mechanism #1: CONFIG_ADDRESS is the dword at 0xcf8, CONFIG_DATA the four
// ports at 0xcfc.  A byte access to 0xcf9 is the PIIX3's reset control register instead (the
// address window hands it over; see bus/pci.h).
inline constexpr std::uint16_t kPciConfigAddressPort = 0xcf8;
inline constexpr std::uint16_t kPciConfigDataPort = 0xcfc;
inline constexpr std::uint16_t kResetControlPort = kPciConfigAddressPort + 1;
inline constexpr std::uint8_t kResetControlValue = 0x06;  // what the FADT tells the OS to write

// The PIIX3 IDE controller's two channels in legacy (compatibility) mode: eight command block
// ports each and one control block port (alternate status / device control).
inline constexpr std::uint16_t kIdePrimaryCommandBase = 0x1f0;
inline constexpr std::uint16_t kIdePrimaryControlPort = 0x3f6;
inline constexpr std::uint16_t kIdeSecondaryCommandBase = 0x170;
inline constexpr std::uint16_t kIdeSecondaryControlPort = 0x376;

// ACPI: the SLP_TYPa value of \_S5 in the DSDT, which the PM1a control register must see.
inline constexpr std::uint8_t kAcpiS5SleepType = 5;

// ---- ISA IRQs -------------------------------------------------------------------------
inline constexpr std::uint32_t kIrqPit = 0;
inline constexpr std::uint32_t kIrqKeyboard = 1;
inline constexpr std::uint32_t kIrqCom1 = 4;
inline constexpr std::uint32_t kIrqRtc = 8;
inline constexpr std::uint32_t kIrqSci = 9;
inline constexpr std::uint32_t kIrqMouse = 12;
inline constexpr std::uint32_t kIrqIdePrimary = 14;
inline constexpr std::uint32_t kIrqIdeSecondary = 15;

// GSIs: ISA IRQ n is GSI n (PIC pin n and IOAPIC pin n), except IRQ 0, whose IOAPIC pin is 2
// (the PC convention the MADT states with an interrupt source override).  GSIs 16-23 reach the
// IOAPIC only.
inline constexpr std::uint32_t kIoapicPins = 24;
inline constexpr std::uint32_t kIoapicPinOfIrq0 = 2;
inline constexpr std::uint8_t kIoapicId = 0;  // APIC IDs 0..N-1 are the vCPUs'; see acpi.cc

// ---- PCI (bus 0) ----------------------------------------------------------------------
inline constexpr unsigned kPciSlotHostBridge = 0;  // i440FX, 00.0
inline constexpr unsigned kPciSlotPiix3 = 1;       // PIIX3: 01.0 ISA bridge, 01.1 IDE
inline constexpr unsigned kPiix3IsaFunction = 0;
inline constexpr unsigned kPiix3IdeFunction = 1;

// What firmware leaves programmed, and kvm-run programs itself for a direct (-kernel) boot:
// PIRQA-D to ISA IRQs 10, 10, 11, 11 (SeaBIOS's choice, which guests are used to), both IDE
// channels decoding, and the IDE bus-master BAR at the bottom of the PCI I/O range that
// firmware allocates from.
inline constexpr std::uint8_t kPirqIrqs[4] = {10, 10, 11, 11};
inline constexpr std::uint16_t kPciIoAllocStart = 0xc000;
inline constexpr std::uint16_t kIdeBusMasterBase = kPciIoAllocStart;

}  // namespace machine::layout
