// QEMU's isa-debugcon: a one-port debug console.  Every byte written goes to the host (a file
// or stdout); a read returns 0xe9, which is how firmware (SeaBIOS on QEMU, at port 0x402) tells
// that the port is there and its debug output is wanted.
//
// Works: byte writes (wider writes send each byte, lowest first); reads.
// Missing: nothing.
//
// Legend (locking): the output callback is set at construction; it serializes itself.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "bus/bus.h"

namespace devices {

class DebugCon final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSize = 1;
  static constexpr std::uint8_t kReadback = 0xe9;

  explicit DebugCon(std::function<void(std::uint8_t)> output) : output_(std::move(output)) {}

  void read(std::uint64_t, std::span<std::uint8_t> data) override {
    for (auto& b : data) {
      b = kReadback;
    }
  }
  void write(std::uint64_t, std::span<const std::uint8_t> data) override {
    for (std::uint8_t b : data) {
      output_(b);
    }
  }

 private:
  std::function<void(std::uint8_t)> output_;
};

}  // namespace devices
