// Booting a Linux bzImage directly, by the x86 Linux boot protocol (Documentation/x86/boot.rst
// and zero-page.rst in the kernel tree), entering the kernel's 64-bit entry point.
//
// What the loader does:
// - checks the setup header: boot_flag 0xAA55 at 0x1FE and "HdrS" at 0x202, protocol 2.06 or
//   later, a bzImage (LOADED_HIGH), a 64-bit entry point (xloadflags XLF_KERNEL_64), and that
//   the file holds the setup sectors and syssize paragraphs of payload it claims;
// - copies the protected-mode kernel (everything after the setup sectors) to 1 MiB;
// - writes the command line (at most cmdline_size bytes) and places the initrd as high as
//   initrd_addr_max and RAM below the PCI hole allow, above the kernel's decompression area;
// - builds boot_params (the "zero page"): the image's setup header with type_of_loader,
//   cmd_line_ptr and the ramdisk fields filled in, the E820 map, and acpi_rsdp_addr;
// - builds identity-mapped page tables for the first 4 GiB (2 MiB pages) and a GDT with the
//   flat __BOOT_CS (0x10) and __BOOT_DS (0x18) descriptors, and starts vCPU 0 in 64-bit mode
//   at the load address + 0x200 with RSI = boot_params, interrupts off.
// Not supported: 16-bit or 32-bit entry, EFI handover, setup_data chains, loading the kernel
// above 4 GiB.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "machine/loader.h"
#include "machine/memory_map.h"
#include "vmm/guest_memory.h"
#include "vmm/result.h"

namespace machine {

inline constexpr std::uint16_t kLinuxMinProtocol = 0x0206;

// Setup header offsets (from the start of the bzImage file and of boot_params alike).
namespace bzimage {
inline constexpr std::size_t kSetupSects = 0x1f1;
inline constexpr std::size_t kSysSize = 0x1f4;
inline constexpr std::size_t kBootFlag = 0x1fe;
inline constexpr std::size_t kHeaderEndByte = 0x201;  // jump offset: header ends at 0x202 + it
inline constexpr std::size_t kHeaderMagic = 0x202;
inline constexpr std::size_t kVersion = 0x206;
inline constexpr std::size_t kTypeOfLoader = 0x210;
inline constexpr std::size_t kLoadFlags = 0x211;
inline constexpr std::size_t kRamdiskImage = 0x218;
inline constexpr std::size_t kRamdiskSize = 0x21c;
inline constexpr std::size_t kCmdLinePtr = 0x228;
inline constexpr std::size_t kInitrdAddrMax = 0x22c;
inline constexpr std::size_t kKernelAlignment = 0x230;
inline constexpr std::size_t kRelocatableKernel = 0x234;
inline constexpr std::size_t kXLoadFlags = 0x236;
inline constexpr std::size_t kCmdlineSize = 0x238;
inline constexpr std::size_t kPrefAddress = 0x258;
inline constexpr std::size_t kInitSize = 0x260;
// boot_params fields outside the setup header
inline constexpr std::size_t kAcpiRsdpAddr = 0x070;
inline constexpr std::size_t kExtRamdiskImage = 0x0c0;
inline constexpr std::size_t kExtRamdiskSize = 0x0c4;
inline constexpr std::size_t kExtCmdLinePtr = 0x0c8;
inline constexpr std::size_t kE820Entries = 0x1e8;
inline constexpr std::size_t kE820Table = 0x2d0;
inline constexpr std::size_t kE820MaxEntries = 128;
inline constexpr std::size_t kBootParamsSize = 0x1000;

inline constexpr std::uint8_t kLoadedHigh = 0x01;
inline constexpr std::uint16_t kXlfKernel64 = 0x01;
inline constexpr std::uint8_t kTypeOfLoaderUndefined = 0xff;
}  // namespace bzimage

struct BzImageInfo {
  std::uint16_t protocol = 0;  // 0x0206 means 2.06
  std::uint8_t loadflags = 0;
  std::uint16_t xloadflags = 0;
  std::uint32_t initrd_addr_max = 0;
  std::uint32_t kernel_alignment = 0;
  bool relocatable = false;
  std::uint32_t cmdline_size = 0;  // longest command line, without the NUL
  std::uint64_t pref_address = 0;
  std::uint32_t init_size = 0;     // bytes the kernel needs from its load address to boot
  std::size_t setup_size = 0;      // real-mode part: (setup_sects + 1) * 512 bytes
  std::size_t header_end = 0;      // end of the setup header (offset) to copy into boot_params
};

// True when the file has the boot-sector signature and the "HdrS" setup header magic.
bool looks_like_bzimage(std::span<const std::uint8_t> image);

// Validates the header for a 64-bit direct boot.
vmm::Result<BzImageInfo, LoadError> parse_bzimage(std::span<const std::uint8_t> image);

struct LinuxBootConfig {
  std::string_view cmdline;
  std::span<const std::uint8_t> initrd;  // empty: no initrd
  RamLayout ram;
  std::uint64_t rsdp_addr = 0;  // 0: not given (the kernel scans the BIOS area)
};

// Loads the kernel, command line and initrd and writes boot_params, page tables and GDT.
// The result's boot state enters the 64-bit entry point.
vmm::Result<LoadedImage, LoadError> load_linux(std::span<const std::uint8_t> image,
                                               const LinuxBootConfig& config,
                                               vmm::GuestMemory& ram);

}  // namespace machine
