// kvm-run: a PC-style virtual machine monitor on /dev/kvm.
//
// main() wires the command line to the machine and owns what outlives one machine: the
// terminal, the console input thread, signal handling and the reboot loop (a guest reset
// builds a fresh machine from the same options unless -no-reboot).
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "backends/console.h"
#include "cli.h"
#include "machine/pc.h"

namespace {

// What the signal thread and the console's Ctrl-A x reach: the machine running now, if any.
// Legend (locking): mutex_ guards all fields; it is never taken by a vCPU thread.
class Session {
 public:
  void attach(machine::Pc* machine) {
    std::lock_guard lock(mutex_);
    machine_ = machine;
    control_ = &machine->control();
    if (quit_ && control_) {
      control_->request_exit(quit_status_);
    }
  }
  void detach() {
    std::lock_guard lock(mutex_);
    machine_ = nullptr;
    control_ = nullptr;
  }
  void dump_registers() {
    std::lock_guard lock(mutex_);
    if (machine_) {
      machine_->request_register_dump();
    }
  }
  void quit(std::uint32_t status) {
    std::lock_guard lock(mutex_);
    if (!quit_) {
      quit_ = true;
      quit_status_ = status;
    }
    if (control_) {
      control_->request_exit(quit_status_);
    }
  }
  bool quitting(std::uint32_t* status) {
    std::lock_guard lock(mutex_);
    *status = quit_status_;
    return quit_;
  }

 private:
  std::mutex mutex_;
  machine::Pc* machine_ = nullptr;
  vmm::MachineControl* control_ = nullptr;
  bool quit_ = false;
  std::uint32_t quit_status_ = 0;
};

void write_all(int fd, std::uint8_t byte) {
  while (::write(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

// A closed stdin/stdout/stderr would let /dev/kvm or a file take fd 0-2.
void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null >= 0 && null != fd) {
        ::dup2(null, fd);
        ::close(null);
      }
    }
  }
}

// Where kvm-run looks for its own BIOS (bios/, built by make): next to the binary (the build
// tree: build/kvm-run and build/bios/bios.bin), then an installed copy.
std::vector<std::string> default_bios_candidates() {
  std::vector<std::string> paths;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/') + 1);
    paths.push_back(dir + "bios/bios.bin");
    paths.push_back(dir + "../share/kvm-run/bios.bin");
  }
  paths.push_back("/usr/share/kvm-run/bios.bin");
  return paths;
}

std::string default_bios_path() {
  for (const auto& path : default_bios_candidates()) {
    if (::access(path.c_str(), R_OK) == 0) {
      return path;
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  ensure_standard_fds();
  auto options = cli::parse_command_line(std::span<const char* const>(argv, argc));
  if (!options) {
    std::fprintf(stderr, "kvm-run: %s (see kvm-run --help)\n", options.error().message.c_str());
    return cli::kStatusUsage;
  }
  if (options->help) {
    std::fputs(cli::usage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::fputs(cli::version().c_str(), stdout);
    return 0;
  }
  const std::string who = options->name.empty() ? "kvm-run" : "kvm-run (" + options->name + ")";
  if (!options->name.empty()) {
    pthread_setname_np(pthread_self(), options->name.substr(0, 15).c_str());
  }
  std::string bios_path = options->bios_path;
  if (!options->kernel_path.empty() && !bios_path.empty()) {
    std::fprintf(stderr, "%s: note: -bios %s is not used: -kernel boots without firmware\n",
                 who.c_str(), bios_path.c_str());
  }
  if (options->kernel_path.empty() && bios_path.empty()) {
    bios_path = default_bios_path();
    if (bios_path.empty()) {
      std::fprintf(stderr,
                   "%s: no -kernel, and kvm-run's BIOS is not built (%s); give -bios FILE, "
                   "e.g. -bios /usr/share/seabios/bios.bin\n",
                   who.c_str(), default_bios_candidates().front().c_str());
      return cli::kStatusUsage;
    }
  }

  // SIGINT/SIGTERM/SIGHUP (stop) and SIGUSR2 (print every vCPU's registers on stderr, and go
  // on) are taken by one thread with sigwait(); every other thread (the vCPU threads too)
  // inherits them blocked.  SIGPIPE: a closed stdout must not kill us mid-run.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigaddset(&stop_signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto* session = new Session;  // never freed: the detached signal thread may use it to the end
  std::thread([session, stop_signals] {
    for (;;) {
      int sig = 0;
      if (sigwait(&stop_signals, &sig) != 0) {
        continue;
      }
      if (sig == SIGUSR2) {
        session->dump_registers();
      } else {
        session->quit(128 + static_cast<std::uint32_t>(sig));
      }
    }
  }).detach();

  machine::PcConfig config;
  config.ram_bytes = options->ram_mib << 20;
  config.cpus = options->cpus;
  config.kernel_path = options->kernel_path;
  config.bios_path = bios_path;
  if (options->reboot_timeout_given) {
    config.reboot_timeout_ms = options->reboot_timeout_ms;
  }
  config.initrd_path = options->initrd_path;
  config.cmdline = options->cmdline;
  config.cmdline_given = options->cmdline_given;
  config.hda_path = options->hda_path;
  config.hdb_path = options->hdb_path;
  config.message_prefix = who;

  int serial_fd = -1;
  switch (options->serial) {
    case cli::SerialMode::kStdio:
      serial_fd = STDOUT_FILENO;
      break;
    case cli::SerialMode::kFile:
      serial_fd = ::open(options->serial_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                         0644);
      if (serial_fd < 0) {
        std::fprintf(stderr, "%s: -serial file:%s: %s\n", who.c_str(),
                     options->serial_path.c_str(), std::strerror(errno));
        return 3;
      }
      break;
    case cli::SerialMode::kNone:
      break;
  }
  if (serial_fd >= 0) {
    config.serial_output = [serial_fd](std::uint8_t byte) { write_all(serial_fd, byte); };
  }
  int debugcon_fd = -1;
  switch (options->debugcon) {
    case cli::SerialMode::kStdio:
      debugcon_fd = STDOUT_FILENO;
      break;
    case cli::SerialMode::kFile:
      debugcon_fd = ::open(options->debugcon_path.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (debugcon_fd < 0) {
        std::fprintf(stderr, "%s: -debugcon file:%s: %s\n", who.c_str(),
                     options->debugcon_path.c_str(), std::strerror(errno));
        return 3;
      }
      break;
    case cli::SerialMode::kNone:
      break;
  }
  if (debugcon_fd >= 0) {
    config.debugcon_output = [debugcon_fd](std::uint8_t byte) { write_all(debugcon_fd, byte); };
  }

  // The console: only -serial stdio reads input; the terminal is raw while the guest runs.
  std::unique_ptr<backends::RawTerminal> terminal;
  std::unique_ptr<backends::InputPump> input;
  if (options->serial == cli::SerialMode::kStdio) {
    terminal = backends::RawTerminal::enter(STDIN_FILENO);
    input = std::make_unique<backends::InputPump>(STDIN_FILENO, [session] { session->quit(0); });
  }

  int status = 0;
  for (;;) {
    auto pc = machine::Pc::create(config);
    if (!pc) {
      std::fprintf(stderr, "%s: %s\n", who.c_str(), pc.error().message.c_str());
      status = static_cast<int>(pc.error().status);
      break;
    }
    machine::Pc& machine = *pc.value();
    session->attach(&machine);
    if (input) {
      input->set_sink([&machine](std::span<const std::uint8_t> bytes) {
        std::size_t n = std::min(bytes.size(), machine.com1().receive_space());
        for (std::size_t i = 0; i < n; ++i) {
          machine.com1().receive(bytes[i]);
        }
        return n;
      });
    }
    const machine::RunOutcome outcome = machine.run();
    if (input) {
      input->set_sink(nullptr);
    }
    session->detach();
    pc.value().reset();

    std::uint32_t quit_status = 0;
    if (session->quitting(&quit_status)) {
      status = static_cast<int>(quit_status);
      break;
    }
    if (outcome.kind == vmm::StopKind::kReset) {
      if (options->no_reboot) {
        status = 0;
        break;
      }
      continue;  // reboot: a fresh machine from the same options
    }
    status = static_cast<int>(outcome.status & 0xff);
    break;
  }
  input.reset();
  terminal.reset();
  if (serial_fd > STDERR_FILENO) {
    ::close(serial_fd);
  }
  if (debugcon_fd > STDERR_FILENO) {
    ::close(debugcon_fd);
  }
  return status;
}
