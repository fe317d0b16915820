// The PC kvm-run builds: RAM below the 32-bit PCI hole and above 4 GiB, the in-kernel
// interrupt controllers and PIT (for Linux guests, when KVM offers them), COM1, the i8042,
// CMOS/RTC, port 0x80, fw_cfg, ACPI power management and the reset register, QEMU's two
// test devices (debug-exit, pc-testdev with its MMIO scratch area and IRQ-line ports), and PCI
// bus 0 with the i440FX host bridge (00.0), the PIIX3 ISA bridge (01.0) and the PIIX3 IDE
// controller (01.1) with the -hda/-hdb disks on its primary channel; one thread per vCPU.
//
// A -kernel boot has no firmware, so the machine leaves PCI as a BIOS would
// (program_pci_like_firmware): PIRQ routes, interrupt line registers, BARs, decode enables.
//
// Every fixed address, port and IRQ comes from machine/layout.h; this file and pc.cc only wire
// them.  What the guest gets depends on the image:
// - a Linux bzImage: ACPI tables, boot_params with the E820 map, the 64-bit entry point; the
//   in-kernel irqchip (PIC, IOAPIC, local APICs) and PIT are required, the APs wait for SIPI;
//   a triple fault resets the machine, as on a PC.
// - no -kernel: the BIOS (-bios FILE) in ROM below 4 GiB and, through the PAM registers, at
//   0xE0000-0xFFFFF; vCPU 0 starts at the reset vector, the APs wait for SIPI; fw_cfg gives the
//   firmware the E820 map, CPU count and ACPI tables (linker/loader) as QEMU does; the
//   in-kernel irqchip and PIT are required; a triple fault resets.
// - a multiboot or flat test image: no in-kernel irqchip unless -smp is above 1, so that HLT
//   with nothing to wake it reaches kvm-run and ends the run (the payload contract), and a
//   triple fault ends the run with status 2.
//
// Legend (threads): create() runs on the main thread and builds everything; run() starts one
// thread per vCPU and returns when all have stopped.  control() and com1() may be used from
// any thread while run() runs (the console's input thread, the signal thread).
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/pci.h"
#include "devices/acpi/pm.h"
#include "devices/isa/cmos_rtc.h"
#include "devices/isa/debug_exit.h"
#include "devices/isa/debugcon.h"
#include "devices/isa/fw_cfg.h"
#include "devices/isa/i8042.h"
#include "devices/isa/pc_testdev.h"
#include "devices/isa/post_code.h"
#include "devices/isa/reset_control.h"
#include "devices/isa/uart16550.h"
#include "devices/pci/i440fx.h"
#include "devices/pci/piix3.h"
#include "devices/pci/piix_ide.h"
#include "machine/acpi.h"
#include "machine/firmware.h"
#include "machine/layout.h"
#include "machine/loader.h"
#include "machine/memory_map.h"
#include "vmm/exit_handler.h"
#include "vmm/guest_memory.h"
#include "vmm/kvm_device.h"
#include "vmm/machine_control.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

namespace machine {

inline constexpr unsigned kMaxCpus = 254;  // xAPIC IDs 0-253 (255 is broadcast)

// The firmware's description of the machine and KVM's wiring of it, which must agree (a test
// checks): the ACPI tables' configuration for cpus vCPUs, and the GSI routing table.  KVM GSI n
// is ISA IRQ n on the PICs (except the cascade, 2) and on IOAPIC pin n, except IRQ 0, whose
// IOAPIC pin is 2 as the MADT's override says; GSIs 16-23 reach the IOAPIC only.
// ram_below_4g places the PCI memory window (from the end of low RAM to the IOAPIC).
AcpiConfig pc_acpi_config(unsigned cpus, std::uint64_t ram_below_4g = layout::kPciHoleStart);
std::vector<kvm_irq_routing_entry> pc_gsi_routes();

struct PcConfig {
  std::uint64_t ram_bytes = 128ull << 20;
  unsigned cpus = 1;
  std::string kernel_path;  // empty: boot through firmware (bios_path)
  std::string bios_path;    // the BIOS image for a firmware boot
  std::optional<std::int32_t> reboot_timeout_ms;  // fw_cfg etc/boot-fail-wait, when given
  std::string initrd_path;  // empty: none
  std::string cmdline;
  bool cmdline_given = false;  // -append was used (even with an empty string)
  // Raw disk images for the primary IDE channel's master (-hda) and slave (-hdb); empty: none.
  std::string hda_path;
  std::string hdb_path;
  // Where COM1's output goes; empty: nowhere (-serial none).
  std::function<void(std::uint8_t)> serial_output;
  // Where the firmware debug port (0x402) output goes; empty: no such port (-debugcon).
  std::function<void(std::uint8_t)> debugcon_output;
  // Starts every message on stderr ("kvm-run", or "kvm-run (NAME)" with -name).
  std::string message_prefix = "kvm-run";
};

// What a firmware boot puts in fw_cfg, by QEMU's names and formats: etc/e820, the ACPI tables
// with etc/table-loader, etc/boot-cpus, etc/sercon-port and, with -boot reboot-timeout,
// etc/boot-fail-wait.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> firmware_fw_cfg_files(
    const PcConfig& config, const RamLayout& layout_of_ram);

struct PcError {
  std::string message;   // one line for stderr, without "kvm-run: "
  std::uint32_t status;  // process exit status to use
};

// How a run ended.
struct RunOutcome {
  vmm::StopKind kind = vmm::StopKind::kExit;  // kExit or kReset
  std::uint32_t status = 0;                   // process exit status (for kExit)
};

class Pc {
 public:
  // Loads the images, opens /dev/kvm, builds the VM.  Image problems are reported before any
  // /dev/kvm problem, so images can be checked on hosts without KVM.
  static vmm::Result<std::unique_ptr<Pc>, PcError> create(const PcConfig& config);
  ~Pc();

  // Runs the guest until it stops.  Messages go to stderr.
  RunOutcome run();

  vmm::MachineControl& control() { return control_; }
  // Any thread: every vCPU thread prints its registers on stderr at its next exit (kicked out
  // of KVM_RUN for it, then the guest goes on).  What SIGUSR2 does: where is a hung guest?
  void request_register_dump();
  devices::Uart16550& com1() { return com1_; }
  ImageKind image_kind() const { return image_kind_; }
  bool has_irqchip() const { return irqchip_; }
  pci::PciRoot& pci_root() { return pci_root_; }
  devices::I440fx& host_bridge() { return i440fx_; }

 private:
  using DiskImages = std::array<std::unique_ptr<backends::RawImage>, 2>;
  Pc(vmm::KvmDevice kvm, vmm::GuestMemory ram, vmm::Mapping rom, vmm::Vm vm,
     const PcConfig& config, ImageKind kind, bool irqchip, DiskImages disks);
  vmm::Status<PcError> wire_firmware(const PcConfig& config, const RamLayout& layout_of_ram);
  vmm::Status<PcError> create_vcpus(unsigned cpus, std::size_t mmap_size,
                                    std::span<const kvm_cpuid_entry2> supported,
                                    bool tsc_deadline, const BootState& boot);
  vmm::Status<PcError> wire_devices();
  vmm::Status<PcError> wire_pci();
  void program_pci_like_firmware();
  void vcpu_thread(std::size_t index);
  void vcpu_loop(vmm::Vcpu& vcpu);
  void report_vcpu_error(vmm::Vcpu& vcpu, const std::string& message);
  void kick_vcpus();
  void set_irq(std::uint32_t gsi, bool level);

  // Declaration order is teardown order reversed: vCPUs close before the VM, the VM before
  // guest RAM is unmapped.
  vmm::KvmDevice kvm_;
  vmm::GuestMemory ram_;
  vmm::Mapping rom_;  // the BIOS image (firmware boot only), mapped by KVM slots
  vmm::Vm vm_;
  std::vector<vmm::Vcpu> vcpus_;
  ImageKind image_kind_;
  bool irqchip_;
  std::string prefix_;
  vmm::MachineControl control_;
  bus::Bus ports_{0x10000};
  bus::Bus mmio_{~0ull};
  std::atomic<std::uint64_t> irq_errors_{0};
  std::atomic<std::uint64_t> dump_requests_{0};  // bit i: vCPU i is to print its registers

  devices::Uart16550 com1_;
  devices::PcTestdev testdev_;
  devices::PcTestdevIrqLines testdev_irq_lines_;
  devices::PcTestdevIomem testdev_iomem_;
  devices::DebugExit debug_exit_;
  devices::I8042 i8042_;
  devices::CmosRtc cmos_;
  devices::PostCode post_code_;
  devices::FwCfg fw_cfg_;
  devices::AcpiPm acpi_pm_;
  devices::ResetControl reset_control_;

  // PCI bus 0.  The functions are declared after the root, so they are destroyed first and
  // take their BARs off the buses while those still exist.
  pci::PciRoot pci_root_{ports_, mmio_};
  devices::I440fx i440fx_;
  devices::Piix3 piix3_;
  devices::PiixIde piix_ide_;  // owns the disk images (their I/O threads stop with it)

  // Firmware boot only (null otherwise).
  RomLayout rom_layout_;
  std::unique_ptr<PamMemory> pam_;
  std::unique_ptr<RomWindow> rom_window_;
  std::unique_ptr<devices::DebugCon> debugcon_;

  // vCPU threads.  threads_mutex_ guards threads_ and threads_joined_ (kick_vcpus() reads
  // them from any thread); running_ counts threads still in their loop.
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
  bool threads_joined_ = false;
  std::mutex running_mutex_;
  std::condition_variable running_cv_;
  std::size_t running_ = 0;
};

}  // namespace machine
