#include "machine/pc.h"

#include <cerrno>
#include <cstdio>
#include <thread>

#include "machine/cpuid.h"
#include "vmm/exit_handler.h"

namespace machine {

namespace {

PcError vmm_failure(const vmm::Error& error) {
  return {vmm::describe(error), vmm::kStatusVmmError};
}

}  // namespace

Pc::Pc(vmm::KvmDevice kvm, vmm::GuestMemory ram, vmm::Vm vm, const PcConfig& config)
    : kvm_(std::move(kvm)),
      ram_(std::move(ram)),
      vm_(std::move(vm)),
      com1_(config.serial_output),
      debug_exit_([this](std::uint32_t status) { control_.request_exit(status); }) {}

vmm::Result<std::unique_ptr<Pc>, PcError> Pc::create(const PcConfig& config) {
  auto ram = vmm::GuestMemory::allocate(0, config.ram_bytes);
  if (!ram) {
    return vmm_failure(ram.error());
  }
  auto image = read_image_file(config.kernel_path, config.ram_bytes);
  if (!image) {
    return PcError{image.error().message, vmm::kStatusVmmError};
  }
  auto loaded = load_image(image.value(), ram.value());
  if (!loaded) {
    return PcError{config.kernel_path + ": " + loaded.error().message, vmm::kStatusVmmError};
  }

  auto kvm = vmm::KvmDevice::open();
  if (!kvm) {
    return vmm_failure(kvm.error());
  }
  if (auto s = kvm->require_extension(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"); !s) {
    return vmm_failure(s.error());
  }
  auto mmap_size = kvm->vcpu_mmap_size();
  if (!mmap_size) {
    return vmm_failure(mmap_size.error());
  }
  auto vm = kvm->create_vm();
  if (!vm) {
    return vmm_failure(vm.error());
  }
  // Only Intel VMX without unrestricted guest needs the TSS; AMD accepts and ignores it.
  if (auto tss = kvm->check_extension(KVM_CAP_SET_TSS_ADDR); tss && tss.value() > 0) {
    if (auto s = vm->set_tss_addr(kTssAddr); !s) {
      return vmm_failure(s.error());
    }
  }
  if (auto s = vm->set_user_memory_region(0, 0, ram->size(), ram->host_base()); !s) {
    return vmm_failure(s.error());
  }
  auto vcpu = vm->create_vcpu(0, mmap_size.value());
  if (!vcpu) {
    return vmm_failure(vcpu.error());
  }
  // Without KVM_SET_CPUID2 the guest's CPUID is empty and KVM refuses CR4.PAE/PSE and
  // EFER.LME as reserved bits.  A module without KVM_CAP_EXT_CPUID gets a warning, no CPUID.
  if (auto ext = kvm->check_extension(KVM_CAP_EXT_CPUID); ext && ext.value() > 0) {
    auto supported = kvm->supported_cpuid();
    if (!supported) {
      return vmm_failure(supported.error());
    }
    if (auto s = vcpu->set_cpuid(guest_cpuid(supported.value(), 0)); !s) {
      return vmm_failure(s.error());
    }
  } else {
    std::fprintf(stderr, "kvm-run: warning: no KVM_CAP_EXT_CPUID; the guest sees no CPUID\n");
  }
  auto regs_reset = vcpu->get_sregs();
  if (!regs_reset) {
    return vmm_failure(regs_reset.error());
  }
  kvm_regs regs{};
  kvm_sregs sregs = regs_reset.value();
  apply_boot_state(loaded->boot, regs, sregs);
  if (auto s = vcpu->set_sregs(sregs); !s) {
    return vmm_failure(s.error());
  }
  if (auto s = vcpu->set_regs(regs); !s) {
    return vmm_failure(s.error());
  }

  std::unique_ptr<Pc> pc(
      new Pc(std::move(kvm.value()), std::move(ram.value()), std::move(vm.value()), config));
  pc->vcpus_.push_back(std::move(vcpu.value()));
  if (auto s = pc->wire_devices(); !s) {
    return s.error();
  }
  return pc;
}

vmm::Status<PcError> Pc::wire_devices() {
  struct Assignment {
    std::uint64_t base;
    std::uint64_t length;
    bus::BusDevice& device;
    const char* name;
  };
  const Assignment ports[] = {
      {kCom1Base, devices::Uart16550::kRegisterCount, com1_, "com1"},
      {kPcTestdevIoportBase, devices::PcTestdev::kIoportSize, testdev_, "pc-testdev"},
      {kDebugExitBase, devices::DebugExit::kSize, debug_exit_, "debug-exit"},
  };
  for (const auto& a : ports) {
    if (auto s = ports_.add(a.base, a.length, a.device, a.name); !s) {
      return PcError{std::string("cannot place ") + a.name + ": " + bus::describe(s.error()),
                     vmm::kStatusVmmError};
    }
  }
  if (auto s = mmio_.add(kPcTestdevIomemBase, devices::PcTestdevIomem::kSize, testdev_iomem_,
                         "pc-testdev-iomem");
      !s) {
    return PcError{std::string("cannot place pc-testdev-iomem: ") + bus::describe(s.error()),
                   vmm::kStatusVmmError};
  }
  return vmm::kOk;
}

std::uint32_t Pc::run() {
  std::vector<std::uint32_t> statuses(vcpus_.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < vcpus_.size(); ++i) {
    threads.emplace_back([this, i, &statuses] { statuses[i] = vcpu_loop(vcpus_[i]); });
  }
  for (auto& t : threads) {
    t.join();
  }
  // A guest-requested exit wins over whatever the other vCPUs were doing.
  if (control_.exit_requested()) {
    return control_.exit_status();
  }
  return statuses.empty() ? vmm::kStatusVmmError : statuses[0];
}

std::uint32_t Pc::vcpu_loop(vmm::Vcpu& vcpu) {
  const vmm::ExitContext context{ports_, mmio_, control_, vcpu.run_size(), vcpu.id()};
  for (;;) {
    if (control_.exit_requested()) {
      return control_.exit_status();
    }
    if (auto s = vcpu.run(); !s) {
      const int err = s.error().sys_errno;
      if (err == EINTR || err == EAGAIN) {
        continue;
      }
      report_vcpu_error(vcpu, vmm::describe(s.error()));
      control_.request_exit(vmm::kStatusVmmError);
      return vmm::kStatusVmmError;
    }
    vmm::ExitResult result = vmm::handle_exit(*vcpu.run_page(), context);
    switch (result.stop) {
      case vmm::VcpuStop::kNone:
        continue;
      case vmm::VcpuStop::kGuestExit:
        return result.status;
      case vmm::VcpuStop::kHalted:
      case vmm::VcpuStop::kShutdown:
        std::fprintf(stderr, "kvm-run: %s\n", result.message.c_str());
        control_.request_exit(result.status);
        return result.status;
      case vmm::VcpuStop::kError:
        report_vcpu_error(vcpu, result.message);
        control_.request_exit(result.status);
        return result.status;
    }
  }
}

void Pc::report_vcpu_error(vmm::Vcpu& vcpu, const std::string& message) {
  std::fprintf(stderr, "kvm-run: vCPU %d: %s\n", vcpu.id(), message.c_str());
  auto regs = vcpu.get_regs();
  auto sregs = vcpu.get_sregs();
  if (regs && sregs) {
    std::fprintf(stderr, "kvm-run: registers of vCPU %d:\n%s", vcpu.id(),
                 vmm::format_registers(regs.value(), sregs.value()).c_str());
  }
}

}  // namespace machine
