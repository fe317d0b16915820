// Heavyweight exits: what kvm-run does when KVM_RUN returns.
//
// handle_exit() is a plain function over the kvm_run page and the machine's buses, with no
// ioctl of its own, so tests drive it with fabricated kvm_run structs and no /dev/kvm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bus/bus.h"
#include "uapi/kvm-abi.h"
#include "vmm/machine_control.h"

namespace vmm {

// Process exit statuses kvm-run itself chooses (guests choose theirs through debug-exit).
inline constexpr std::uint32_t kStatusHalted = 0;
inline constexpr std::uint32_t kStatusPoweredOff = 0;
inline constexpr std::uint32_t kStatusTripleFault = 2;
inline constexpr std::uint32_t kStatusVmmError = 3;

enum class VcpuStop {
  kNone,       // re-enter the guest
  kGuestExit,  // something asked the machine to exit (debug-exit, power-off, a signal); status
  kReset,      // something asked the machine to reset (i8042, reset register, KVM system event)
  kHalted,     // HLT that nothing can ever end
  kShutdown,   // triple fault (the machine decides: reset, or exit with kStatusTripleFault)
  kError,      // an exit kvm-run cannot handle; the caller adds the register dump
};

struct ExitResult {
  VcpuStop stop = VcpuStop::kNone;
  std::uint32_t status = 0;  // process exit status when stop != kNone
  std::string message;       // one line for stderr (without "kvm-run: "); empty for kNone
};

struct ExitContext {
  bus::Bus& ports;
  bus::Bus& mmio;
  MachineControl& control;
  std::size_t run_size;  // bytes mapped at the kvm_run pointer (bounds for io.data_offset)
  int vcpu_id;
};

ExitResult handle_exit(kvm_run& run, const ExitContext& context);

// "KVM_EXIT_IO" for 2, "exit reason 99" for numbers without a name.
std::string exit_reason_name(std::uint32_t reason);

}  // namespace vmm
