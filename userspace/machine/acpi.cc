#include "machine/acpi.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace machine {

namespace {

constexpr char kOemId[] = "KVMRUN";       // 6 bytes
constexpr char kOemTableId[] = "KVMRUNPC";  // 8 bytes
constexpr char kCreatorId[] = "KVMR";       // 4 bytes
constexpr std::size_t kRsdpSize = 36;

void put_le(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

std::uint64_t get_le(const std::vector<std::uint8_t>& bytes, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(bytes[at + i]) << (8 * i);
  }
  return v;
}

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
  // A pointer field to target (an offset in the tables blob), to be relocated by the loader.
  void pointer(std::size_t target, std::uint8_t width) {
    pointers_.push_back({AcpiBlobId::kTables, bytes_.size(), width});
    le(target, width);
  }
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
  // Fills in the length; the checksum (left 0) is computed once pointers are relocated.
  void end_table(std::size_t start) {
    put_u32(start + 4, static_cast<std::uint32_t>(bytes_.size() - start));
    checksums_.push_back({AcpiBlobId::kTables, start + 9, start, bytes_.size() - start});
  }

  std::vector<std::uint8_t>& bytes() { return bytes_; }
  std::vector<AcpiPointer>& pointers() { return pointers_; }
  std::vector<AcpiChecksum>& checksums() { return checksums_; }

 private:
  void le(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) {
      bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  std::vector<std::uint8_t> bytes_;
  std::vector<AcpiPointer> pointers_;
  std::vector<AcpiChecksum> checksums_;
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

// AML PkgLength (ACPI 6.4, 20.2.4) for a package whose contents (after the PkgLength) are
// body bytes long; the encoded length counts the PkgLength bytes too.
std::vector<std::uint8_t> aml_pkg_length(std::size_t body) {
  if (body + 1 <= 0x3f) {
    return {static_cast<std::uint8_t>(body + 1)};
  }
  const std::size_t total = body + 2;  // two bytes cover up to 0xfff
  return {static_cast<std::uint8_t>(0x40 | (total & 0xf)), static_cast<std::uint8_t>(total >> 4)};
}

void append(std::vector<std::uint8_t>& out, std::initializer_list<std::uint8_t> bytes) {
  out.insert(out.end(), bytes);
}
void append_le(std::vector<std::uint8_t>& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

// Word address space descriptor (ACPI 6.4, 6.4.3.5.3): a producer range with fixed ends.
void word_space(std::vector<std::uint8_t>& out, std::uint8_t type, std::uint8_t type_flags,
                std::uint16_t min, std::uint16_t max) {
  append(out, {0x88, 0x0d, 0x00, type, 0x0c, type_flags});
  append_le(out, 0, 2);  // granularity
  append_le(out, min, 2);
  append_le(out, max, 2);
  append_le(out, 0, 2);  // translation
  append_le(out, static_cast<std::uint32_t>(max) - min + 1, 2);
}

// DWord memory descriptor (6.4.3.5.2): cacheable, read/write producer range.
void dword_memory(std::vector<std::uint8_t>& out, std::uint32_t min, std::uint32_t max) {
  append(out, {0x87, 0x17, 0x00, 0x00, 0x0c, 0x03});
  append_le(out, 0, 4);
  append_le(out, min, 4);
  append_le(out, max, 4);
  append_le(out, 0, 4);
  append_le(out, static_cast<std::uint64_t>(max) - min + 1, 4);
}

// AML for the PCI host bridge, so an OS that takes PCI from ACPI finds bus 0:
//   Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) Name (_ADR, 0)
//     Name (_UID, 0) Name (_CRS, ResourceTemplate () { bus 0-255, I/O 0xCF8-0xCFF consumed,
//     I/O windows 0-0xCF7 and 0xD00-0xFFFF, memory windows 0xA0000-0xBFFFF and the PCI hole }) } }
void aml_pci_root(Blob& b, const AcpiConfig& c) {
  std::vector<std::uint8_t> crs;
  word_space(crs, 2, 0x00, 0x0000, 0x00ff);             // bus numbers
  append(crs, {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08});  // IO (Decode16, 0xCF8, 8)
  word_space(crs, 1, 0x03, 0x0000, 0x0cf7);             // I/O window, entire range
  word_space(crs, 1, 0x03, 0x0d00, 0xffff);
  dword_memory(crs, 0x000a0000, 0x000bffff);            // legacy VGA window
  if (c.pci_mmio_end > c.pci_mmio_start) {
    dword_memory(crs, c.pci_mmio_start, c.pci_mmio_end);
  }
  append(crs, {0x79, 0x00});  // end tag, checksum 0 (treated as valid)

  std::vector<std::uint8_t> buffer;  // BufferOp PkgLength BufferSize bytes
  std::vector<std::uint8_t> size = {0x0b};  // WordPrefix
  append_le(size, crs.size(), 2);
  const auto buffer_len = aml_pkg_length(size.size() + crs.size());
  buffer.push_back(0x11);
  buffer.insert(buffer.end(), buffer_len.begin(), buffer_len.end());
  buffer.insert(buffer.end(), size.begin(), size.end());
  buffer.insert(buffer.end(), crs.begin(), crs.end());

  std::vector<std::uint8_t> dev;  // the Device's contents after its name
  append(dev, {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03});  // EisaId PNP0A03
  append(dev, {0x08, '_', 'A', 'D', 'R', 0x00});
  append(dev, {0x08, '_', 'U', 'I', 'D', 0x00});
  append(dev, {0x08, '_', 'C', 'R', 'S'});
  dev.insert(dev.end(), buffer.begin(), buffer.end());

  std::vector<std::uint8_t> device = {0x5b, 0x82};  // DeviceOp
  const auto dev_len = aml_pkg_length(4 + dev.size());
  device.insert(device.end(), dev_len.begin(), dev_len.end());
  append(device, {'P', 'C', 'I', '0'});
  device.insert(device.end(), dev.begin(), dev.end());

  const auto scope_len = aml_pkg_length(5 + device.size());
  b.u8(0x10);  // ScopeOp
  for (std::uint8_t x : scope_len) {
    b.u8(x);
  }
  b.text("\\_SB_", 5);
  for (std::uint8_t x : device) {
    b.u8(x);
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

RelocatableAcpi build_relocatable_acpi(const AcpiConfig& c) {
  Blob b;
  RelocatableAcpi r;

  const std::size_t facs = 0;  // at the start of the blob, which is allocated 64-aligned
  b.text("FACS", 4);
  b.u32(64);
  b.zeros(24);
  b.u8(2);  // version (ACPI 2.0+ layout)
  b.zeros(31);

  const std::size_t dsdt = b.begin_table("DSDT", 2);
  aml_s5(b, c.s5_sleep_type);
  if (c.pci) {
    aml_pci_root(b, c);
  }
  b.end_table(dsdt);

  const std::size_t fadt = b.begin_table("FACP", 3);
  b.pointer(facs, 4);                             // FIRMWARE_CTRL
  b.pointer(dsdt, 4);                             // DSDT
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
  b.pointer(facs, 8);            // X_FIRMWARE_CTRL
  b.pointer(dsdt, 8);            // X_DSDT
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
  b.pointer(fadt, 4);
  b.pointer(madt, 4);
  b.end_table(rsdt);

  const std::size_t xsdt = b.begin_table("XSDT", 1);
  b.pointer(fadt, 8);
  b.pointer(madt, 8);
  b.end_table(xsdt);

  r.tables = std::move(b.bytes());
  r.pointers = std::move(b.pointers());
  r.checksums = std::move(b.checksums());
  r.facs = facs;
  r.dsdt = dsdt;
  r.fadt = fadt;
  r.madt = madt;
  r.rsdt = rsdt;
  r.xsdt = xsdt;

  // RSDP (revision 2): checksum over the first 20 bytes (the ACPI 1.0 part), extended
  // checksum over all 36, in that order (the second covers the first).
  r.rsdp.assign(kRsdpSize, 0);
  std::memcpy(&r.rsdp[0], "RSD PTR ", 8);
  std::memcpy(&r.rsdp[9], kOemId, 6);
  r.rsdp[15] = 2;  // revision: ACPI 2.0+
  put_le(r.rsdp, 16, rsdt, 4);
  put_le(r.rsdp, 20, kRsdpSize, 4);
  put_le(r.rsdp, 24, xsdt, 8);
  r.pointers.push_back({AcpiBlobId::kRsdp, 16, 4});
  r.pointers.push_back({AcpiBlobId::kRsdp, 24, 8});
  r.checksums.push_back({AcpiBlobId::kRsdp, 8, 0, 20});
  r.checksums.push_back({AcpiBlobId::kRsdp, 32, 0, kRsdpSize});
  return r;
}

void link_acpi(RelocatableAcpi& r, std::uint64_t tables_addr) {
  for (const auto& p : r.pointers) {
    auto& blob = p.in == AcpiBlobId::kRsdp ? r.rsdp : r.tables;
    put_le(blob, p.offset, get_le(blob, p.offset, p.width) + tables_addr, p.width);
  }
  for (const auto& c : r.checksums) {
    auto& blob = c.in == AcpiBlobId::kRsdp ? r.rsdp : r.tables;
    blob[c.offset] = static_cast<std::uint8_t>(
        blob[c.offset] - acpi_checksum(std::span(blob).subspan(c.start, c.length)));
  }
}

AcpiTables build_acpi_tables(const AcpiConfig& c, std::uint64_t base) {
  RelocatableAcpi r = build_relocatable_acpi(c);
  const std::uint64_t tables = base + kAcpiTablesOffset;
  link_acpi(r, tables);
  AcpiTables t;
  t.base = base;
  t.bytes.assign(kAcpiTablesOffset, 0);
  std::copy(r.rsdp.begin(), r.rsdp.end(), t.bytes.begin());
  t.bytes.insert(t.bytes.end(), r.tables.begin(), r.tables.end());
  t.rsdp = base;
  t.rsdt = tables + r.rsdt;
  t.xsdt = tables + r.xsdt;
  t.fadt = tables + r.fadt;
  t.facs = tables + r.facs;
  t.dsdt = tables + r.dsdt;
  t.madt = tables + r.madt;
  return t;
}

namespace {

// One 128-byte command of QEMU's BIOS linker/loader script (hw/acpi/bios-linker-loader.c
// defines the layout: a u32 command, then its arguments, file names NUL-padded to 56 bytes).
class LoaderScript {
 public:
  void allocate(const char* file, std::uint32_t align, std::uint8_t zone) {
    auto cmd = begin(kLoaderAllocate);
    name(cmd, 4, file);
    put_le(cmd, 60, align, 4);
    cmd[64] = zone;
    end(cmd);
  }
  void add_pointer(const char* dest, const char* src, std::uint32_t offset, std::uint8_t size) {
    auto cmd = begin(kLoaderAddPointer);
    name(cmd, 4, dest);
    name(cmd, 60, src);
    put_le(cmd, 116, offset, 4);
    cmd[120] = size;
    end(cmd);
  }
  void add_checksum(const char* file, std::uint32_t offset, std::uint32_t start,
                    std::uint32_t length) {
    auto cmd = begin(kLoaderAddChecksum);
    name(cmd, 4, file);
    put_le(cmd, 60, offset, 4);
    put_le(cmd, 64, start, 4);
    put_le(cmd, 68, length, 4);
    end(cmd);
  }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> begin(std::uint32_t command) {
    std::vector<std::uint8_t> cmd(kLoaderCommandSize, 0);
    put_le(cmd, 0, command, 4);
    return cmd;
  }
  static void name(std::vector<std::uint8_t>& cmd, std::size_t at, const char* file) {
    for (std::size_t i = 0; file[i] && i + 1 < kLoaderFileNameSize; ++i) {
      cmd[at + i] = static_cast<std::uint8_t>(file[i]);
    }
  }
  void end(const std::vector<std::uint8_t>& cmd) {
    bytes_.insert(bytes_.end(), cmd.begin(), cmd.end());
  }
  std::vector<std::uint8_t> bytes_;
};

const char* file_of(AcpiBlobId id) {
  return id == AcpiBlobId::kRsdp ? kAcpiRsdpFile : kAcpiTablesFile;
}

}  // namespace

std::vector<std::uint8_t> acpi_table_loader(const RelocatableAcpi& r) {
  LoaderScript s;
  s.allocate(kAcpiTablesFile, 64, kLoaderZoneHigh);  // the FACS wants 64-byte alignment
  s.allocate(kAcpiRsdpFile, 16, kLoaderZoneFseg);   // where an RSDP scan finds it
  for (const auto& p : r.pointers) {
    s.add_pointer(file_of(p.in), kAcpiTablesFile, static_cast<std::uint32_t>(p.offset), p.width);
  }
  for (const auto& c : r.checksums) {
    s.add_checksum(file_of(c.in), static_cast<std::uint32_t>(c.offset),
                   static_cast<std::uint32_t>(c.start), static_cast<std::uint32_t>(c.length));
  }
  return s.take();
}

}  // namespace machine
