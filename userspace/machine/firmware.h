// Booting through a BIOS: where the ROM image lives, and how the i440FX's PAM registers turn
// the 0xC0000-0xFFFFF range into RAM or ROM, decided here as plain data so it can be tested
// without /dev/kvm.
//
// The ROM (a PC's flash): the whole image sits read-only just below 4 GiB, where the reset
// vector (F000:FFF0, CS base 0xFFFF0000) finds its last 16 bytes; its last 128 KiB (all of it
// when smaller) are also seen at 0xE0000-0xFFFFF (the "isa-bios" alias) while the PAM
// registers send those reads to the PCI/ISA side, as they do after reset.  Sizes: a multiple
// of 64 KiB, at most 256 KiB (the top 256 KiB are reserved for the BIOS; KVM's TSS pages sit
// right below).
//
// PAM (82441FX data sheet, 3.2.18): 13 segments (0xC0000-0xEFFFF in 16 KiB pieces, then
// 0xF0000-0xFFFFF), each with RE (reads from DRAM) and WE (writes to DRAM).  What a segment
// becomes in KVM's memory slots:
//   RE+WE  RAM, read/write
//   RE     RAM, read-only: writes exit to userspace (pam window) and are dropped, as writes to
//          the ROM side are
//   WE     the ROM side for reads (the ROM alias, read-only, or nothing), writes exit and the
//          pam window stores them into RAM: how SeaBIOS copies itself while running from ROM
//   none   the ROM side: the ROM alias (read-only) inside 0xE0000-0xFFFFF, elsewhere nothing
//          (reads give all-ones, option ROM space with no ROM in it)
// The RAM behind the window is the guest RAM at the same addresses (it is never in another
// slot).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "machine/memory_map.h"
#include "vmm/result.h"

namespace machine {

inline constexpr std::uint64_t kRomMinSize = 64 * 1024;
inline constexpr std::uint64_t kRomMaxSize = 256 * 1024;
inline constexpr std::uint64_t kRomLowAliasMax = 128 * 1024;
inline constexpr std::uint64_t kPamWindowStart = 0xc0000;
inline constexpr std::uint64_t kPamWindowEnd = 0x100000;
inline constexpr unsigned kPamSegments = 13;

struct RomLayout {
  std::uint64_t size = 0;
  std::uint64_t high_base = 0;   // guest-physical base of the whole image (4 GiB - size)
  std::uint64_t alias_base = 0;  // guest-physical base of the low alias (1 MiB - alias_size)
  std::uint64_t alias_size = 0;
  std::uint64_t alias_offset = 0;  // offset in the image of the alias's first byte
};

// Checks the size; the error is one line for the user.
vmm::Result<RomLayout, std::string> rom_layout(std::uint64_t rom_size);

// One PAM segment's state, as the host bridge decodes its registers.
struct PamSegmentState {
  std::uint32_t base;
  std::uint32_t size;
  bool read_dram;
  bool write_dram;
};

// The segments' state after reset: all 13, neither RE nor WE.
std::vector<PamSegmentState> pam_reset_state();

enum class PamBacking { kNone, kRam, kRom };

// What one segment maps in KVM: nothing (kNone), guest RAM at the same address, or the ROM
// image at rom_offset; read_only becomes KVM_MEM_READONLY.
struct PamMapping {
  PamBacking backing = PamBacking::kNone;
  std::uint64_t rom_offset = 0;
  bool read_only = false;
  bool operator==(const PamMapping&) const = default;
};

PamMapping pam_mapping(const PamSegmentState& segment, const RomLayout& rom);

// The E820 map for firmware in QEMU's "etc/e820" form (20-byte little-endian entries: u64
// address, u64 length, u32 type): the RAM below the PCI hole and above 4 GiB as whole ranges
// (firmware carves out its own low-memory holes), and the pages KVM keeps for itself below the
// ROM (the VMX TSS and identity map) reserved.
std::vector<std::uint8_t> firmware_e820_file(const RamLayout& layout);

// The memory side of PAM: keeps each segment's KVM slot in step with the registers, and
// handles the exits the window's unmapped or read-only parts cause.
//
// Legend (locking): mutex_ guards segments_ and mapped_; update() (a vCPU thread writing the
// host bridge's configuration) and read()/write() (vCPU threads on MMIO exits) take it.  While
// update() swaps a slot, another vCPU touching that segment takes an MMIO exit and is served
// here from the new state.
class PamMemory final : public bus::BusDevice {
 public:
  // Installs or removes one KVM memory slot: size 0 deletes it.  host is where it maps.
  using SetSlot = std::function<bool(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                     std::uint8_t* host, bool read_only)>;

  // ram: host address of guest-physical 0 (RAM below the hole is contiguous); rom: the image,
  // page-aligned; first_slot: slots first_slot .. first_slot + 12 are this object's.
  PamMemory(std::uint8_t* ram, std::span<const std::uint8_t> rom, const RomLayout& layout,
            std::uint32_t first_slot, SetSlot set_slot);

  // Applies a new state of all 13 segments (ascending).  False when KVM refused a slot change
  // (the failed segment stays unmapped and is served through exits).
  bool update(std::span<const PamSegmentState> segments);

  // The window 0xC0000-0xFFFFF; offsets from 0xC0000.
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint64_t dropped_writes() const { return dropped_writes_.load(); }

 private:
  std::size_t segment_of(std::uint64_t gpa) const;

  std::uint8_t* ram_;
  std::span<const std::uint8_t> rom_;
  RomLayout layout_;
  std::uint32_t first_slot_;
  SetSlot set_slot_;
  std::mutex mutex_;
  std::vector<PamSegmentState> segments_;
  std::vector<PamMapping> mapped_;
  std::atomic<std::uint64_t> dropped_writes_{0};
};

// The ROM at its high address, for the exits KVM gives on writes to its read-only slot (and on
// any access while it is not mapped): reads return the image, writes are dropped and counted.
class RomWindow final : public bus::BusDevice {
 public:
  explicit RomWindow(std::span<const std::uint8_t> rom) : rom_(rom) {}
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  std::uint64_t dropped_writes() const { return dropped_writes_.load(); }

 private:
  std::span<const std::uint8_t> rom_;
  std::atomic<std::uint64_t> dropped_writes_{0};
};

}  // namespace machine
