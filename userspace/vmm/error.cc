#include "vmm/error.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace vmm {

std::string describe(const Error& error) {
  const std::string op = error.operation;
  const std::string why = error.sys_errno ? std::strerror(error.sys_errno) : "no errno";
  switch (error.code) {
    case Errc::kDeviceMissing:
      return op + ": " + why +
             ": no KVM device; load the module (modprobe kvm-amd or kvm-intel, or insmod our "
             "kvm.ko) and make sure /dev is populated (devtmpfs)";
    case Errc::kPermissionDenied:
      return op + ": " + why +
             ": not permitted; run as root or add your user to the group owning /dev/kvm";
    case Errc::kApiVersionMismatch:
      return "KVM_GET_API_VERSION returned " + std::to_string(error.detail) + ", kvm-run needs 12";
    case Errc::kMissingCapability:
      return "the KVM module lacks a capability kvm-run needs: " + op + " (" +
             std::to_string(error.detail) + ")";
    case Errc::kSyscallFailed:
      return op + " failed: " + why;
    case Errc::kOutOfRange:
      return op + ": guest-physical range outside guest RAM";
    case Errc::kInvalidArgument: {
      if (error.detail == 0) {
        return op + ": invalid argument";
      }
      char detail[32];
      std::snprintf(detail, sizeof(detail), "%#llx", error.detail);
      return op + ": invalid argument (" + detail + ")";
    }
  }
  return op + ": unknown error";
}

}  // namespace vmm
