#include "devices/isa/uart16550.h"

namespace devices {

namespace {

constexpr std::uint8_t kIerReceivedData = 0x01;
constexpr std::uint8_t kIerThrEmpty = 0x02;
constexpr std::uint8_t kIerLineStatus = 0x04;
constexpr std::uint8_t kIerModemStatus = 0x08;

constexpr std::uint8_t kIirNoInterrupt = 0x01;
constexpr std::uint8_t kIirLineStatus = 0x06;
constexpr std::uint8_t kIirReceivedData = 0x04;
constexpr std::uint8_t kIirThrEmpty = 0x02;
constexpr std::uint8_t kIirFifosEnabled = 0xc0;

constexpr std::uint8_t kFcrEnableFifo = 0x01;
constexpr std::uint8_t kFcrClearReceive = 0x02;

constexpr std::uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08;
constexpr std::uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

}  // namespace

void Uart16550::connect_irq(IrqLine line) {
  std::lock_guard lock(mutex_);
  irq_line_ = std::move(line);
  irq_level_ = false;
  update_irq();
}

void Uart16550::receive(std::uint8_t byte) {
  std::lock_guard lock(mutex_);
  push_received(byte);
  update_irq();
}

std::size_t Uart16550::receive_space() const {
  std::lock_guard lock(mutex_);
  const std::size_t capacity = fcr_ ? kFifoSize : 1;
  return rx_fifo_.size() >= capacity ? 0 : capacity - rx_fifo_.size();
}

bool Uart16550::irq_level() const {
  std::lock_guard lock(mutex_);
  return irq_level_;
}

void Uart16550::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  // A wide access to this byte-wide device reaches consecutive registers.
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = offset + i < kRegisterCount ? read_register(offset + i) : 0xff;
  }
  update_irq();
}

void Uart16550::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (offset + i < kRegisterCount) {
      write_register(offset + i, data[i]);
    }
  }
  update_irq();
}

std::uint8_t Uart16550::read_register(std::uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThrDll: {
      if (dlab) {
        return static_cast<std::uint8_t>(divisor_ & 0xff);
      }
      if (rx_fifo_.empty()) {
        return 0;
      }
      const std::uint8_t byte = rx_fifo_.front();
      rx_fifo_.pop_front();
      return byte;
    }
    case kIerDlm:
      return dlab ? static_cast<std::uint8_t>(divisor_ >> 8) : ier_;
    case kIirFcr: {
      const std::uint8_t iir = interrupt_identification();
      // Reading IIR acknowledges a THR-empty interrupt when that is what it reports.
      if ((iir & 0x0f) == kIirThrEmpty) {
        thr_empty_interrupt_ = false;
      }
      return iir;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      std::uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty | lsr_errors_;
      if (!rx_fifo_.empty()) {
        lsr |= kLsrDataReady;
      }
      lsr_errors_ = 0;
      return lsr;
    }
    case kMsr:
      return modem_status();
    case kScr:
      return scr_;
  }
  return 0xff;
}

void Uart16550::write_register(std::uint64_t offset, std::uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThrDll:
      if (dlab) {
        divisor_ = static_cast<std::uint16_t>((divisor_ & 0xff00) | value);
        return;
      }
      if (mcr_ & kMcrLoop) {
        push_received(value);
      } else if (sink_) {
        sink_(value);
      }
      // The byte leaves at once, so the holding register is empty again.
      thr_empty_interrupt_ = true;
      return;
    case kIerDlm:
      if (dlab) {
        divisor_ = static_cast<std::uint16_t>((divisor_ & 0x00ff) | (value << 8));
        return;
      }
      // Enabling the THR-empty interrupt while THR is empty (always, here) raises it.
      if ((value & kIerThrEmpty) && !(ier_ & kIerThrEmpty)) {
        thr_empty_interrupt_ = true;
      }
      ier_ = value & 0x0f;
      return;
    case kIirFcr:
      if (value & kFcrClearReceive) {
        rx_fifo_.clear();
      }
      fcr_ = value & kFcrEnableFifo;
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      mcr_ = value & 0x1f;
      return;
    case kLsr:
    case kMsr:
      return;  // read-only (factory test writes are ignored)
    case kScr:
      scr_ = value;
      return;
  }
}

std::uint8_t Uart16550::interrupt_identification() const {
  std::uint8_t id = kIirNoInterrupt;
  if ((ier_ & kIerLineStatus) && lsr_errors_) {
    id = kIirLineStatus;
  } else if ((ier_ & kIerReceivedData) && !rx_fifo_.empty()) {
    id = kIirReceivedData;
  } else if ((ier_ & kIerThrEmpty) && thr_empty_interrupt_) {
    id = kIirThrEmpty;
  }
  // Modem-status interrupts (id 0) need delta bits, which this model never sets.
  (void)kIerModemStatus;
  return static_cast<std::uint8_t>(id | (fcr_ ? kIirFifosEnabled : 0));
}

std::uint8_t Uart16550::modem_status() const {
  if (mcr_ & kMcrLoop) {
    std::uint8_t msr = 0;
    if (mcr_ & kMcrRts)
      msr |= kMsrCts;
    if (mcr_ & kMcrDtr)
      msr |= kMsrDsr;
    if (mcr_ & kMcrOut1)
      msr |= kMsrRi;
    if (mcr_ & kMcrOut2)
      msr |= kMsrDcd;
    return msr;
  }
  // Nothing attached but an always-ready terminal.
  return kMsrDcd | kMsrDsr | kMsrCts;
}

void Uart16550::push_received(std::uint8_t byte) {
  const std::size_t capacity = fcr_ ? kFifoSize : 1;
  if (rx_fifo_.size() >= capacity) {
    lsr_errors_ |= kLsrOverrun;
    return;
  }
  rx_fifo_.push_back(byte);
}

void Uart16550::update_irq() {
  // OUT2 gates the interrupt output on PC serial ports.
  const bool level = (mcr_ & kMcrOut2) && (interrupt_identification() & kIirNoInterrupt) == 0;
  if (level != irq_level_) {
    irq_level_ = level;
    if (irq_line_) {
      irq_line_(level);
    }
  }
}

}  // namespace devices
