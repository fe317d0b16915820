#include "machine/linux_boot.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "machine/layout.h"

namespace machine {

namespace {

std::uint64_t le(std::span<const std::uint8_t> bytes, std::size_t offset, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(bytes[offset + i]) << (8 * i);
  }
  return v;
}

void put_le(std::span<std::uint8_t> bytes, std::size_t offset, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::string hex(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
  return buf;
}

std::string mib(std::uint64_t bytes) {
  return std::to_string((bytes + layout::kMiB - 1) / layout::kMiB) + " MiB";
}

LoadError fail(LoadErrc code, std::string message) {
  return {code, std::move(message)};
}

std::string protocol_text(std::uint16_t protocol) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%02u", protocol >> 8, protocol & 0xff);
  return buf;
}

constexpr std::uint64_t kPageSize = 0x1000;
constexpr std::uint64_t k2MiB = 2 * layout::kMiB;
// Page-table entry bits (AMD APM vol. 2, 5.3): present, writable, page size (2 MiB leaf).
constexpr std::uint64_t kPtePresent = 1, kPteWritable = 2, kPteLarge = 0x80;

// Identity map of [0, 4 GiB) with 2 MiB pages: PML4, one PDPT, four page directories.
void write_identity_page_tables(vmm::GuestMemory& ram) {
  const std::uint64_t pml4 = layout::kBootPageTablesAddr;
  const std::uint64_t pdpt = pml4 + kPageSize;
  const std::uint64_t pd0 = pdpt + kPageSize;
  std::uint8_t* base = ram.host_pointer(pml4, 6 * kPageSize);
  std::memset(base, 0, 6 * kPageSize);
  std::span<std::uint8_t> tables(base, 6 * kPageSize);
  put_le(tables, 0, pdpt | kPtePresent | kPteWritable, 8);
  for (std::uint64_t g = 0; g < 4; ++g) {
    const std::uint64_t pd = pd0 + g * kPageSize;
    put_le(tables, kPageSize + g * 8, pd | kPtePresent | kPteWritable, 8);
    for (std::uint64_t i = 0; i < 512; ++i) {
      const std::uint64_t phys = g * layout::kGiB + i * k2MiB;
      put_le(tables, (pd - pml4) + i * 8, phys | kPtePresent | kPteWritable | kPteLarge, 8);
    }
  }
}

// Null, null, __BOOT_CS (64-bit code), __BOOT_DS (flat data): the selectors 0x10 and 0x18 the
// boot protocol names.
constexpr std::uint64_t kBootGdt[] = {
    0,
    0,
    0x00af9b000000ffffull,  // code: base 0, limit 4G, G, L, P, DPL 0, execute/read, accessed
    0x00cf93000000ffffull,  // data: base 0, limit 4G, G, D/B, P, DPL 0, read/write, accessed
};

}  // namespace

bool looks_like_bzimage(std::span<const std::uint8_t> image) {
  using namespace bzimage;
  return image.size() >= kHeaderMagic + 4 && le(image, kBootFlag, 2) == 0xaa55 &&
         std::memcmp(image.data() + kHeaderMagic, "HdrS", 4) == 0;
}

vmm::Result<BzImageInfo, LoadError> parse_bzimage(std::span<const std::uint8_t> image) {
  using namespace bzimage;
  if (!looks_like_bzimage(image)) {
    return fail(LoadErrc::kLinuxBadHeader,
                "not a Linux kernel image (no boot flag 0xAA55 and \"HdrS\" setup header)");
  }
  BzImageInfo info;
  info.protocol = static_cast<std::uint16_t>(le(image, kVersion, 2));
  if (info.protocol < kLinuxMinProtocol) {
    return fail(LoadErrc::kLinuxUnsupported, "Linux boot protocol " +
                                                 protocol_text(info.protocol) +
                                                 " is too old; kvm-run needs 2.06 or later");
  }
  // From 2.06 on the header reaches at least cmdline_size (0x23c); later fields are read only
  // when the header says it has them.
  info.header_end = kHeaderMagic + image[kHeaderEndByte];
  if (info.header_end < kCmdlineSize + 4 || info.header_end > image.size()) {
    return fail(LoadErrc::kLinuxBadHeader, "Linux setup header ends at " + hex(info.header_end) +
                                               ", which contradicts protocol " +
                                               protocol_text(info.protocol) +
                                               " or the file size");
  }
  std::size_t setup_sects = image[kSetupSects];
  if (setup_sects == 0) {
    setup_sects = 4;  // what the protocol says 0 means
  }
  info.setup_size = (setup_sects + 1) * 512;
  if (info.setup_size >= image.size()) {
    return fail(LoadErrc::kLinuxBadHeader, "the file (" + std::to_string(image.size()) +
                                               " bytes) ends inside its " +
                                               std::to_string(setup_sects) + " setup sectors");
  }
  const std::uint64_t payload = image.size() - info.setup_size;
  const std::uint64_t syssize = le(image, kSysSize, 4) * 16;
  if (syssize > payload) {
    return fail(LoadErrc::kLinuxBadHeader,
                "the header's syssize (" + std::to_string(syssize) +
                    " bytes) is larger than the protected-mode kernel in the file (" +
                    std::to_string(payload) + " bytes); truncated image?");
  }
  info.loadflags = image[kLoadFlags];
  if (!(info.loadflags & kLoadedHigh)) {
    return fail(LoadErrc::kLinuxUnsupported,
                "a zImage (loaded low); kvm-run boots only bzImage kernels");
  }
  info.initrd_addr_max = static_cast<std::uint32_t>(le(image, kInitrdAddrMax, 4));
  info.kernel_alignment = static_cast<std::uint32_t>(le(image, kKernelAlignment, 4));
  info.relocatable = image[kRelocatableKernel] != 0;
  info.cmdline_size = static_cast<std::uint32_t>(le(image, kCmdlineSize, 4));
  if (info.header_end >= kXLoadFlags + 2 && info.protocol >= 0x020c) {
    info.xloadflags = static_cast<std::uint16_t>(le(image, kXLoadFlags, 2));
  }
  if (!(info.xloadflags & kXlfKernel64)) {
    return fail(LoadErrc::kLinuxUnsupported,
                "the kernel has no 64-bit entry point (xloadflags bit 0, protocol 2.12+); "
                "kvm-run enters Linux in 64-bit mode only");
  }
  if (info.header_end >= kInitSize + 4 && info.protocol >= 0x020a) {
    info.pref_address = le(image, kPrefAddress, 8);
    info.init_size = static_cast<std::uint32_t>(le(image, kInitSize, 4));
  }
  return info;
}

vmm::Result<LoadedImage, LoadError> load_linux(std::span<const std::uint8_t> image,
                                               const LinuxBootConfig& config,
                                               vmm::GuestMemory& ram) {
  using namespace bzimage;
  auto parsed = parse_bzimage(image);
  if (!parsed) {
    return parsed.error();
  }
  const BzImageInfo& info = parsed.value();
  const std::uint64_t low_end = config.ram.below_4g;

  // Low memory for the boot structures.
  if (!ram.contains(0, layout::kHighMemoryStart) || low_end <= layout::kHighMemoryStart) {
    return fail(LoadErrc::kDoesNotFit, "guest RAM too small for a Linux boot; raise -m");
  }

  // The kernel: copied to 1 MiB; it decompresses itself at max(load address, pref_address)
  // and needs init_size bytes there.
  const auto kernel = image.subspan(info.setup_size);
  const std::uint64_t kernel_start = layout::kKernelLoadAddr;
  const std::uint64_t run_start = std::max<std::uint64_t>(kernel_start, info.pref_address);
  const std::uint64_t kernel_end =
      std::max<std::uint64_t>(kernel_start + kernel.size(), run_start + info.init_size);
  if (kernel_end > low_end || !ram.contains(kernel_start, kernel.size())) {
    return fail(LoadErrc::kDoesNotFit, "the kernel needs RAM up to " + mib(kernel_end) +
                                           " to decompress and boot, but guest RAM below 4 GiB "
                                           "ends at " + mib(low_end) + "; raise -m");
  }

  // The command line.
  if (config.cmdline.size() > info.cmdline_size ||
      config.cmdline.size() + 1 > layout::kCmdlineMax) {
    return fail(LoadErrc::kCommandLineTooLong,
                "-append: the command line has " + std::to_string(config.cmdline.size()) +
                    " bytes; this kernel accepts at most " +
                    std::to_string(std::min<std::uint64_t>(info.cmdline_size,
                                                           layout::kCmdlineMax - 1)));
  }

  // The initrd: as high as the kernel allows, page-aligned, above the kernel's area.
  std::uint64_t initrd_addr = 0;
  if (!config.initrd.empty()) {
    const std::uint64_t limit =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(info.initrd_addr_max) + 1, low_end);
    const std::uint64_t size = config.initrd.size();
    if (size > limit || ((limit - size) & ~(kPageSize - 1)) < kernel_end) {
      return fail(LoadErrc::kInitrdDoesNotFit,
                  "-initrd: " + mib(size) + " of initrd do not fit between the kernel (up to " +
                      mib(kernel_end) + ") and " + mib(limit) + "; raise -m");
    }
    initrd_addr = (limit - size) & ~(kPageSize - 1);
  }

  // Everything checked: write guest memory.
  (void)ram.write(kernel_start, kernel);
  if (initrd_addr) {
    (void)ram.write(initrd_addr, config.initrd);
  }
  std::vector<std::uint8_t> cmdline(config.cmdline.begin(), config.cmdline.end());
  cmdline.push_back(0);
  (void)ram.write(layout::kCmdlineAddr, cmdline);

  std::vector<std::uint8_t> params(kBootParamsSize, 0);
  std::copy(image.begin() + kSetupSects, image.begin() + info.header_end,
            params.begin() + kSetupSects);
  params[kTypeOfLoader] = kTypeOfLoaderUndefined;
  put_le(params, kCmdLinePtr, layout::kCmdlineAddr, 4);
  put_le(params, kExtCmdLinePtr, layout::kCmdlineAddr >> 32, 4);
  put_le(params, kRamdiskImage, initrd_addr & 0xffffffff, 4);
  put_le(params, kRamdiskSize, config.initrd.size() & 0xffffffff, 4);
  put_le(params, kExtRamdiskImage, initrd_addr >> 32, 4);
  put_le(params, kExtRamdiskSize, static_cast<std::uint64_t>(config.initrd.size()) >> 32, 4);
  put_le(params, kAcpiRsdpAddr, config.rsdp_addr, 8);
  const auto e820 = e820_map(config.ram);
  const std::size_t entries = std::min(e820.size(), kE820MaxEntries);
  params[kE820Entries] = static_cast<std::uint8_t>(entries);
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t at = kE820Table + i * 20;
    put_le(params, at, e820[i].addr, 8);
    put_le(params, at + 8, e820[i].size, 8);
    put_le(params, at + 16, static_cast<std::uint32_t>(e820[i].type), 4);
  }
  (void)ram.write(layout::kBootParamsAddr, params);

  write_identity_page_tables(ram);
  std::uint8_t gdt[sizeof(kBootGdt)];
  for (std::size_t i = 0; i < std::size(kBootGdt); ++i) {
    put_le(gdt, i * 8, kBootGdt[i], 8);
  }
  (void)ram.write(layout::kBootGdtAddr, gdt);

  LoadedImage loaded;
  loaded.kind = ImageKind::kLinux;
  loaded.load_start = kernel_start;
  loaded.load_end = kernel_start + kernel.size();
  loaded.bss_end = kernel_end;
  loaded.initrd_addr = initrd_addr;
  loaded.boot.mode = CpuMode::kLong64;
  loaded.boot.rip = kernel_start + 0x200;  // the 64-bit entry (startup_64)
  loaded.boot.rsi = layout::kBootParamsAddr;
  loaded.boot.rsp = layout::kBootStackTop;
  loaded.boot.cr3 = layout::kBootPageTablesAddr;
  loaded.boot.gdt_base = layout::kBootGdtAddr;
  loaded.boot.gdt_limit = sizeof(kBootGdt) - 1;
  return loaded;
}

}  // namespace machine
