// isa-debug-exit: QEMU's test-harness device that lets a guest end the emulator.
//
// Models: one write-only register (QEMU configured with iobase=0xf4,iosize=4).
// Works: a write of value V (any width, little-endian, zero-extended to 32 bits) asks the
//   machine to stop with process exit status (V << 1) | 1, so a guest cannot fake a clean exit
//   (status 0) by this route: writing 0 means success and yields 1.  Reads return 0.
// Missing: nothing for this device; the exit request is carried out by the machine.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "bus/bus.h"

namespace devices {

class DebugExit final : public bus::BusDevice {
 public:
  static constexpr std::uint64_t kSize = 4;
  using ExitRequest = std::function<void(std::uint32_t status)>;

  explicit DebugExit(ExitRequest request) : request_(std::move(request)) {}

  static std::uint32_t status_for_value(std::uint32_t value) { return (value << 1) | 1; }

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  ExitRequest request_;
};

}  // namespace devices
