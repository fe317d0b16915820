// kvm-run's command line, QEMU-style: kvm-run [-m MB] -kernel IMAGE [-nographic]
//
// Exit statuses kvm-run itself uses (a guest picks its own through debug-exit, (V << 1) | 1,
// and those are odd, so only 0 and 2 can be confused with a guest's choice):
//   0  help printed, or the guest halted with nothing left to wake it
//   2  command-line error (one line on stderr, then the usage hint), or guest triple fault
//   3  kvm-run or KVM error: no /dev/kvm, bad image, an exit kvm-run cannot handle
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/result.h"

namespace cli {

inline constexpr int kStatusUsage = 2;
inline constexpr std::uint64_t kMinRamMib = 2;
// Below the 3 GiB mark, where a PCI hole will go; RAM is one slot at 0 for now.
inline constexpr std::uint64_t kMaxRamMib = 3072;

struct Options {
  std::uint64_t ram_mib = 128;
  std::string kernel_path;
  bool nographic = false;  // accepted for QEMU compatibility; there is no display yet
  bool help = false;       // -h/--help: print usage and exit 0
};

struct CliError {
  std::string message;  // one line, without "kvm-run: "
};

// args[0] is the program name.  Options may also be spelled with two dashes (--kernel), as
// QEMU allows.  -m takes MiB, optionally suffixed M or G (-m 512, -m 512M, -m 1G).
vmm::Result<Options, CliError> parse_command_line(std::span<const char* const> args);

std::string usage();

}  // namespace cli
