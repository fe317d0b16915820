#include "machine/loader.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace machine {

namespace {

constexpr std::uint32_t kFlagAoutKludge = 1u << 16;
constexpr std::uint32_t kFlagsUnderstood = 0x7;  // page-align modules, memory info, video mode
constexpr std::uint32_t kFlagsRequiredMask = 0xffff;
constexpr std::uint32_t kInfoFlagMemory = 1u << 0;

std::uint32_t le32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(bytes[offset]) |
         static_cast<std::uint32_t>(bytes[offset + 1]) << 8 |
         static_cast<std::uint32_t>(bytes[offset + 2]) << 16 |
         static_cast<std::uint32_t>(bytes[offset + 3]) << 24;
}

void put_le32(std::uint8_t* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::string hex(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
  return buf;
}

LoadError fail(LoadErrc code, std::string message) {
  return {code, std::move(message)};
}

std::string mib(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

vmm::Result<LoadedImage, LoadError> load_multiboot(std::span<const std::uint8_t> image,
                                                   const MultibootHeader& h,
                                                   vmm::GuestMemory& ram) {
  if (!(h.flags & kFlagAoutKludge)) {
    return fail(LoadErrc::kMultibootElfUnsupported,
                "multiboot image without the a.out kludge (flag bit 16): ELF multiboot images "
                "are not supported; link a flat binary with header_addr/load_addr/entry_addr");
  }
  const std::uint32_t unknown_required = h.flags & kFlagsRequiredMask & ~kFlagsUnderstood;
  if (unknown_required) {
    return fail(LoadErrc::kMultibootUnsupportedFlags,
                "multiboot header requires features kvm-run does not know (flags " +
                    hex(unknown_required) + ")");
  }
  // Where the file byte at offset 0 of the loaded range comes from.
  if (h.header_addr < h.load_addr) {
    return fail(LoadErrc::kMultibootInconsistent, "multiboot header_addr " + hex(h.header_addr) +
                                                      " is below load_addr " + hex(h.load_addr));
  }
  const std::uint64_t header_in_load = h.header_addr - h.load_addr;
  if (header_in_load > h.file_offset) {
    return fail(LoadErrc::kMultibootInconsistent,
                "multiboot header_addr - load_addr (" + hex(header_in_load) +
                    ") is larger than the header's offset in the file (" + hex(h.file_offset) +
                    ")");
  }
  const std::uint64_t file_start = h.file_offset - header_in_load;
  const std::uint64_t file_bytes = image.size() - file_start;
  std::uint64_t load_end = h.load_end_addr;
  if (load_end == 0) {
    load_end = h.load_addr + file_bytes;
  } else if (load_end <= h.load_addr) {
    return fail(
        LoadErrc::kMultibootInconsistent,
        "multiboot load_end_addr " + hex(load_end) + " is not above load_addr " + hex(h.load_addr));
  } else if (load_end - h.load_addr > file_bytes) {
    return fail(LoadErrc::kMultibootInconsistent,
                "multiboot load_end_addr " + hex(load_end) + " lies beyond the end of the file");
  }
  std::uint64_t bss_end = h.bss_end_addr;
  if (bss_end == 0) {
    bss_end = load_end;
  } else if (bss_end < load_end) {
    return fail(LoadErrc::kMultibootInconsistent, "multiboot bss_end_addr " + hex(bss_end) +
                                                      " is below load_end_addr " + hex(load_end));
  }
  if (h.entry_addr < h.load_addr || h.entry_addr >= load_end) {
    return fail(LoadErrc::kMultibootInconsistent, "multiboot entry_addr " + hex(h.entry_addr) +
                                                      " is outside the loaded image " +
                                                      hex(h.load_addr) + "-" + hex(load_end));
  }
  if (h.load_addr < kMultibootLowestLoad) {
    return fail(LoadErrc::kMultibootBelow1MiB,
                "multiboot load_addr " + hex(h.load_addr) +
                    " is below 1 MiB; kvm-run keeps low memory for boot data");
  }
  if (!ram.contains(h.load_addr, bss_end - h.load_addr)) {
    return fail(LoadErrc::kDoesNotFit, "multiboot image occupies " + hex(h.load_addr) + "-" +
                                           hex(bss_end) + ", beyond guest RAM (" + mib(ram.size()) +
                                           "); raise -m");
  }

  const std::uint64_t copy = load_end - h.load_addr;
  (void)ram.write(h.load_addr, image.subspan(file_start, copy));
  (void)ram.fill(load_end, bss_end - load_end, 0);

  std::uint8_t info[kMultibootInfoSize] = {};
  // mem_upper: the RAM contiguous from 1 MiB (up to the PCI hole when RAM continues above 4G).
  const vmm::RamRegion& low = ram.regions().front();
  const std::uint64_t low_end = low.gpa + low.size;
  const std::uint64_t upper_bytes = low_end > kMultibootLowestLoad ? low_end - kMultibootLowestLoad : 0;
  put_le32(info + 0, kInfoFlagMemory);
  put_le32(info + 4, 640);                                            // mem_lower, KiB
  put_le32(info + 8, static_cast<std::uint32_t>(upper_bytes >> 10));  // mem_upper, KiB
  if (!ram.write(kMultibootInfoAddr, info)) {
    return fail(LoadErrc::kDoesNotFit, "guest RAM too small for the multiboot information");
  }

  LoadedImage loaded;
  loaded.kind = ImageKind::kMultiboot;
  loaded.load_start = h.load_addr;
  loaded.load_end = load_end;
  loaded.bss_end = bss_end;
  loaded.boot.mode = CpuMode::kProtected32;
  loaded.boot.rip = h.entry_addr;
  loaded.boot.rax = kMultibootBootloaderMagic;
  loaded.boot.rbx = kMultibootInfoAddr;
  return loaded;
}

vmm::Result<LoadedImage, LoadError> load_flat(std::span<const std::uint8_t> image,
                                              vmm::GuestMemory& ram) {
  const std::uint64_t end = kFlatLoadAddr + image.size();
  if (end > kFlatLoadLimit) {
    return fail(LoadErrc::kDoesNotFit, "flat image of " + std::to_string(image.size()) +
                                           " bytes does not fit between " + hex(kFlatLoadAddr) +
                                           " and " + hex(kFlatLoadLimit));
  }
  if (!ram.write(kFlatLoadAddr, image)) {
    return fail(LoadErrc::kDoesNotFit, "flat image does not fit in guest RAM");
  }
  LoadedImage loaded;
  loaded.load_start = kFlatLoadAddr;
  loaded.load_end = end;
  loaded.bss_end = end;
  loaded.boot.mode = CpuMode::kReal16;
  loaded.boot.rip = kFlatLoadAddr;
  loaded.boot.rsp = kFlatLoadAddr;
  loaded.boot.rdx = 0x80;  // boot drive: first hard disk
  return loaded;
}

kvm_segment flat_segment(std::uint16_t selector, std::uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;
  s.s = 1;
  s.l = 0;
  s.g = 1;
  return s;
}

kvm_segment real_segment(std::uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffff;
  s.selector = 0;
  s.type = type;
  s.present = 1;
  s.s = 1;
  return s;
}

}  // namespace

vmm::Result<std::optional<MultibootHeader>, LoadError> find_multiboot_header(
    std::span<const std::uint8_t> image) {
  const std::size_t limit = std::min(image.size(), kMultibootSearchLimit);
  for (std::size_t off = 0; off + 12 <= limit; off += 4) {
    if (le32(image, off) != kMultibootHeaderMagic) {
      continue;
    }
    MultibootHeader h{};
    h.file_offset = off;
    h.flags = le32(image, off + 4);
    const std::uint32_t checksum = le32(image, off + 8);
    if (static_cast<std::uint32_t>(kMultibootHeaderMagic + h.flags + checksum) != 0) {
      return fail(LoadErrc::kMultibootBadChecksum,
                  "multiboot header at file offset " + hex(off) +
                      " has a bad checksum (magic + flags + checksum must be 0)");
    }
    if (h.flags & kFlagAoutKludge) {
      if (off + 32 > limit) {
        return fail(LoadErrc::kMultibootInconsistent,
                    "multiboot header at file offset " + hex(off) +
                        " is cut off (the address fields must lie within the first 8192 "
                        "bytes of the file)");
      }
      h.header_addr = le32(image, off + 12);
      h.load_addr = le32(image, off + 16);
      h.load_end_addr = le32(image, off + 20);
      h.bss_end_addr = le32(image, off + 24);
      h.entry_addr = le32(image, off + 28);
    }
    return std::optional<MultibootHeader>(h);
  }
  return std::optional<MultibootHeader>();
}

vmm::Result<LoadedImage, LoadError> load_image(std::span<const std::uint8_t> image,
                                               vmm::GuestMemory& ram) {
  if (image.empty()) {
    return fail(LoadErrc::kEmptyImage, "the image is empty");
  }
  auto header = find_multiboot_header(image);
  if (!header) {
    return header.error();
  }
  if (header.value()) {
    return load_multiboot(image, *header.value(), ram);
  }
  return load_flat(image, ram);
}

vmm::Result<std::vector<std::uint8_t>, LoadError> read_image_file(const std::string& path,
                                                                  std::uint64_t max_size) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return fail(LoadErrc::kFileUnreadable, "cannot open " + path + ": " + std::strerror(errno));
  }
  const std::streamoff size = in.tellg();
  if (size < 0) {
    return fail(LoadErrc::kFileUnreadable, "cannot determine the size of " + path);
  }
  if (static_cast<std::uint64_t>(size) > max_size) {
    return fail(LoadErrc::kDoesNotFit,
                path + " (" + std::to_string(size) + " bytes) is larger than guest RAM");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return fail(LoadErrc::kFileUnreadable, "cannot read " + path);
  }
  return bytes;
}

void apply_boot_state(const BootState& boot, kvm_regs& regs, kvm_sregs& sregs) {
  regs = kvm_regs{};
  regs.rip = boot.rip;
  regs.rsp = boot.rsp;
  regs.rax = boot.rax;
  regs.rbx = boot.rbx;
  regs.rdx = boot.rdx;
  regs.rsi = boot.rsi;
  regs.rflags = 0x2;  // reserved bit 1; IF clear

  constexpr std::uint8_t kCodeExecReadAccessed = 0xb;
  constexpr std::uint8_t kDataReadWriteAccessed = 0x3;
  if (boot.mode == CpuMode::kLong64) {
    // The Linux boot protocol's 64-bit entry: __BOOT_CS = 0x10, __BOOT_DS = 0x18.
    sregs.cs = flat_segment(0x10, kCodeExecReadAccessed);
    sregs.cs.l = 1;
    sregs.cs.db = 0;
    const kvm_segment data = flat_segment(0x18, kDataReadWriteAccessed);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  } else if (boot.mode == CpuMode::kProtected32) {
    // Selectors 0x08/0x10 as if a GDT held the usual flat descriptors; the payload loads its own.
    sregs.cs = flat_segment(0x08, kCodeExecReadAccessed);
    const kvm_segment data = flat_segment(0x10, kDataReadWriteAccessed);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.cr0 = 0x11;  // PE | ET; paging and caching-disable off
  } else {
    sregs.cs = real_segment(kCodeExecReadAccessed);
    const kvm_segment data = real_segment(kDataReadWriteAccessed);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.cr0 = 0x10;  // ET; real mode
  }
  sregs.gdt = kvm_dtable{};
  sregs.idt = kvm_dtable{};
  if (boot.mode == CpuMode::kReal16) {
    sregs.idt.limit = 0x3ff;  // the real-mode interrupt vector table at 0
  }
  sregs.cr2 = sregs.cr3 = sregs.cr4 = 0;
  sregs.efer = 0;
  if (boot.mode == CpuMode::kLong64) {
    constexpr std::uint64_t kCr0Pe = 1ull << 0, kCr0Et = 1ull << 4, kCr0Pg = 1ull << 31;
    constexpr std::uint64_t kCr4Pae = 1ull << 5;
    constexpr std::uint64_t kEferLme = 1ull << 8, kEferLma = 1ull << 10;
    sregs.gdt.base = boot.gdt_base;
    sregs.gdt.limit = boot.gdt_limit;
    sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    sregs.cr3 = boot.cr3;
    sregs.cr4 = kCr4Pae;
    sregs.efer = kEferLme | kEferLma;
  }
}

}  // namespace machine
