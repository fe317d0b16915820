// Port 0x80, the POST-code port: firmware writes progress codes there and operating systems
// write to it for a short I/O delay.
//
// Works: remembers the last byte written (last_code(), and a read returns it, like the latch
//   on a POST card).  Counts writes, so a test or a debug dump can see the guest used it.
// Missing: nothing; there is no display of the codes.
//
// Legend (locking): both fields are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "bus/bus.h"

namespace devices {

class PostCode final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSize = 1;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint8_t last_code() const { return last_.load(); }
  std::uint64_t writes() const { return writes_.load(); }

 private:
  std::atomic<std::uint8_t> last_{0};
  std::atomic<std::uint64_t> writes_{0};
};

}  // namespace devices
