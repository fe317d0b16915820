// Loading a guest image into RAM and choosing the vCPU's first state.
//
// Three formats: a Linux bzImage (linux_boot.h), and the two test-guest formats here:
// - Multiboot v1 with the a.out kludge (header flag bit 16).  The header (magic 0x1BADB002,
//   4-byte aligned, wholly inside the first 8192 bytes) names where the image goes
//   (header_addr, load_addr, load_end_addr, bss_end_addr) and where it starts (entry_addr).
//   The loader copies the image, zeroes the bss, writes a multiboot information structure
//   (flags bit 0: mem_lower/mem_upper) at kMultibootInfoAddr, and starts the CPU as the
//   Multiboot spec says: 32-bit protected mode, paging off, flat 4 GiB CS and data segments,
//   EAX = 0x2BADB002, EBX = the information structure, interrupts off, no valid GDT.
// - Anything without a multiboot header is a "flat" image: a boot-sector-like blob placed at
//   0x7C00 and entered in real mode at 0000:7C00 with DL = 0x80 and SP = 0x7C00.
// Multiboot images in ELF form (flag bit 16 clear) are rejected with a message saying so.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "uapi/kvm-abi.h"
#include "vmm/guest_memory.h"
#include "vmm/result.h"

namespace machine {

inline constexpr std::uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr std::uint32_t kMultibootBootloaderMagic = 0x2BADB002;
inline constexpr std::size_t kMultibootSearchLimit = 8192;
inline constexpr std::uint64_t kMultibootInfoAddr = 0x9000;
inline constexpr std::uint64_t kMultibootInfoSize = 0x78;  // through the framebuffer fields
inline constexpr std::uint64_t kMultibootLowestLoad = 0x100000;
inline constexpr std::uint64_t kFlatLoadAddr = 0x7C00;
inline constexpr std::uint64_t kFlatLoadLimit = 0xA0000;  // VGA memory starts here

enum class LoadErrc {
  kFileUnreadable,
  kEmptyImage,
  kMultibootBadChecksum,
  kMultibootElfUnsupported,    // flag bit 16 clear
  kMultibootUnsupportedFlags,  // required-feature bits 3-15 we do not know
  kMultibootInconsistent,      // addresses contradict each other or the file
  kMultibootBelow1MiB,         // would overwrite the low-memory boot data
  kDoesNotFit,                 // past the end of guest RAM (or, for flat, past 0xA0000)
  kLinuxBadHeader,             // a bzImage whose setup header contradicts itself or the file
  kLinuxUnsupported,           // too old (protocol < 2.06), not a bzImage, or no 64-bit entry
  kCommandLineTooLong,         // longer than the kernel's cmdline_size
  kInitrdDoesNotFit,           // no room for the initrd between the kernel and its limit
};

struct LoadError {
  LoadErrc code;
  std::string message;  // one line for a human, without a "kvm-run:" prefix
};

struct MultibootHeader {
  std::size_t file_offset;  // where the magic is
  std::uint32_t flags;
  std::uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

enum class CpuMode {
  kReal16,       // real mode, segments at 0
  kProtected32,  // flat 32-bit protected mode, paging off
  kLong64,       // 64-bit mode: paging on (cr3), flat code 0x10 / data 0x18 from a GDT in RAM
};

// The first architectural state of vCPU 0; apply_boot_state() turns it into kvm_regs/sregs.
struct BootState {
  CpuMode mode = CpuMode::kReal16;
  std::uint64_t rip = 0;
  std::uint64_t rsp = 0;
  std::uint64_t rax = 0;
  std::uint64_t rbx = 0;
  std::uint64_t rdx = 0;
  std::uint64_t rsi = 0;
  // kLong64 only: the page tables and the GDT the loader wrote.
  std::uint64_t cr3 = 0;
  std::uint64_t gdt_base = 0;
  std::uint16_t gdt_limit = 0;
};

// kFirmware: no image is loaded; vCPU 0 starts at the reset vector in the BIOS ROM.
enum class ImageKind { kFlat, kMultiboot, kLinux, kFirmware };

struct LoadedImage {
  ImageKind kind = ImageKind::kFlat;
  std::uint64_t load_start = 0;  // guest-physical
  std::uint64_t load_end = 0;    // end of file data
  std::uint64_t bss_end = 0;     // end of everything the image occupies
  std::uint64_t initrd_addr = 0;  // Linux: where the initrd went (0: none)
  BootState boot;
};

// Finds a multiboot header with the right magic.  nullopt: none (a flat image).  An error: the
// magic is there but the header is bad (checksum, truncated).
vmm::Result<std::optional<MultibootHeader>, LoadError> find_multiboot_header(
    std::span<const std::uint8_t> image);

vmm::Result<LoadedImage, LoadError> load_image(std::span<const std::uint8_t> image,
                                               vmm::GuestMemory& ram);

// Reads a whole file; refuses files larger than max_size (they could never fit in RAM).
vmm::Result<std::vector<std::uint8_t>, LoadError> read_image_file(const std::string& path,
                                                                  std::uint64_t max_size);

// Fills regs and sregs (which should hold the vCPU's reset state from KVM_GET_SREGS, so fields
// this does not set keep KVM's values) with the boot state.
void apply_boot_state(const BootState& boot, kvm_regs& regs, kvm_sregs& sregs);

}  // namespace machine
