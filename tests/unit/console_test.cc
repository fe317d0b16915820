// Ctrl-A escapes on the serial console's input, as in QEMU's -nographic.
#include "backends/console.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using backends::EscapeDecoder;

EscapeDecoder::Output feed(EscapeDecoder& d, const std::string& s) {
  return d.feed(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

TEST(EscapeDecoder, PlainBytesPassThrough) {
  EscapeDecoder d;
  auto out = feed(d, "ls -l\r\x03");
  EXPECT_EQ(out.forward, "ls -l\r\x03") << "Ctrl-C goes to the guest";
  EXPECT_EQ(out.command, EscapeDecoder::Command::kNone);
}

TEST(EscapeDecoder, CtrlAXQuitsAndDropsTheRest) {
  EscapeDecoder d;
  auto out = feed(d, "ab\x01xcd");
  EXPECT_EQ(out.forward, "ab");
  EXPECT_EQ(out.command, EscapeDecoder::Command::kQuit);
}

TEST(EscapeDecoder, EscapeSplitAcrossReads) {
  EscapeDecoder d;
  auto out = feed(d, "a\x01");
  EXPECT_EQ(out.forward, "a");
  EXPECT_EQ(out.command, EscapeDecoder::Command::kNone);
  out = feed(d, "x");
  EXPECT_EQ(out.forward, "");
  EXPECT_EQ(out.command, EscapeDecoder::Command::kQuit);
}

TEST(EscapeDecoder, CtrlACtrlASendsOneCtrlAAndUnknownEscapesAreDropped) {
  EscapeDecoder d;
  auto out = feed(d, "\x01\x01" "b\x01q" "c\x01" "ad");
  EXPECT_EQ(out.forward, "\x01" "bc\x01" "d");
  EXPECT_EQ(out.command, EscapeDecoder::Command::kNone);
}

TEST(EscapeDecoder, CtrlAHAsksForHelp) {
  EscapeDecoder d;
  auto out = feed(d, "\x01h");
  EXPECT_EQ(out.command, EscapeDecoder::Command::kHelp);
  EXPECT_NE(std::string(EscapeDecoder::help_text()).find("C-a x"), std::string::npos);
}

}  // namespace
