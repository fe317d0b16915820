#include "machine/acpi.h"

#include <cstring>

namespace machine {

namespace {

constexpr char kOemId[] = "KVMRUN";       // 6 bytes
constexpr char kOemTableId[] = "KVMRUNPC";  // 8 bytes
constexpr char kCreatorId[] = "KVMR";       // 4 bytes
constexpr std::size_t kHeaderSize = 36;

// A blob of tables under construction; offsets are from the blob's start.
class Blob {
 public:
  std::size_t align(std::size_t alignment) {
    while (bytes_.size() % alignment) {
      bytes_.push_back(0);
    }
    return bytes_.size();
  }
  std::size_t size() const { return bytes_.size(); }
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) { le(v, 2); }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void text(const char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      bytes_.push_back(static_cast<std::uint8_t>(s[i]));
    }
  }
  void zeros(std::size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  void put_u32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      bytes_[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
  }
  // Generic Address Structure: a register in system I/O space.
  void io_gas(std::uint16_t port, std::uint8_t bit_width, std::uint8_t access_size) {
    if (port == 0) {
      zeros(12);
      return;
    }
    u8(1);  // system I/O
    u8(bit_width);
    u8(0);  // bit offset
    u8(access_size);
    u64(port);
  }

  // Starts a table: the standard header with length and checksum filled in by end_table().
  std::size_t begin_table(const char signature[4], std::uint8_t revision) {
    const std::size_t start = align(16);
    text(signature, 4);
    u32(0);  // length
    u8(revision);
    u8(0);  // checksum
    text(kOemId, 6);
    text(kOemTableId, 8);
    u32(1);  // OEM revision
    text(kCreatorId, 4);
    u32(1);  // creator revision
    return start;
  }
  void end_table(std::size_t start) {
    put_u32(start + 4, static_cast<std::uint32_t>(bytes_.size() - start));
    bytes_[start + 9] = 0;
    bytes_[start + 9] = static_cast<std::uint8_t>(
        -acpi_checksum(std::span(bytes_).subspan(start, bytes_.size() - start)));
  }

  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  void le(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) {
      bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  std::vector<std::uint8_t> bytes_;
};

// AML for:  Name (_S5, Package (4) { s5, s5, 0, 0 })
void aml_s5(Blob& b, std::uint8_t sleep_type) {
  b.u8(0x08);  // NameOp
  b.text("_S5_", 4);
  b.u8(0x12);  // PackageOp
  b.u8(8);     // PkgLength (one byte form): itself + NumElements + 6 bytes of elements
  b.u8(4);     // NumElements
  b.u8(0x0a);  // BytePrefix
  b.u8(sleep_type);
  b.u8(0x0a);
  b.u8(sleep_type);
  b.u8(0x00);  // ZeroOp
  b.u8(0x00);
}

// AML PkgLength for a package whose contents (after the PkgLength) are n bytes.
void aml_pkg_length(std::vector<std::uint8_t>& out, std::size_t n) {
  if (n + 1 <= 63) {
    out.push_back(static_cast<std::uint8_t>(n + 1));
    return;
  }
  const std::size_t total = n + 2;  // two-byte form (up to 4095 bytes)
  out.push_back(static_cast<std::uint8_t>(0x40 | (total & 0x0f)));
  out.push_back(static_cast<std::uint8_t>(total >> 4));
}

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

// Address space descriptors (ACPI 6.x, 6.4.3.5): producer, fixed minimum and maximum.
void word_address(std::vector<std::uint8_t>& out, std::uint8_t type, std::uint8_t type_flags,
                  std::uint16_t min, std::uint16_t max) {
  out.insert(out.end(), {0x88, 0x0d, 0x00, type, 0x0c, type_flags});
  put_le(out, 0, 2);  // granularity
  put_le(out, min, 2);
  put_le(out, max, 2);
  put_le(out, 0, 2);  // translation
  put_le(out, static_cast<std::uint32_t>(max) - min + 1, 2);
}

void dword_memory(std::vector<std::uint8_t>& out, std::uint8_t type_flags, std::uint32_t min,
                  std::uint32_t max) {
  out.insert(out.end(), {0x87, 0x17, 0x00, 0x00, 0x0c, type_flags});
  put_le(out, 0, 4);
  put_le(out, min, 4);
  put_le(out, max, 4);
  put_le(out, 0, 4);
  put_le(out, static_cast<std::uint64_t>(max) - min + 1, 4);
}

// AML for the PCI root bridge, so that an OS enumerates bus 0 through ACPI:
//   Device (\_SB.PCI0) {
//     Name (_HID, EisaId ("PNP0A03"))  Name (_UID, 0)  Name (_BBN, 0)
//     Name (_CRS, ResourceTemplate () {
//       WordBusNumber 0-FFh; IO 0CF8h (8 ports, the configuration mechanism);
//       WordIO 0-0CF7h and 0D00h-FFFFh; DWordMemory A0000h-BFFFFh (VGA window);
//       DWordMemory [mmio_base, mmio_limit] (the 32-bit PCI hole) })
//   }
// No _PRT: the machine's PCI functions use legacy ISA interrupts (IDE: 14, 15).
void aml_pci_root(Blob& b, const AcpiConfig& c) {
  std::vector<std::uint8_t> crs;
  word_address(crs, 2, 0x00, 0x00, 0xff);  // bus numbers
  crs.insert(crs.end(), {0x47, 0x01});     // IO (Decode16, CF8, CF8, 1, 8)
  put_le(crs, c.pci_config_port, 2);
  put_le(crs, c.pci_config_port, 2);
  crs.insert(crs.end(), {0x01, 0x08});
  word_address(crs, 1, 0x03, 0x0000, static_cast<std::uint16_t>(c.pci_config_port - 1));
  word_address(crs, 1, 0x03, static_cast<std::uint16_t>(c.pci_config_port + 8), 0xffff);
  dword_memory(crs, 0x03, 0x000a0000, 0x000bffff);  // cacheable, read/write
  dword_memory(crs, 0x01, c.pci_mmio_base, c.pci_mmio_limit);
  crs.insert(crs.end(), {0x79, 0x00});  // end tag

  std::vector<std::uint8_t> buffer;  // BufferOp PkgLength BufferSize bytes
  std::vector<std::uint8_t> buffer_body = {0x0a, static_cast<std::uint8_t>(crs.size())};
  buffer_body.insert(buffer_body.end(), crs.begin(), crs.end());
  buffer.push_back(0x11);
  aml_pkg_length(buffer, buffer_body.size());
  buffer.insert(buffer.end(), buffer_body.begin(), buffer_body.end());

  std::vector<std::uint8_t> body = {'\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'};
  const std::uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
  const std::uint8_t uid[] = {0x08, '_', 'U', 'I', 'D', 0x00};
  const std::uint8_t bbn[] = {0x08, '_', 'B', 'B', 'N', 0x00};
  const std::uint8_t crs_name[] = {0x08, '_', 'C', 'R', 'S'};
  body.insert(body.end(), std::begin(hid), std::end(hid));
  body.insert(body.end(), std::begin(uid), std::end(uid));
  body.insert(body.end(), std::begin(bbn), std::end(bbn));
  body.insert(body.end(), std::begin(crs_name), std::end(crs_name));
  body.insert(body.end(), buffer.begin(), buffer.end());

  std::vector<std::uint8_t> device = {0x5b, 0x82};  // DeviceOp
  aml_pkg_length(device, body.size());
  device.insert(device.end(), body.begin(), body.end());
  for (std::uint8_t byte : device) {
    b.u8(byte);
  }
}

}  // namespace

std::uint8_t acpi_checksum(std::span<const std::uint8_t> bytes) {
  std::uint8_t sum = 0;
  for (std::uint8_t b : bytes) {
    sum = static_cast<std::uint8_t>(sum + b);
  }
  return sum;
}

AcpiTables build_acpi_tables(const AcpiConfig& c, std::uint64_t base) {
  Blob b;
  AcpiTables t;
  t.base = base;
  auto addr = [&](std::size_t offset) { return base + offset; };

  // Reserve the RSDP, filled in last.
  const std::size_t rsdp = 0;
  b.zeros(36);

  const std::size_t facs = b.align(64);
  b.text("FACS", 4);
  b.u32(64);
  b.zeros(24);
  b.u8(2);  // version (ACPI 2.0+ layout)
  b.zeros(31);

  const std::size_t dsdt = b.begin_table("DSDT", 2);
  aml_s5(b, c.s5_sleep_type);
  if (c.pci_config_port != 0) {
    aml_pci_root(b, c);
  }
  b.end_table(dsdt);

  const std::size_t fadt = b.begin_table("FACP", 3);
  b.u32(static_cast<std::uint32_t>(addr(facs)));  // FIRMWARE_CTRL
  b.u32(static_cast<std::uint32_t>(addr(dsdt)));  // DSDT
  b.u8(0);                                        // reserved (INT_MODEL in ACPI 1.0)
  b.u8(0);                                        // Preferred_PM_Profile: unspecified
  b.u16(c.sci_irq);                               // SCI_INT
  b.u32(0);                                       // SMI_CMD: none, always in ACPI mode
  b.u8(0);                                        // ACPI_ENABLE
  b.u8(0);                                        // ACPI_DISABLE
  b.u8(0);                                        // S4BIOS_REQ
  b.u8(0);                                        // PSTATE_CNT
  b.u32(c.pm1a_event_port);                       // PM1a_EVT_BLK
  b.u32(0);                                       // PM1b_EVT_BLK
  b.u32(c.pm1a_control_port);                     // PM1a_CNT_BLK
  b.u32(0);                                       // PM1b_CNT_BLK
  b.u32(0);                                       // PM2_CNT_BLK
  b.u32(c.pm_timer_port);                         // PM_TMR_BLK
  b.u32(0);                                       // GPE0_BLK
  b.u32(0);                                       // GPE1_BLK
  b.u8(4);                                        // PM1_EVT_LEN
  b.u8(2);                                        // PM1_CNT_LEN
  b.u8(0);                                        // PM2_CNT_LEN
  b.u8(c.pm_timer_port ? 4 : 0);                  // PM_TMR_LEN
  b.u8(0);                                        // GPE0_BLK_LEN
  b.u8(0);                                        // GPE1_BLK_LEN
  b.u8(0);                                        // GPE1_BASE
  b.u8(0);                                        // CST_CNT
  b.u16(101);                                     // P_LVL2_LAT: > 100, no C2
  b.u16(1001);                                    // P_LVL3_LAT: > 1000, no C3
  b.u16(0);                                       // FLUSH_SIZE
  b.u16(0);                                       // FLUSH_STRIDE
  b.u8(0);                                        // DUTY_OFFSET
  b.u8(0);                                        // DUTY_WIDTH
  b.u8(0);                                        // DAY_ALRM
  b.u8(0);                                        // MON_ALRM
  b.u8(c.century_register);                       // CENTURY
  // IAPC_BOOT_ARCH: legacy devices, 8042 present, VGA not present.
  b.u16(0x0001 | 0x0002 | 0x0004);
  b.u8(0);  // reserved
  // Flags: WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (none as fixed features), RESET_REG_SUP.
  b.u32((1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (c.reset_port ? 1u << 10 : 0));
  b.io_gas(c.reset_port, 8, 1);  // RESET_REG
  b.u8(c.reset_value);           // RESET_VALUE
  b.zeros(3);                    // reserved (ARM_BOOT_ARCH and minor version in ACPI 5.1+)
  b.u64(addr(facs));             // X_FIRMWARE_CTRL
  b.u64(addr(dsdt));             // X_DSDT
  b.io_gas(c.pm1a_event_port, 32, 0);
  b.io_gas(0, 0, 0);  // X_PM1b_EVT_BLK
  b.io_gas(c.pm1a_control_port, 16, 0);
  b.io_gas(0, 0, 0);  // X_PM1b_CNT_BLK
  b.io_gas(0, 0, 0);  // X_PM2_CNT_BLK
  b.io_gas(c.pm_timer_port, 32, 0);
  b.io_gas(0, 0, 0);  // X_GPE0_BLK
  b.io_gas(0, 0, 0);  // X_GPE1_BLK
  b.end_table(fadt);

  const std::size_t madt = b.begin_table("APIC", 1);
  b.u32(c.lapic_addr);
  b.u32(1);  // PCAT_COMPAT
  for (unsigned cpu = 0; cpu < c.cpu_count; ++cpu) {
    b.u8(0);  // processor local APIC
    b.u8(8);
    b.u8(static_cast<std::uint8_t>(cpu));  // ACPI processor UID
    b.u8(static_cast<std::uint8_t>(cpu));  // APIC ID
    b.u32(1);                              // enabled
  }
  b.u8(1);  // I/O APIC
  b.u8(12);
  b.u8(c.ioapic_id);
  b.u8(0);
  b.u32(c.ioapic_addr);
  b.u32(0);  // GSI base
  for (const auto& o : c.overrides) {
    b.u8(2);  // interrupt source override
    b.u8(10);
    b.u8(0);  // bus: ISA
    b.u8(o.source);
    b.u32(o.gsi);
    b.u16(o.flags);
  }
  b.u8(4);  // local APIC NMI
  b.u8(6);
  b.u8(0xff);  // all processors
  b.u16(0);    // conforming
  b.u8(1);     // LINT1
  b.end_table(madt);

  const std::size_t rsdt = b.begin_table("RSDT", 1);
  b.u32(static_cast<std::uint32_t>(addr(fadt)));
  b.u32(static_cast<std::uint32_t>(addr(madt)));
  b.end_table(rsdt);

  const std::size_t xsdt = b.begin_table("XSDT", 1);
  b.u64(addr(fadt));
  b.u64(addr(madt));
  b.end_table(xsdt);

  // RSDP: checksum over the first 20 bytes (the ACPI 1.0 part), extended over all 36.
  auto& bytes = b.bytes();
  std::memcpy(&bytes[rsdp], "RSD PTR ", 8);
  std::memcpy(&bytes[rsdp + 9], kOemId, 6);
  bytes[rsdp + 15] = 2;  // revision: ACPI 2.0+
  b.put_u32(rsdp + 16, static_cast<std::uint32_t>(addr(rsdt)));
  b.put_u32(rsdp + 20, 36);
  for (int i = 0; i < 8; ++i) {
    bytes[rsdp + 24 + i] = static_cast<std::uint8_t>(addr(xsdt) >> (8 * i));
  }
  bytes[rsdp + 8] = static_cast<std::uint8_t>(-acpi_checksum(std::span(bytes).subspan(rsdp, 20)));
  bytes[rsdp + 32] =
      static_cast<std::uint8_t>(-acpi_checksum(std::span(bytes).subspan(rsdp, 36)));

  t.rsdp = addr(rsdp);
  t.rsdt = addr(rsdt);
  t.xsdt = addr(xsdt);
  t.fadt = addr(fadt);
  t.facs = addr(facs);
  t.dsdt = addr(dsdt);
  t.madt = addr(madt);
  t.bytes = std::move(bytes);
  return t;
}

}  // namespace machine
