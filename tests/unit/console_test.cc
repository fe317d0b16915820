// Ctrl-A escapes on the serial console's input, as in QEMU's -nographic.
#include "backends/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

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

// ---- RawTerminal, on a pseudo-terminal

TEST(RawTerminal, RawWhileAliveRestoredAfter) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(tty, 0);
  termios before{};
  ASSERT_EQ(tcgetattr(tty, &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON) << "a fresh pty is cooked";
  {
    auto raw = backends::RawTerminal::enter(tty);
    ASSERT_NE(raw, nullptr);
    termios during{};
    ASSERT_EQ(tcgetattr(tty, &during), 0);
    EXPECT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG)) << "no line editing, echo or ^C";
    EXPECT_FALSE(during.c_oflag & OPOST);
  }
  termios after{};
  ASSERT_EQ(tcgetattr(tty, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  close(tty);
  close(master);
}

TEST(RawTerminal, NotATerminalIsLeftAlone) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(backends::RawTerminal::enter(fds[0]), nullptr);
  close(fds[0]);
  close(fds[1]);
}

// ---- InputPump: backpressure and Ctrl-A x

TEST(InputPump, WaitsForASlowSinkAndLosesNothing) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::mutex m;
  std::string got;
  std::atomic<int> quits{0};
  {
    backends::InputPump pump(fds[0], [&] { ++quits; });
    // A receiver with room for two bytes per call, like a nearly full FIFO.
    pump.set_sink([&](std::span<const std::uint8_t> bytes) {
      std::lock_guard lock(m);
      const std::size_t n = std::min<std::size_t>(bytes.size(), 2);
      got.append(reinterpret_cast<const char*>(bytes.data()), n);
      return n;
    });
    const std::string text = "a line typed quickly\r";
    ASSERT_EQ(write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(m);
        if (got.size() >= text.size()) {
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    {
      std::lock_guard lock(m);
      EXPECT_EQ(got, text);
    }
    ASSERT_EQ(write(fds[1], "z\x01x", 3), 3);
    for (int i = 0; i < 500 && quits.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(quits.load(), 1);
    std::lock_guard lock(m);
    EXPECT_EQ(got, text + "z") << "bytes before the escape still arrive";
  }
  close(fds[0]);
  close(fds[1]);
}

TEST(InputPump, StopsPromptlyWhileTheSinkIsFull) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    backends::InputPump pump(fds[0], nullptr);
    pump.set_sink([](std::span<const std::uint8_t>) { return std::size_t{0}; });
    ASSERT_EQ(write(fds[1], "stuck", 5), 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // the destructor must not hang
  close(fds[0]);
  close(fds[1]);
  SUCCEED();
}

}  // namespace
