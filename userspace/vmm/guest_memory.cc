#include "vmm/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace vmm {

VmmResult<GuestMemory> GuestMemory::allocate(std::uint64_t base, std::uint64_t size) {
  if (size == 0 || base + size < base) {
    return Error{Errc::kInvalidArgument, 0, "guest RAM size"};
  }
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED) {
    return Error{Errc::kSyscallFailed, errno, "mmap of guest RAM"};
  }
  return GuestMemory(base, Mapping(addr, size));
}

bool GuestMemory::contains(std::uint64_t gpa, std::uint64_t length) const {
  if (gpa < base_) {
    return false;
  }
  const std::uint64_t offset = gpa - base_;
  return offset <= size() && length <= size() - offset;
}

std::uint8_t* GuestMemory::host_pointer(std::uint64_t gpa, std::uint64_t length) const {
  if (!contains(gpa, length)) {
    return nullptr;
  }
  return static_cast<std::uint8_t*>(mapping_.get()) + (gpa - base_);
}

VmmStatus GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) {
  std::uint8_t* dst = host_pointer(gpa, bytes.size());
  if (dst == nullptr) {
    return Error{Errc::kOutOfRange, 0, "guest memory write", static_cast<long long>(gpa)};
  }
  if (!bytes.empty()) {
    std::memcpy(dst, bytes.data(), bytes.size());
  }
  return kOk;
}

VmmStatus GuestMemory::read(std::uint64_t gpa, std::span<std::uint8_t> bytes) const {
  const std::uint8_t* src = host_pointer(gpa, bytes.size());
  if (src == nullptr) {
    return Error{Errc::kOutOfRange, 0, "guest memory read", static_cast<long long>(gpa)};
  }
  if (!bytes.empty()) {
    std::memcpy(bytes.data(), src, bytes.size());
  }
  return kOk;
}

VmmStatus GuestMemory::fill(std::uint64_t gpa, std::uint64_t length, std::uint8_t value) {
  std::uint8_t* dst = host_pointer(gpa, length);
  if (dst == nullptr) {
    return Error{Errc::kOutOfRange, 0, "guest memory fill", static_cast<long long>(gpa)};
  }
  std::memset(dst, value, length);
  return kOk;
}

}  // namespace vmm
