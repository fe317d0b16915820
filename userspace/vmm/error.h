// Errors of the /dev/kvm wrappers (KvmDevice, Vm, Vcpu, GuestMemory).
#pragma once

#include <string>

#include "vmm/result.h"

namespace vmm {

enum class Errc {
  kDeviceMissing,       // /dev/kvm absent, or present without a driver behind it
  kPermissionDenied,    // /dev/kvm exists but may not be opened by this user
  kApiVersionMismatch,  // KVM_GET_API_VERSION did not return 12
  kMissingCapability,   // a capability kvm-run needs is not advertised
  kSyscallFailed,       // an ioctl/mmap/open failed; sys_errno says why
  kOutOfRange,          // a guest-physical range outside guest RAM
  kInvalidArgument,     // a caller passed something meaningless (zero size, ...)
};

struct Error {
  Errc code;
  int sys_errno = 0;           // errno of the failing call, 0 if none
  const char* operation = "";  // static string naming the call, e.g. "KVM_CREATE_VM"
  long long detail = 0;        // code-specific number (the API version seen, the capability,
                               // the MSR KVM refused, ...)
};

// One line for a human, without a "kvm-run:" prefix.
std::string describe(const Error& error);

template <typename T>
using VmmResult = Result<T, Error>;
using VmmStatus = Status<Error>;

}  // namespace vmm
