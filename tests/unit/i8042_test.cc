// The i8042 keyboard controller, driven through its two ports as an OS driver would.
#include "devices/isa/i8042.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using devices::I8042;

class I8042Test : public ::testing::Test {
 protected:
  std::uint8_t status() { return read(kbc.command_port()); }
  std::uint8_t data() { return read(kbc.data_port()); }
  void command(std::uint8_t v) { write(kbc.command_port(), v); }
  void send(std::uint8_t v) { write(kbc.data_port(), v); }
  static std::uint8_t read(bus::BusDevice& port) {
    std::uint8_t b = 0;
    port.read(0, std::span(&b, 1));
    return b;
  }
  static void write(bus::BusDevice& port, std::uint8_t v) { port.write(0, std::span(&v, 1)); }
  // Everything waiting in the output buffer, in order.
  std::vector<std::uint8_t> drain() {
    std::vector<std::uint8_t> out;
    while (status() & I8042::kStatusOutputFull) {
      out.push_back(data());
    }
    return out;
  }

  std::vector<bool> kbd_irq, aux_irq;
  int resets = 0;
  I8042 kbc{[this](bool l) { kbd_irq.push_back(l); }, [this](bool l) { aux_irq.push_back(l); },
            [this] { ++resets; }};
};

TEST_F(I8042Test, SelfTestAndInterfaceTests) {
  command(0xaa);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0x55});
  EXPECT_TRUE(status() & I8042::kStatusSystem);
  command(0xab);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0x00});
  command(0xa9);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0x00});
  EXPECT_EQ(resets, 0);
}

TEST_F(I8042Test, CommandByteReadsBackWhatWasWritten) {
  command(0x20);
  const auto initial = drain();
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_EQ(initial[0], kbc.command_byte());
  command(0x60);
  EXPECT_TRUE(status() & I8042::kStatusCommand);
  send(0x47);
  EXPECT_FALSE(status() & I8042::kStatusCommand);
  command(0x20);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0x47});
  command(0xa7);  // disable aux
  EXPECT_TRUE(kbc.command_byte() & I8042::kCtrAuxDisable);
  command(0xa8);
  EXPECT_FALSE(kbc.command_byte() & I8042::kCtrAuxDisable);
  command(0xad);
  EXPECT_TRUE(kbc.command_byte() & I8042::kCtrKeyboardDisable);
  command(0xae);
  EXPECT_FALSE(kbc.command_byte() & I8042::kCtrKeyboardDisable);
}

TEST_F(I8042Test, PulsingTheResetLineResetsTheMachine) {
  command(0xfe);
  EXPECT_EQ(resets, 1);
  command(0xff);  // pulse nothing
  command(0xfd);  // pulses line 1 (A20), not the reset line
  EXPECT_EQ(resets, 1);
  command(0xf0);  // all four lines, reset among them
  EXPECT_EQ(resets, 2);
}

TEST_F(I8042Test, OutputPortWriteWithResetBitClearResets) {
  command(0xd0);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0x03});
  command(0xd1);
  send(0x03);
  EXPECT_EQ(resets, 0);
  command(0xd1);
  send(0x02);
  EXPECT_EQ(resets, 1);
}

TEST_F(I8042Test, KeyboardResetAndIdentify) {
  send(0xff);
  EXPECT_EQ(drain(), (std::vector<std::uint8_t>{0xfa, 0xaa}));
  send(0xf2);
  EXPECT_EQ(drain(), (std::vector<std::uint8_t>{0xfa, 0xab, 0x83}));
  send(0xee);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0xee});
  send(0xed);  // set LEDs: ACK, then ACK for the parameter
  send(0x07);
  EXPECT_EQ(drain(), (std::vector<std::uint8_t>{0xfa, 0xfa}));
  send(0xf0);  // scan code set: query
  send(0x00);
  EXPECT_EQ(drain(), (std::vector<std::uint8_t>{0xfa, 0xfa, 0x02}));
}

TEST_F(I8042Test, KeyboardBytesRaiseIrq1WithANewEdgePerByte) {
  command(0x60);
  send(I8042::kCtrKeyboardInt | I8042::kCtrSystem);
  send(0xf2);  // three bytes answer
  EXPECT_EQ(data(), 0xfa);
  EXPECT_EQ(data(), 0xab);
  EXPECT_EQ(data(), 0x83);
  EXPECT_EQ(kbd_irq, (std::vector<bool>{true, false, true, false, true, false}));
  EXPECT_TRUE(aux_irq.empty());
}

TEST_F(I8042Test, NoIrqWhenTheCommandByteDisablesIt) {
  command(0x60);
  send(I8042::kCtrSystem);
  send(0xee);
  EXPECT_EQ(drain(), std::vector<std::uint8_t>{0xee});
  EXPECT_TRUE(kbd_irq.empty());
}

TEST_F(I8042Test, AuxLoopbackRaisesIrq12AndMarksAuxData) {
  command(0x60);
  send(I8042::kCtrKeyboardInt | I8042::kCtrAuxInt | I8042::kCtrSystem);
  command(0xd3);
  send(0x5a);
  EXPECT_EQ(status() & (I8042::kStatusOutputFull | I8042::kStatusAuxData),
            I8042::kStatusOutputFull | I8042::kStatusAuxData);
  EXPECT_EQ(data(), 0x5a);
  EXPECT_EQ(aux_irq, (std::vector<bool>{true, false}));
  EXPECT_TRUE(kbd_irq.empty());
}

TEST_F(I8042Test, NoMouseBehindTheAuxPort) {
  command(0xd4);
  send(0xf2);  // identify, to the mouse
  const std::uint8_t s = status();
  EXPECT_TRUE(s & I8042::kStatusAuxData);
  EXPECT_TRUE(s & I8042::kStatusTimeout);
  EXPECT_EQ(data(), 0xfe);
}

TEST_F(I8042Test, ReadingAnEmptyBufferRepeatsTheLastByte) {
  send(0xee);
  EXPECT_EQ(data(), 0xee);
  EXPECT_FALSE(status() & I8042::kStatusOutputFull);
  EXPECT_EQ(data(), 0xee);
}

}  // namespace
