// i8042 keyboard controller (the PC/AT "8042" and its PS/2 keyboard), enough for an OS to find
// a controller with a keyboard and no mouse, and to reset the machine through it.
//
// Models: the data port (0x60) and the command/status port (0x64), seen as two BusDevices
//   (data_port(), command_port()) because the machine has another device between them.
//   Status: OBF, SYS, CMD/DATA, keyboard-unlocked, AUXB (output from the aux port), TIMEOUT.
//   Controller commands: read/write the command byte (0x20/0x60), self test (0xAA -> 0x55),
//   interface tests (0xAB, 0xA9 -> 0x00), enable/disable keyboard and aux (0xAE/0xAD,
//   0xA8/0xA7), read/write the output port (0xD0/0xD1), write the keyboard or aux output
//   buffer (0xD2/0xD3, the loopback an OS uses to test IRQ 12), write to the aux device (0xD4),
//   and pulse output lines (0xF0-0xFF).
// Works: system reset through 0xFE (pulse the reset line) or an output-port write with bit 0
//   clear calls the reset callback.  The keyboard answers reset (FA AA), identify (FA AB 83),
//   echo, scan-code set query, and ACKs every other command and parameter; interrupts: IRQ 1
//   for keyboard bytes and IRQ 12 for aux bytes, as the command byte enables them, the line
//   following "output buffer full" (a new byte after a read gives a new edge).
// Missing: host keyboard input (no display yet), key scan codes and translation, a mouse:
//   the aux port exists but nothing is attached, so every byte sent with 0xD4 is answered by
//   0xFE with the TIMEOUT status bit set.
//
// Legend (locking): mutex_ guards all state; the IRQ and reset callbacks run with it held and
// must not call back into the device.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"

namespace devices {

class I8042 {
 public:
  using IrqLine = std::function<void(bool level)>;
  using ResetRequest = std::function<void()>;

  static constexpr std::uint8_t kStatusOutputFull = 0x01;
  static constexpr std::uint8_t kStatusSystem = 0x04;
  static constexpr std::uint8_t kStatusCommand = 0x08;
  static constexpr std::uint8_t kStatusUnlocked = 0x10;
  static constexpr std::uint8_t kStatusAuxData = 0x20;
  static constexpr std::uint8_t kStatusTimeout = 0x40;

  static constexpr std::uint8_t kCtrKeyboardInt = 0x01;
  static constexpr std::uint8_t kCtrAuxInt = 0x02;
  static constexpr std::uint8_t kCtrSystem = 0x04;
  static constexpr std::uint8_t kCtrKeyboardDisable = 0x10;
  static constexpr std::uint8_t kCtrAuxDisable = 0x20;
  static constexpr std::uint8_t kCtrTranslate = 0x40;

  I8042(IrqLine keyboard_irq, IrqLine aux_irq, ResetRequest reset)
      : keyboard_irq_(std::move(keyboard_irq)),
        aux_irq_(std::move(aux_irq)),
        reset_(std::move(reset)),
        data_(*this, false),
        command_(*this, true) {}
  I8042(const I8042&) = delete;
  I8042& operator=(const I8042&) = delete;

  bus::BusDevice& data_port() { return data_; }
  bus::BusDevice& command_port() { return command_; }

  std::uint8_t command_byte() const;

 private:
  class Port final : public bus::BusDevice {
   public:
    Port(I8042& owner, bool command) : owner_(owner), command_(command) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

   private:
    I8042& owner_;
    bool command_;
  };

  struct OutputByte {
    std::uint8_t value;
    bool aux;
    bool timeout;  // the aux device did not answer
  };

  std::uint8_t read_data();
  std::uint8_t read_status() const;
  void write_data(std::uint8_t value);
  void write_command(std::uint8_t value);
  void keyboard_command(std::uint8_t value);
  void queue(std::uint8_t value, bool aux, bool timeout = false);
  void load_output_buffer();
  void update_irqs();

  mutable std::mutex mutex_;
  IrqLine keyboard_irq_;
  IrqLine aux_irq_;
  ResetRequest reset_;
  Port data_;
  Port command_;

  std::uint8_t ctr_ = kCtrKeyboardInt | kCtrSystem | kCtrTranslate;
  std::uint8_t output_port_ = 0x03;  // reset line high (not in reset), A20 enabled
  std::uint8_t pending_command_ = 0;  // controller command waiting for its data byte
  std::uint8_t keyboard_pending_ = 0;  // keyboard command waiting for its parameter
  bool last_write_was_command_ = false;
  bool keyboard_scanning_ = true;
  std::uint8_t scan_code_set_ = 2;

  std::deque<OutputByte> queue_;  // bytes waiting behind the output buffer
  bool output_full_ = false;
  OutputByte output_{0, false, false};
  bool keyboard_level_ = false;
  bool aux_level_ = false;
};

}  // namespace devices
