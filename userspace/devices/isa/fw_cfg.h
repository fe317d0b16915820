// fw_cfg: QEMU's firmware configuration interface, as docs/specs/fw_cfg.rst in QEMU describes
// it for x86, so SeaBIOS and our BIOS read the machine's description the way they do on QEMU.
//
// Registers (offsets from the device's base; the machine puts it at 0x510):
//   0      selector, 16-bit write: selects an item and rewinds to its first byte
//   1      data, 8-bit read: streams the selected item, then zeros past its end
//   4..11  DMA address, big-endian: a 32-bit write to 4 sets the high half, a 32-bit write to 8
//          sets the low half and starts the transfer; reading 4..11 gives "QEMU CFG"
//
// Works: the signature "QEMU" (0x0000); the interface ID (0x0001: bit 0 traditional, bit 1
//   DMA when the device was given guest memory); RAM size (0x0003, u64), CPU count (0x0005,
//   u16), maximum CPU count (0x000f, u16), all little-endian; the file directory (0x0019: a
//   big-endian u32 count, then per file a big-endian u32 size, u16 selector, u16 reserved and
//   a NUL-padded 56-byte name), files sorted by name with selectors from 0x0020; DMA transfers
//   (an access of big-endian control, length, address in guest RAM): SELECT, READ (past an
//   item's end the destination is filled with zeros), SKIP, and the completion the guest
//   polls for (control rewritten as 0, or ERROR).  The data port and DMA share the offset.
// Missing: writable items (a DMA WRITE ends in ERROR, data-port writes are ignored, as QEMU
//   does since 2.4), the legacy kernel/initrd/cmdline items, SMBIOS.
// Bad guest input: a DMA access or destination outside guest RAM ends in ERROR (when the
//   access itself is unreadable nothing is written back) and counts in dma_errors().
//
// Legend (locking): mutex_ guards selector_, offset_, dma_high_ and the DMA transfer; items_
// and files_ are filled before the guest runs (add_file) and only read afterwards.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "vmm/guest_memory.h"

namespace devices {

class FwCfg final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSelectorOffset = 0;
  static constexpr std::uint64_t kDataOffset = 1;
  static constexpr std::uint64_t kDmaHighOffset = 4;
  static constexpr std::uint64_t kDmaLowOffset = 8;
  static constexpr std::uint64_t kSize = 12;

  static constexpr std::uint16_t kSignature = 0x0000;
  static constexpr std::uint16_t kId = 0x0001;
  static constexpr std::uint16_t kRamSize = 0x0003;
  static constexpr std::uint16_t kCpuCount = 0x0005;
  static constexpr std::uint16_t kMaxCpus = 0x000f;
  static constexpr std::uint16_t kFileDir = 0x0019;
  static constexpr std::uint16_t kFirstFile = 0x0020;

  static constexpr std::uint32_t kIdTraditional = 1u << 0;
  static constexpr std::uint32_t kIdDma = 1u << 1;

  // DMA control bits (the selector is in bits 16-31 with kDmaSelect).
  static constexpr std::uint32_t kDmaError = 1u << 0;
  static constexpr std::uint32_t kDmaRead = 1u << 1;
  static constexpr std::uint32_t kDmaSkip = 1u << 2;
  static constexpr std::uint32_t kDmaSelect = 1u << 3;
  static constexpr std::uint32_t kDmaWrite = 1u << 4;
  static constexpr std::uint64_t kDmaSignature = 0x51454d5520434647ull;  // "QEMU CFG"

  static constexpr std::size_t kFileNameSize = 56;  // including the terminating NUL
  static constexpr std::size_t kDirEntrySize = 64;
  static constexpr std::size_t kMaxFiles = 0x4000 - kFirstFile;

  // dma_memory: the guest RAM DMA transfers reach; nullptr offers the traditional interface
  // only.  It must outlive the device.
  FwCfg(std::uint64_t ram_bytes, unsigned cpus, vmm::GuestMemory* dma_memory = nullptr);

  // Adds (or replaces) a named file; the directory is rebuilt.  Call before the guest runs.
  // False when the name is empty or longer than 55 bytes, or the directory is full.
  bool add_file(const std::string& name, std::vector<std::uint8_t> data);
  // The selector of a file, for tests and diagnostics.
  std::optional<std::uint16_t> file_selector(const std::string& name) const;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint64_t dma_errors() const { return dma_errors_.load(); }

 private:
  void rebuild_directory();
  std::uint8_t next_byte();
  void select(std::uint16_t key);
  void dma_transfer(std::uint64_t access_addr);
  // Runs one access's control/length/address; returns the control value to write back.
  std::uint32_t dma_run(std::uint32_t control, std::uint32_t length, std::uint64_t address);

  vmm::GuestMemory* dma_memory_;
  std::map<std::uint16_t, std::vector<std::uint8_t>> items_;
  std::map<std::string, std::vector<std::uint8_t>> files_;  // by name: selectors in name order
  std::map<std::string, std::uint16_t> file_selectors_;

  std::mutex mutex_;
  std::uint16_t selector_ = kSignature;
  std::size_t offset_ = 0;
  std::uint32_t dma_high_ = 0;
  std::atomic<std::uint64_t> dma_errors_{0};
};

}  // namespace devices
