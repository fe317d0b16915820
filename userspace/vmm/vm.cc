#include "vmm/vm.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>

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
