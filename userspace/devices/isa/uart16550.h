// 16550A UART (National Semiconductor PC16550D data sheet), as on a PC's COM1-COM4.
//
// Models: the eight registers seen at offsets 0-7: RBR/THR and IER (or the divisor latch
//   DLL/DLM when LCR.DLAB is set), IIR (read) / FCR (write), LCR, MCR, LSR, MSR, SCR.
// Works: transmit goes straight to an output sink (a byte callback), so LSR always shows
//   THRE|TEMT; receive through receive() into a 16-byte FIFO, LSR.DR while data is pending,
//   LSR.OE on overflow (cleared by reading LSR); IIR reports the highest-priority enabled cause
//   (receiver line status, received data, THR empty, modem status) and the FIFO-enabled bits;
//   loopback (MCR.LOOP): transmitted bytes are received, MSR mirrors MCR's DTR/RTS/OUT1/OUT2,
//   which is what Linux's 8250 probe checks.
// Works too: the interrupt output goes to the machine's IRQ line (IRQ 4 for COM1) through
//   connect_irq(); host input arrives through receive(), and receive_space() lets the input
//   side wait instead of overrunning the FIFO.
// Missing: baud-rate timing, FIFO trigger levels and the character-timeout interrupt (received
//   data interrupts as soon as one byte is there), parity/framing errors and break.
//
// Legend (locking): all state is guarded by mutex_, so a vCPU thread and an input thread may
// call in concurrently.  The sink and IRQ callbacks run with mutex_ held: they must not call
// back into the UART.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"

namespace devices {

class Uart16550 final : public bus::BusDevice {
 public:
  using OutputSink = std::function<void(std::uint8_t)>;
  using IrqLine = std::function<void(bool level)>;

  // Register offsets from the base port.
  static constexpr std::uint64_t kRbrThrDll = 0;
  static constexpr std::uint64_t kIerDlm = 1;
  static constexpr std::uint64_t kIirFcr = 2;
  static constexpr std::uint64_t kLcr = 3;
  static constexpr std::uint64_t kMcr = 4;
  static constexpr std::uint64_t kLsr = 5;
  static constexpr std::uint64_t kMsr = 6;
  static constexpr std::uint64_t kScr = 7;
  static constexpr std::uint64_t kRegisterCount = 8;

  static constexpr std::uint8_t kLsrDataReady = 0x01;
  static constexpr std::uint8_t kLsrOverrun = 0x02;
  static constexpr std::uint8_t kLsrThrEmpty = 0x20;
  static constexpr std::uint8_t kLsrTransmitterEmpty = 0x40;
  static constexpr std::uint8_t kLcrDlab = 0x80;
  static constexpr std::uint8_t kMcrLoop = 0x10;
  static constexpr std::size_t kFifoSize = 16;

  explicit Uart16550(OutputSink sink) : sink_(std::move(sink)) {}

  // Connects the interrupt output; called with the new level whenever it changes.
  void connect_irq(IrqLine line);
  // A byte arriving on the serial line (host input).  Dropped with LSR.OE when the FIFO is full.
  void receive(std::uint8_t byte);
  // Bytes the receive FIFO (or, with FIFOs off, the holding register) can still take.
  std::size_t receive_space() const;
  // The interrupt output: an enabled cause is pending and MCR.OUT2 (the PC's IRQ gate) is set.
  bool irq_level() const;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::uint8_t read_register(std::uint64_t offset);
  void write_register(std::uint64_t offset, std::uint8_t value);
  std::uint8_t interrupt_identification() const;
  std::uint8_t modem_status() const;
  void push_received(std::uint8_t byte);
  void update_irq();

  mutable std::mutex mutex_;
  OutputSink sink_;
  IrqLine irq_line_;
  bool irq_level_ = false;

  std::deque<std::uint8_t> rx_fifo_;
  std::uint16_t divisor_ = 12;  // 9600 baud from the 1.8432 MHz clock, as firmware leaves it
  std::uint8_t ier_ = 0;
  std::uint8_t fcr_ = 0;  // only FIFO enable (bit 0) is remembered
  std::uint8_t lcr_ = 0;
  std::uint8_t mcr_ = 0;
  std::uint8_t lsr_errors_ = 0;  // OE; cleared by reading LSR
  std::uint8_t scr_ = 0;
  bool thr_empty_interrupt_ = false;  // "THR empty" cause, until IIR read or THR write
};

}  // namespace devices
