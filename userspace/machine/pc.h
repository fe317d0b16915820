// The PC this slice of kvm-run builds: RAM at guest-physical 0, COM1, and the two test devices
// (debug-exit, pc-testdev), one vCPU started from a multiboot or flat image.
//
// Fixed resources (assigned here and nowhere else):
//   RAM        0x0 .. ram_bytes      one memory slot
//   COM1       ports 0x3f8-0x3ff     16550 UART, output to the serial sink
//   pc-testdev ports 0xe0-0xe3       I/O scratch register
//   pc-testdev 0xff000000 (64 KiB)   MMIO scratch area (iomem)
//   debug-exit ports 0xf4-0xf7       exit status (V << 1) | 1
//   TSS        0xfffbd000 (3 pages)  KVM_SET_TSS_ADDR, for Intel VMX real mode (when supported)
// Not there yet: interrupt controllers, timers, firmware, PCI.
//
// Legend (threads): create() runs on the main thread; run() starts one thread per vCPU (one
// for now) and waits for all of them.  Devices and buses are built before the threads start.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "devices/isa/debug_exit.h"
#include "devices/isa/pc_testdev.h"
#include "devices/isa/uart16550.h"
#include "machine/loader.h"
#include "vmm/guest_memory.h"
#include "vmm/kvm_device.h"
#include "vmm/machine_control.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

namespace machine {

inline constexpr std::uint64_t kCom1Base = 0x3f8;
inline constexpr std::uint64_t kPcTestdevIoportBase = 0xe0;
inline constexpr std::uint64_t kPcTestdevIomemBase = 0xff000000;
inline constexpr std::uint64_t kDebugExitBase = 0xf4;
inline constexpr std::uint64_t kTssAddr = 0xfffbd000;

struct PcConfig {
  std::uint64_t ram_bytes = 128ull << 20;
  std::string kernel_path;
  std::function<void(std::uint8_t)> serial_output;
};

struct PcError {
  std::string message;   // one line for stderr, without "kvm-run: "
  std::uint32_t status;  // process exit status to use
};

class Pc {
 public:
  // Loads the image, opens /dev/kvm, builds the VM.  Image problems are reported before any
  // /dev/kvm problem, so images can be checked on hosts without KVM.
  static vmm::Result<std::unique_ptr<Pc>, PcError> create(const PcConfig& config);

  // Runs the guest until it stops; returns the process exit status.  Messages go to stderr.
  std::uint32_t run();

 private:
  Pc(vmm::KvmDevice kvm, vmm::GuestMemory ram, vmm::Vm vm, const PcConfig& config);
  vmm::Status<PcError> wire_devices();
  std::uint32_t vcpu_loop(vmm::Vcpu& vcpu);
  void report_vcpu_error(vmm::Vcpu& vcpu, const std::string& message);

  // Declaration order is teardown order reversed: vCPUs close before the VM, the VM before
  // guest RAM is unmapped.
  vmm::KvmDevice kvm_;
  vmm::GuestMemory ram_;
  vmm::Vm vm_;
  std::vector<vmm::Vcpu> vcpus_;
  vmm::MachineControl control_;
  bus::Bus ports_{0x10000};
  bus::Bus mmio_{~0ull};
  devices::Uart16550 com1_;
  devices::PcTestdev testdev_;
  devices::PcTestdevIomem testdev_iomem_;
  devices::DebugExit debug_exit_;
};

}  // namespace machine
