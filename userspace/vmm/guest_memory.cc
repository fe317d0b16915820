#include "vmm/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace vmm {

VmmResult<GuestMemory> GuestMemory::allocate(std::uint64_t base, std::uint64_t size) {
  const RamRegion one{base, size, 0};
  return allocate(std::span<const RamRegion>(&one, 1));
}

VmmResult<GuestMemory> GuestMemory::allocate(std::span<const RamRegion> ranges) {
  if (ranges.empty()) {
    return Error{Errc::kInvalidArgument, 0, "guest RAM layout (no regions)"};
  }
  std::vector<RamRegion> regions;
  std::uint64_t total = 0;
  for (const auto& r : ranges) {
    if (r.size == 0 || r.gpa + r.size < r.gpa) {
      return Error{Errc::kInvalidArgument, 0, "guest RAM size"};
    }
    if (!regions.empty() && r.gpa < regions.back().gpa + regions.back().size) {
      return Error{Errc::kInvalidArgument, 0, "guest RAM layout (regions overlap or unsorted)"};
    }
    regions.push_back({r.gpa, r.size, total});
    total += r.size;
  }
  // Placed so that guest-physical and host addresses agree modulo 2 MiB, and marked for
  // transparent huge pages: then the host can back a 2 MiB guest page with one huge page, and
  // KVM can map it with one large entry (nested paging or shadow).  Mapped with room to spare,
  // then the spare head and tail are given back.
  const std::uint64_t slack = total >= kHugePage ? kHugePage : 0;
  void* addr = ::mmap(nullptr, total + slack, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED) {
    return Error{Errc::kSyscallFailed, errno, "mmap of guest RAM"};
  }
  if (slack != 0) {
    const auto raw = reinterpret_cast<std::uintptr_t>(addr);
    const std::uintptr_t head = (regions.front().gpa - raw) & (kHugePage - 1);
    if (head != 0) {
      ::munmap(addr, head);
    }
    if (slack - head != 0) {
      ::munmap(reinterpret_cast<void*>(raw + head + total), slack - head);
    }
    addr = reinterpret_cast<void*>(raw + head);
    // Only a hint: a kernel without transparent huge pages refuses it, and works the same.
    ::madvise(addr, total, MADV_HUGEPAGE);
  }
  return GuestMemory(std::move(regions), Mapping(addr, total));
}

const RamRegion* GuestMemory::find(std::uint64_t gpa, std::uint64_t length) const {
  for (const auto& r : regions_) {
    if (gpa < r.gpa) {
      continue;
    }
    const std::uint64_t offset = gpa - r.gpa;
    if (offset <= r.size && length <= r.size - offset) {
      return &r;
    }
  }
  return nullptr;
}

bool GuestMemory::contains(std::uint64_t gpa, std::uint64_t length) const {
  return find(gpa, length) != nullptr;
}

std::uint8_t* GuestMemory::host_pointer(std::uint64_t gpa, std::uint64_t length) const {
  const RamRegion* r = find(gpa, length);
  if (r == nullptr) {
    return nullptr;
  }
  return static_cast<std::uint8_t*>(mapping_.get()) + r->host_offset + (gpa - r->gpa);
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
