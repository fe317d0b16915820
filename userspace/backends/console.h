// The host side of the serial console: the terminal and the input thread.
//
// - EscapeDecoder: QEMU's -nographic escapes on the input stream: Ctrl-A x quits, Ctrl-A h
//   prints help, Ctrl-A Ctrl-A (or Ctrl-A a) sends one Ctrl-A, anything else after Ctrl-A is
//   dropped.  A pure state machine, so tests drive it byte by byte.
// - RawTerminal: puts a terminal in raw mode (no echo, no line editing, no signals from ^C, no
//   output translation) and restores the saved settings when destroyed.
// - InputPump: a thread reading a file descriptor (stdin), passing the bytes through the
//   decoder and on to a sink that may accept fewer than offered (a UART FIFO that is full);
//   the rest waits, so typed or pasted input is never dropped.  The sink can be swapped (a
//   rebooted machine has a new UART); set_sink() returns only when no call into the old sink
//   is in progress.
//
// Legend (threads): InputPump's thread calls the sink and the quit callback; sink_mutex_
// guards sink_.  The destructor stops and joins the thread.
#pragma once

#include <termios.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

namespace backends {

class EscapeDecoder {
 public:
  static constexpr std::uint8_t kEscape = 0x01;  // Ctrl-A
  enum class Command { kNone, kQuit, kHelp };
  struct Output {
    std::string forward;              // bytes for the guest
    Command command = Command::kNone;  // kQuit ends decoding of the rest of the input
  };

  Output feed(std::span<const std::uint8_t> input);
  static const char* help_text();

 private:
  bool escape_pending_ = false;
};

class RawTerminal {
 public:
  // nullptr when fd is not a terminal (nothing to do).
  static std::unique_ptr<RawTerminal> enter(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  RawTerminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_;
  termios saved_;
};

class InputPump {
 public:
  // Offered bytes; returns how many were taken (0 when the receiver is full).
  using Sink = std::function<std::size_t(std::span<const std::uint8_t>)>;

  // on_quit runs on the pump's thread when Ctrl-A x arrives.
  InputPump(int fd, std::function<void()> on_quit);
  ~InputPump();
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

  void set_sink(Sink sink);

 private:
  void loop();
  // Hands bytes to the sink, waiting while it is full; false when the pump is stopping.
  bool deliver(std::string_view bytes);

  int fd_;
  std::function<void()> on_quit_;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::mutex sink_mutex_;
  Sink sink_;
  EscapeDecoder decoder_;
  std::thread thread_;
};

}  // namespace backends
