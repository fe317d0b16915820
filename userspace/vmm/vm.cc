#include "vmm/vm.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "uapi/kvm-abi.h"
#include "vmm/vcpu.h"

namespace vmm {

VmmStatus Vm::set_user_memory_region(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                     void* host, std::uint32_t flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
  if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_USER_MEMORY_REGION"};
  }
  return kOk;
}

VmmStatus Vm::set_tss_addr(std::uint64_t gpa) {
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa)) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_TSS_ADDR"};
  }
  return kOk;
}

VmmStatus Vm::create_irqchip() {
  if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_CREATE_IRQCHIP"};
  }
  return kOk;
}

VmmStatus Vm::create_pit2(std::uint32_t flags) {
  kvm_pit_config config{};
  config.flags = flags;
  if (::ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_CREATE_PIT2"};
  }
  return kOk;
}

VmmStatus Vm::set_gsi_routing(std::span<const kvm_irq_routing_entry> entries) {
  const std::size_t bytes = sizeof(kvm_irq_routing) + entries.size() * sizeof(kvm_irq_routing_entry);
  auto storage = std::make_unique<std::uint64_t[]>((bytes + 7) / 8);
  auto* routing = reinterpret_cast<kvm_irq_routing*>(storage.get());
  routing->nr = static_cast<__u32>(entries.size());
  routing->flags = 0;
  if (!entries.empty()) {
    std::memcpy(routing->entries, entries.data(), entries.size() * sizeof(kvm_irq_routing_entry));
  }
  if (::ioctl(fd_.get(), KVM_SET_GSI_ROUTING, routing) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_GSI_ROUTING"};
  }
  return kOk;
}

VmmStatus Vm::irq_line(std::uint32_t gsi, bool level) {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (::ioctl(fd_.get(), KVM_IRQ_LINE, &irq) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_IRQ_LINE", gsi};
  }
  return kOk;
}

VmmResult<Vcpu> Vm::create_vcpu(int id, std::size_t mmap_size) {
  const int fd = ::ioctl(fd_.get(), KVM_CREATE_VCPU, id);
  if (fd < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_CREATE_VCPU"};
  }
  UniqueFd vcpu_fd(fd);
  void* run = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    return Error{Errc::kSyscallFailed, errno, "mmap of the vCPU's kvm_run"};
  }
  return Vcpu(id, std::move(vcpu_fd), Mapping(run, mmap_size));
}

}  // namespace vmm
