// kvm-run's command line, in QEMU's spelling so habits carry over:
//
//   kvm-run [-m SIZE] [-smp N] [-kernel IMAGE [-initrd FILE] [-append CMDLINE]] [-nographic]
//           [-serial stdio|none|file:PATH] [-display none] [-no-reboot] [-bios FILE]
//           [-debugcon stdio|none|file:PATH] [-boot reboot-timeout=MS] [-name NAME]
//           [-hda FILE] [-hdb FILE] | --help | --version
//
// Without -kernel the machine boots through a BIOS: -bios FILE, or kvm-run's own BIOS image.
//
// Every option may also be spelled with two dashes.  Each may be given once; anything unknown,
// repeated or contradictory is refused with a one-line reason.
//
// Exit statuses (a guest picks its own through debug-exit, (V << 1) | 1, and those are odd):
//   0    the guest powered off (ACPI S5), or reset with -no-reboot; a test image halted with
//        nothing left to wake it; Ctrl-A x; --help or --version
//   2    command-line error (one line on stderr, then the usage hint), or a test image's
//        triple fault
//   3    kvm-run or KVM error: no /dev/kvm, bad image, a vCPU exit kvm-run cannot handle
//        (the exit and the registers are printed)
//   128+N  stopped by signal N (SIGINT: 130, SIGTERM: 143)
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/result.h"

namespace cli {

inline constexpr int kStatusUsage = 2;
inline constexpr std::uint64_t kMinRamMib = 2;
inline constexpr std::uint64_t kMaxRamMib = 1ull << 20;  // 1 TiB
inline constexpr unsigned kMaxCpus = 254;                // xAPIC IDs 0-253

enum class SerialMode {
  kStdio,  // output to stdout, input from stdin (raw when it is a terminal)
  kNone,   // COM1 exists but is connected to nothing
  kFile,   // output appended to a file (created or truncated), no input
};

struct Options {
  std::uint64_t ram_mib = 128;
  unsigned cpus = 1;
  std::string kernel_path;
  std::string initrd_path;
  std::string cmdline;
  bool cmdline_given = false;
  SerialMode serial = SerialMode::kStdio;
  std::string serial_path;  // kFile
  bool nographic = false;     // accepted; there is no display anyway
  bool display_none = false;  // -display none
  bool no_reboot = false;     // a guest reset ends kvm-run (status 0) instead of rebooting
  std::string bios_path;      // -bios: the BIOS for a boot without -kernel (unused with -kernel)
  SerialMode debugcon = SerialMode::kNone;  // -debugcon: the firmware debug port 0x402
  std::string debugcon_path;                // kFile
  // -boot reboot-timeout=MS: how long the firmware waits after no disk booted before it resets
  // the machine (-1: never); absent: the firmware's default (SeaBIOS: 60 s).
  bool reboot_timeout_given = false;
  std::int32_t reboot_timeout_ms = -1;
  std::string hda_path;       // -hda: raw image, primary IDE master
  std::string hdb_path;       // -hdb: raw image, primary IDE slave
  std::string name;           // -name: shown in kvm-run's messages and as the main thread's name
  bool help = false;          // -h/--help: print usage and exit 0
  bool version = false;       // --version: print the version and exit 0
};

struct CliError {
  std::string message;  // one line, without "kvm-run: "
};

// args[0] is the program name.  -m takes MiB, optionally suffixed M or G (-m 512, -m 512M,
// -m 1G, also -m size=1G); -smp takes N or cpus=N.
vmm::Result<Options, CliError> parse_command_line(std::span<const char* const> args);

std::string usage();
std::string version();

}  // namespace cli
