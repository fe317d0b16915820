#include "devices/isa/i8042.h"

namespace devices {

namespace {

// Controller commands (written to the command port).
constexpr std::uint8_t kCmdReadCtr = 0x20;
constexpr std::uint8_t kCmdWriteCtr = 0x60;
constexpr std::uint8_t kCmdAuxDisable = 0xa7;
constexpr std::uint8_t kCmdAuxEnable = 0xa8;
constexpr std::uint8_t kCmdAuxTest = 0xa9;
constexpr std::uint8_t kCmdSelfTest = 0xaa;
constexpr std::uint8_t kCmdKeyboardTest = 0xab;
constexpr std::uint8_t kCmdKeyboardDisable = 0xad;
constexpr std::uint8_t kCmdKeyboardEnable = 0xae;
constexpr std::uint8_t kCmdReadInputPort = 0xc0;
constexpr std::uint8_t kCmdReadOutputPort = 0xd0;
constexpr std::uint8_t kCmdWriteOutputPort = 0xd1;
constexpr std::uint8_t kCmdWriteKeyboardBuffer = 0xd2;
constexpr std::uint8_t kCmdWriteAuxBuffer = 0xd3;
constexpr std::uint8_t kCmdWriteAux = 0xd4;
constexpr std::uint8_t kCmdPulseFirst = 0xf0;

constexpr std::uint8_t kSelfTestPassed = 0x55;
constexpr std::uint8_t kOutputPortReset = 0x01;  // 0 = hold the CPU in reset

// Keyboard commands and answers.
constexpr std::uint8_t kKbdSetLeds = 0xed;
constexpr std::uint8_t kKbdEcho = 0xee;
constexpr std::uint8_t kKbdScanCodeSet = 0xf0;
constexpr std::uint8_t kKbdIdentify = 0xf2;
constexpr std::uint8_t kKbdTypematic = 0xf3;
constexpr std::uint8_t kKbdEnable = 0xf4;
constexpr std::uint8_t kKbdDisable = 0xf5;
constexpr std::uint8_t kKbdReset = 0xff;
constexpr std::uint8_t kKbdAck = 0xfa;
constexpr std::uint8_t kKbdSelfTestOk = 0xaa;
constexpr std::uint8_t kResend = 0xfe;

}  // namespace

void I8042::Port::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(owner_.mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (offset + i != 0) {
      data[i] = 0xff;  // a wide access reaches past this one-byte port
    } else {
      data[i] = command_ ? owner_.read_status() : owner_.read_data();
    }
  }
  owner_.update_irqs();
}

void I8042::Port::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(owner_.mutex_);
  if (offset == 0 && !data.empty()) {
    if (command_) {
      owner_.write_command(data[0]);
    } else {
      owner_.write_data(data[0]);
    }
  }
  owner_.update_irqs();
}

std::uint8_t I8042::command_byte() const {
  std::lock_guard lock(mutex_);
  return ctr_;
}

std::uint8_t I8042::read_status() const {
  std::uint8_t status = kStatusUnlocked;
  if (ctr_ & kCtrSystem) {
    status |= kStatusSystem;
  }
  if (last_write_was_command_) {
    status |= kStatusCommand;
  }
  if (output_full_) {
    status |= kStatusOutputFull;
    if (output_.aux) {
      status |= kStatusAuxData;
    }
    if (output_.timeout) {
      status |= kStatusTimeout;
    }
  }
  return status;
}

std::uint8_t I8042::read_data() {
  const std::uint8_t value = output_.value;  // reading an empty buffer repeats the last byte
  if (output_full_) {
    output_full_ = false;
    load_output_buffer();
  }
  return value;
}

void I8042::queue(std::uint8_t value, bool aux, bool timeout) {
  queue_.push_back({value, aux, timeout});
  load_output_buffer();
}

void I8042::load_output_buffer() {
  if (output_full_ || queue_.empty()) {
    return;
  }
  // A byte leaving the buffer and the next arriving must look like two interrupts.
  update_irqs();
  output_ = queue_.front();
  queue_.pop_front();
  output_full_ = true;
}

void I8042::update_irqs() {
  const bool keyboard = output_full_ && !output_.aux && (ctr_ & kCtrKeyboardInt);
  const bool aux = output_full_ && output_.aux && (ctr_ & kCtrAuxInt);
  if (keyboard != keyboard_level_) {
    keyboard_level_ = keyboard;
    if (keyboard_irq_) {
      keyboard_irq_(keyboard);
    }
  }
  if (aux != aux_level_) {
    aux_level_ = aux;
    if (aux_irq_) {
      aux_irq_(aux);
    }
  }
}

void I8042::write_command(std::uint8_t value) {
  last_write_was_command_ = true;
  pending_command_ = 0;
  switch (value) {
    case kCmdReadCtr:
      queue(ctr_, false);
      return;
    case kCmdWriteCtr:
    case kCmdWriteOutputPort:
    case kCmdWriteKeyboardBuffer:
    case kCmdWriteAuxBuffer:
    case kCmdWriteAux:
      pending_command_ = value;
      return;
    case kCmdAuxDisable:
      ctr_ |= kCtrAuxDisable;
      return;
    case kCmdAuxEnable:
      ctr_ &= ~kCtrAuxDisable;
      return;
    case kCmdAuxTest:
    case kCmdKeyboardTest:
      queue(0x00, false);  // no clock or data line stuck
      return;
    case kCmdSelfTest:
      ctr_ |= kCtrSystem;
      queue(kSelfTestPassed, false);
      return;
    case kCmdKeyboardDisable:
      ctr_ |= kCtrKeyboardDisable;
      return;
    case kCmdKeyboardEnable:
      ctr_ &= ~kCtrKeyboardDisable;
      return;
    case kCmdReadInputPort:
      queue(0x00, false);
      return;
    case kCmdReadOutputPort:
      queue(output_port_, false);
      return;
    default:
      break;
  }
  if (value >= kCmdPulseFirst) {
    // Bits 0-3 clear = pulse that output line low; bit 0 is the CPU reset line.
    if (!(value & 0x01) && reset_) {
      reset_();
    }
  }
  // Anything else (including 0xff, "pulse nothing") is accepted and ignored.
}

void I8042::write_data(std::uint8_t value) {
  last_write_was_command_ = false;
  const std::uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case kCmdWriteCtr:
      ctr_ = value;
      return;
    case kCmdWriteOutputPort:
      output_port_ = value;
      if (!(value & kOutputPortReset) && reset_) {
        reset_();
      }
      return;
    case kCmdWriteKeyboardBuffer:
      queue(value, false);
      return;
    case kCmdWriteAuxBuffer:
      queue(value, true);
      return;
    case kCmdWriteAux:
      queue(kResend, true, true);  // no mouse: the controller times out
      return;
    default:
      keyboard_command(value);
      return;
  }
}

void I8042::keyboard_command(std::uint8_t value) {
  if (keyboard_pending_) {
    const std::uint8_t command = keyboard_pending_;
    keyboard_pending_ = 0;
    if (command == kKbdScanCodeSet) {
      queue(kKbdAck, false);
      if (value == 0) {
        queue(scan_code_set_, false);
      } else if (value <= 3) {
        scan_code_set_ = value;
      }
      return;
    }
    queue(kKbdAck, false);  // the parameter of set-LEDs or typematic rate
    return;
  }
  switch (value) {
    case kKbdSetLeds:
    case kKbdTypematic:
      keyboard_pending_ = value;
      queue(kKbdAck, false);
      return;
    case kKbdScanCodeSet:
      keyboard_pending_ = value;
      queue(kKbdAck, false);
      return;
    case kKbdEcho:
      queue(kKbdEcho, false);
      return;
    case kKbdIdentify:
      queue(kKbdAck, false);
      queue(0xab, false);  // MF2 keyboard
      queue(0x83, false);
      return;
    case kKbdEnable:
      keyboard_scanning_ = true;
      queue(kKbdAck, false);
      return;
    case kKbdDisable:
      keyboard_scanning_ = false;
      queue(kKbdAck, false);
      return;
    case kKbdReset:
      keyboard_scanning_ = true;
      scan_code_set_ = 2;
      queue(kKbdAck, false);
      queue(kKbdSelfTestOk, false);
      return;
    default:
      queue(kKbdAck, false);
      return;
  }
}

}  // namespace devices
