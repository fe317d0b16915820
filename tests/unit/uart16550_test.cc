#include "devices/isa/uart16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using devices::Uart16550;

class UartTest : public ::testing::Test {
 protected:
  std::uint8_t in(std::uint64_t offset) {
    std::uint8_t byte = 0;
    uart.read(offset, std::span(&byte, 1));
    return byte;
  }
  void out(std::uint64_t offset, std::uint8_t value) { uart.write(offset, std::span(&value, 1)); }

  std::string output;
  std::vector<bool> irq_changes;
  Uart16550 uart{[this](std::uint8_t byte) { output.push_back(static_cast<char>(byte)); }};
};

TEST_F(UartTest, TransmitGoesToTheSink) {
  for (char c : std::string("hi\n")) {
    EXPECT_TRUE(in(Uart16550::kLsr)&Uart16550::kLsrThrEmpty);
    out(Uart16550::kRbrThrDll, static_cast<std::uint8_t>(c));
  }
  EXPECT_EQ(output, "hi\n");
}

TEST_F(UartTest, LineStatusAfterReset) {
  // THRE | TEMT, no data ready, no errors.
  EXPECT_EQ(in(Uart16550::kLsr), 0x60);
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x01);  // no interrupt pending, FIFOs off
  EXPECT_EQ(in(Uart16550::kMsr), 0xb0);     // DCD | DSR | CTS
}

TEST_F(UartTest, DlabSwitchesOffsetsZeroAndOneToTheDivisorLatch) {
  out(Uart16550::kIerDlm, 0x05);
  out(Uart16550::kLcr, 0x80 | 0x03);  // DLAB, 8N1
  out(Uart16550::kRbrThrDll, 0x01);   // divisor 0x0001: 115200 baud
  out(Uart16550::kIerDlm, 0x00);
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 0x01);
  EXPECT_EQ(in(Uart16550::kIerDlm), 0x00);
  EXPECT_TRUE(output.empty()) << "a divisor write must not transmit";
  out(Uart16550::kLcr, 0x03);
  EXPECT_EQ(in(Uart16550::kLcr), 0x03);
  EXPECT_EQ(in(Uart16550::kIerDlm), 0x05) << "IER kept its value under the latch";
  out(Uart16550::kRbrThrDll, 'x');
  EXPECT_EQ(output, "x");
  out(Uart16550::kLcr, 0x83);
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 0x01) << "divisor survives DLAB toggling";
}

TEST_F(UartTest, ScratchRegisterHoldsAByte) {
  out(Uart16550::kScr, 0x5a);
  EXPECT_EQ(in(Uart16550::kScr), 0x5a);
  out(Uart16550::kScr, 0xa5);
  EXPECT_EQ(in(Uart16550::kScr), 0xa5);
}

TEST_F(UartTest, ReceivedDataSetsDataReadyUntilRead) {
  uart.receive('a');
  EXPECT_EQ(in(Uart16550::kLsr)&Uart16550::kLsrDataReady, Uart16550::kLsrDataReady);
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 'a');
  EXPECT_EQ(in(Uart16550::kLsr)&Uart16550::kLsrDataReady, 0);
}

TEST_F(UartTest, OverrunWithoutFifoIsReportedOnceInLsr) {
  uart.receive('a');
  uart.receive('b');  // no FIFO: one-byte holding register, 'b' is lost
  const std::uint8_t lsr = in(Uart16550::kLsr);
  EXPECT_TRUE(lsr & Uart16550::kLsrOverrun);
  EXPECT_FALSE(in(Uart16550::kLsr)&Uart16550::kLsrOverrun) << "OE clears when LSR is read";
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 'a');
}

TEST_F(UartTest, FifoEnableShowsInIirAndBuffersSixteenBytes) {
  out(Uart16550::kIirFcr, 0x07);
  EXPECT_EQ(in(Uart16550::kIirFcr)&0xc0, 0xc0);
  for (int i = 0; i < 16; ++i) {
    uart.receive(static_cast<std::uint8_t>('A' + i));
  }
  EXPECT_FALSE(in(Uart16550::kLsr)&Uart16550::kLsrOverrun);
  uart.receive('!');
  EXPECT_TRUE(in(Uart16550::kLsr)&Uart16550::kLsrOverrun);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(in(Uart16550::kRbrThrDll), 'A' + i);
  }
  EXPECT_FALSE(in(Uart16550::kLsr)&Uart16550::kLsrDataReady);
}

TEST_F(UartTest, LoopbackReturnsTransmittedBytesAndMirrorsModemControl) {
  // What Linux's 8250 probe does: MCR = LOOP | OUT2 | RTS, expect MSR high nibble 0x90.
  out(Uart16550::kMcr, 0x1a);
  EXPECT_EQ(in(Uart16550::kMsr)&0xf0, 0x90);
  out(Uart16550::kRbrThrDll, 0x55);
  EXPECT_TRUE(output.empty());
  EXPECT_TRUE(in(Uart16550::kLsr)&Uart16550::kLsrDataReady);
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 0x55);
}

TEST_F(UartTest, InterruptIdentificationAndIrqLine) {
  uart.connect_irq([this](bool level) { irq_changes.push_back(level); });
  out(Uart16550::kMcr, 0x08);  // OUT2: connect the interrupt output
  out(Uart16550::kIerDlm, 0x01);
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x01);
  uart.receive('z');
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x04);  // received data available
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 'z');
  EXPECT_FALSE(uart.irq_level());
  // Enabling THRE interrupts raises one at once; reading IIR acknowledges it.
  out(Uart16550::kIerDlm, 0x03);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x02);
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x01);
  EXPECT_FALSE(uart.irq_level());
  // Sending a byte empties THR again: another THRE interrupt.
  out(Uart16550::kRbrThrDll, 'q');
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x02);
  EXPECT_EQ(irq_changes, (std::vector<bool>{true, false, true, false, true, false}));
}

TEST_F(UartTest, IrqLineStaysLowWithoutOut2) {
  out(Uart16550::kIerDlm, 0x02);
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x02);
  out(Uart16550::kRbrThrDll, 'q');
  EXPECT_FALSE(uart.irq_level());
}

TEST_F(UartTest, WideAccessReachesConsecutiveRegisters) {
  const std::uint8_t bytes[2] = {'o', 'k'};
  uart.write(Uart16550::kRbrThrDll, bytes);  // THR, then IER
  EXPECT_EQ(output, "o");
  EXPECT_EQ(in(Uart16550::kIerDlm), 'k' & 0x0f);
}

TEST_F(UartTest, ReceiveSpaceFollowsTheFifoSoInputNeedNotOverrun) {
  EXPECT_EQ(uart.receive_space(), 1u) << "FIFOs off: the holding register only";
  uart.receive('a');
  EXPECT_EQ(uart.receive_space(), 0u);
  EXPECT_EQ(in(Uart16550::kRbrThrDll), 'a');
  out(Uart16550::kIirFcr, 0x01);  // FIFOs on
  EXPECT_EQ(uart.receive_space(), Uart16550::kFifoSize);
  for (int i = 0; i < 5; ++i) {
    uart.receive(static_cast<std::uint8_t>('0' + i));
  }
  EXPECT_EQ(uart.receive_space(), Uart16550::kFifoSize - 5);
  EXPECT_EQ(in(Uart16550::kLsr) & Uart16550::kLsrOverrun, 0) << "no byte was lost";
  std::string got;
  while (in(Uart16550::kLsr) & Uart16550::kLsrDataReady) {
    got.push_back(static_cast<char>(in(Uart16550::kRbrThrDll)));
  }
  EXPECT_EQ(got, "01234");
}

// What Linux's 8250 driver does with a typed line: received-data interrupt, drain RBR while
// LSR.DR, interrupt goes away; a second line raises it again (a new edge for the IOAPIC).
TEST_F(UartTest, EachBurstOfInputGivesANewInterruptEdge) {
  uart.connect_irq([this](bool level) { irq_changes.push_back(level); });
  out(Uart16550::kIirFcr, 0x07);  // FIFOs on, both cleared
  out(Uart16550::kMcr, 0x0b);     // DTR, RTS, OUT2
  out(Uart16550::kIerDlm, 0x05);  // received data + line status
  for (char c : std::string("ls\r")) {
    uart.receive(static_cast<std::uint8_t>(c));
  }
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(Uart16550::kIirFcr), 0xc4);
  std::string got;
  while (in(Uart16550::kLsr) & Uart16550::kLsrDataReady) {
    got.push_back(static_cast<char>(in(Uart16550::kRbrThrDll)));
  }
  EXPECT_EQ(got, "ls\r");
  EXPECT_EQ(in(Uart16550::kIirFcr), 0xc1);
  uart.receive('x');
  EXPECT_EQ(irq_changes, (std::vector<bool>{true, false, true}));
}

TEST_F(UartTest, OverrunRaisesALineStatusInterruptWhenEnabled) {
  uart.connect_irq([this](bool level) { irq_changes.push_back(level); });
  out(Uart16550::kMcr, 0x08);
  out(Uart16550::kIerDlm, 0x04);  // line status only
  uart.receive('a');
  EXPECT_FALSE(uart.irq_level()) << "data alone is not a line-status cause";
  uart.receive('b');  // FIFOs off: overrun
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(Uart16550::kIirFcr), 0x06);
  EXPECT_TRUE(in(Uart16550::kLsr) & Uart16550::kLsrOverrun);
  EXPECT_FALSE(uart.irq_level()) << "reading LSR clears the cause";
}

}  // namespace
