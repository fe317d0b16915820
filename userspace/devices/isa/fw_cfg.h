// fw_cfg: QEMU's firmware configuration interface, the traditional I/O-port form
// (docs/specs/fw_cfg.rst in QEMU): a 16-bit selector at offset 0 and an 8-bit data port at
// offset 1 that streams the selected item byte by byte.
//
// Works: the items test guests and firmware read first: signature "QEMU" (0x0000), interface
//   ID 1 = traditional I/O only (0x0001), RAM size in bytes (0x0003, u64), CPU count (0x0005,
//   u16) and maximum CPU count (0x000f, u16); all little-endian.  Writing the selector rewinds
//   to the item's first byte; reading past an item's end, or an unknown item, gives 0.
// Missing: the file directory (0x0019) and files, the DMA interface (ID bit 1 is clear), writes
//   through the data port, kernel/initrd/cmdline items.
//
// Legend (locking): mutex_ guards selector_ and position_; items_ is fixed at construction.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "bus/bus.h"

namespace devices {

class FwCfg final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSelectorOffset = 0;
  static constexpr std::uint64_t kDataOffset = 1;
  static constexpr std::uint64_t kSize = 2;

  static constexpr std::uint16_t kSignature = 0x0000;
  static constexpr std::uint16_t kId = 0x0001;
  static constexpr std::uint16_t kRamSize = 0x0003;
  static constexpr std::uint16_t kCpuCount = 0x0005;
  static constexpr std::uint16_t kMaxCpus = 0x000f;

  FwCfg(std::uint64_t ram_bytes, unsigned cpus);

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::uint8_t next_byte();

  std::map<std::uint16_t, std::vector<std::uint8_t>> items_;
  std::mutex mutex_;
  std::uint16_t selector_ = kSignature;
  std::size_t position_ = 0;
};

}  // namespace devices
