#include "backends/console.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace backends {

EscapeDecoder::Output EscapeDecoder::feed(std::span<const std::uint8_t> input) {
  Output out;
  for (std::uint8_t byte : input) {
    if (!escape_pending_) {
      if (byte == kEscape) {
        escape_pending_ = true;
      } else {
        out.forward.push_back(static_cast<char>(byte));
      }
      continue;
    }
    escape_pending_ = false;
    switch (byte) {
      case 'x':
      case 'X':
        out.command = Command::kQuit;
        return out;
      case 'h':
      case 'H':
      case '?':
        out.command = Command::kHelp;
        break;
      case kEscape:
      case 'a':
        out.forward.push_back(static_cast<char>(kEscape));
        break;
      default:
        break;  // unknown escape: dropped, as QEMU does
    }
  }
  return out;
}

const char* EscapeDecoder::help_text() {
  return "\r\nC-a h    print this help\r\n"
         "C-a x    exit kvm-run\r\n"
         "C-a C-a  send C-a to the guest\r\n";
}

std::unique_ptr<RawTerminal> RawTerminal::enter(int fd) {
  termios saved{};
  if (!::isatty(fd) || ::tcgetattr(fd, &saved) != 0) {
    return nullptr;
  }
  termios raw = saved;
  ::cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    return nullptr;
  }
  return std::unique_ptr<RawTerminal>(new RawTerminal(fd, saved));
}

RawTerminal::~RawTerminal() {
  ::tcsetattr(fd_, TCSANOW, &saved_);
}

InputPump::InputPump(int fd, std::function<void()> on_quit)
    : fd_(fd), on_quit_(std::move(on_quit)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_pipe_[0] = wake_pipe_[1] = -1;
  }
  thread_ = std::thread([this] { loop(); });
}

InputPump::~InputPump() {
  stopping_.store(true);
  if (wake_pipe_[1] >= 0) {
    const char byte = 0;
    (void)!::write(wake_pipe_[1], &byte, 1);
  }
  thread_.join();
  for (int fd : wake_pipe_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void InputPump::set_sink(Sink sink) {
  std::lock_guard lock(sink_mutex_);
  sink_ = std::move(sink);
}

bool InputPump::deliver(std::string_view bytes) {
  while (!bytes.empty()) {
    if (stopping_.load()) {
      return false;
    }
    std::size_t taken = 0;
    {
      std::lock_guard lock(sink_mutex_);
      if (sink_) {
        taken = sink_(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                bytes.size()));
      }
    }
    bytes.remove_prefix(taken);
    if (taken == 0) {
      // The guest has not drained its FIFO (or no machine is attached): wait a little.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return true;
}

void InputPump::loop() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  const nfds_t count = wake_pipe_[0] >= 0 ? 2 : 1;
  while (!stopping_.load()) {
    const int ready = ::poll(fds, count, count == 2 ? -1 : 100);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (count == 2 && (fds[1].revents & POLLIN)) {
      return;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      continue;
    }
    std::uint8_t buf[256];
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      return;  // end of input: the guest simply gets no more
    }
    auto out = decoder_.feed(std::span(buf, static_cast<std::size_t>(n)));
    if (!deliver(out.forward)) {
      return;
    }
    if (out.command == EscapeDecoder::Command::kHelp) {
      const char* help = EscapeDecoder::help_text();
      (void)!::write(STDERR_FILENO, help, std::char_traits<char>::length(help));
    } else if (out.command == EscapeDecoder::Command::kQuit) {
      if (on_quit_) {
        on_quit_();
      }
      return;
    }
  }
}

}  // namespace backends
