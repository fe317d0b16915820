// /dev/kvm: the system-wide KVM handle.
#pragma once

#include <cstddef>
#include <vector>

#include "uapi/kvm-abi.h"

#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace vmm {

class Vm;

class KvmDevice {
 public:
  // Opens the device and checks KVM_GET_API_VERSION == 12.
  static VmmResult<KvmDevice> open(const char* path = "/dev/kvm");

  // KVM_CHECK_EXTENSION: 0 when absent, otherwise a positive, capability-specific value.
  VmmResult<int> check_extension(int capability) const;
  // Succeeds when check_extension(capability) > 0; name is used in the error.
  VmmStatus require_extension(int capability, const char* name) const;
  // KVM_GET_VCPU_MMAP_SIZE: bytes to mmap from each vCPU fd (kvm_run plus the PIO page, ...).
  VmmResult<std::size_t> vcpu_mmap_size() const;
  VmmResult<Vm> create_vm() const;
  // KVM_GET_SUPPORTED_CPUID: every CPUID leaf KVM can present to a guest (the starting point
  // for KVM_SET_CPUID2; without it a guest sees no PAE, no long mode, no PSE).
  VmmResult<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;

  int fd() const { return fd_.get(); }

 private:
  explicit KvmDevice(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vmm
