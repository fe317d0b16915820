// A VM fd: memory slots and vCPU creation.
#pragma once

#include <cstddef>
#include <cstdint>

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
  // KVM_CREATE_VCPU, then maps its kvm_run page (mmap_size from KvmDevice::vcpu_mmap_size()).
  VmmResult<Vcpu> create_vcpu(int id, std::size_t mmap_size);

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace vmm
