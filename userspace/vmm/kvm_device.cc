#include "vmm/kvm_device.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <memory>

#include "uapi/kvm-abi.h"
#include "vmm/vm.h"

namespace vmm {

VmmResult<KvmDevice> KvmDevice::open(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return Error{Errc::kPermissionDenied, err, path};
    }
    if (err == ENOENT || err == ENXIO || err == ENODEV) {
      return Error{Errc::kDeviceMissing, err, path};
    }
    return Error{Errc::kSyscallFailed, err, path};
  }
  KvmDevice device{UniqueFd(fd)};
  const int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_API_VERSION"};
  }
  if (version != KVM_API_VERSION) {
    return Error{Errc::kApiVersionMismatch, 0, "KVM_GET_API_VERSION", version};
  }
  return device;
}

VmmResult<int> KvmDevice::check_extension(int capability) const {
  const int ret = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  if (ret < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_CHECK_EXTENSION", capability};
  }
  return ret;
}

VmmStatus KvmDevice::require_extension(int capability, const char* name) const {
  auto present = check_extension(capability);
  if (!present) {
    return present.error();
  }
  if (present.value() <= 0) {
    return Error{Errc::kMissingCapability, 0, name, capability};
  }
  return kOk;
}

VmmResult<std::size_t> KvmDevice::vcpu_mmap_size() const {
  const int ret = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (ret < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_VCPU_MMAP_SIZE"};
  }
  if (static_cast<std::size_t>(ret) < sizeof(kvm_run)) {
    return Error{Errc::kInvalidArgument, 0, "KVM_GET_VCPU_MMAP_SIZE (smaller than kvm_run)", ret};
  }
  return static_cast<std::size_t>(ret);
}

VmmResult<std::vector<kvm_cpuid_entry2>> KvmDevice::supported_cpuid() const {
  // The kernel says E2BIG until the buffer is large enough; start near today's ~60 leaves.
  for (std::uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
    const std::size_t bytes = sizeof(kvm_cpuid2) + capacity * sizeof(kvm_cpuid_entry2);
    auto storage = std::make_unique<std::uint64_t[]>((bytes + 7) / 8);
    auto* cpuid = reinterpret_cast<kvm_cpuid2*>(storage.get());
    cpuid->nent = capacity;
    if (::ioctl(fd_.get(), KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
      const std::uint32_t count = cpuid->nent <= capacity ? cpuid->nent : capacity;
      return std::vector<kvm_cpuid_entry2>(cpuid->entries, cpuid->entries + count);
    }
    if (errno != E2BIG) {
      return Error{Errc::kSyscallFailed, errno, "KVM_GET_SUPPORTED_CPUID"};
    }
  }
  return Error{Errc::kSyscallFailed, E2BIG, "KVM_GET_SUPPORTED_CPUID"};
}

VmmResult<Vm> KvmDevice::create_vm() const {
  // Machine type 0: the default x86 VM.
  int fd;
  do {
    fd = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_CREATE_VM"};
  }
  return Vm(UniqueFd(fd));
}

}  // namespace vmm
