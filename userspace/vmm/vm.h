// A VM fd: memory slots and vCPU creation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "uapi/kvm-abi.h"

#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace vmm {

class Vcpu;

class Vm {
 public:
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}

  // KVM_SET_USER_MEMORY_REGION: maps [host, host+size) at guest-physical gpa in slot.
  VmmStatus set_user_memory_region(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                   void* host, std::uint32_t flags = 0);
  // KVM_SET_TSS_ADDR: three pages Intel VMX needs for real mode without unrestricted guest.
  VmmStatus set_tss_addr(std::uint64_t gpa);
  // KVM_CREATE_IRQCHIP: the in-kernel PIC pair, IOAPIC and a local APIC per vCPU.  Must come
  // before any vCPU is created.
  VmmStatus create_irqchip();
  // KVM_CREATE_PIT2: the in-kernel i8254 at ports 0x40-0x43 (after create_irqchip()).
  VmmStatus create_pit2(std::uint32_t flags);
  // KVM_SET_GSI_ROUTING: replaces the whole GSI -> irqchip pin table.
  VmmStatus set_gsi_routing(std::span<const kvm_irq_routing_entry> entries);
  // KVM_IRQ_LINE: drives GSI gsi to level (edge-triggered inputs see the 0 -> 1 transition).
  // Callable from any thread.
  VmmStatus irq_line(std::uint32_t gsi, bool level);
  // KVM_CREATE_VCPU, then maps its kvm_run page (mmap_size from KvmDevice::vcpu_mmap_size()).
  VmmResult<Vcpu> create_vcpu(int id, std::size_t mmap_size);

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace vmm
