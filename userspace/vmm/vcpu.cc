#include "vmm/vcpu.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

namespace vmm {

VmmResult<kvm_regs> Vcpu::get_regs() const {
  kvm_regs regs{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_REGS"};
  }
  return regs;
}

VmmStatus Vcpu::set_regs(const kvm_regs& regs) {
  if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_REGS"};
  }
  return kOk;
}

VmmResult<kvm_sregs> Vcpu::get_sregs() const {
  kvm_sregs sregs{};
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_SREGS"};
  }
  return sregs;
}

VmmStatus Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_SREGS"};
  }
  return kOk;
}

VmmStatus Vcpu::set_cpuid(std::span<const kvm_cpuid_entry2> entries) {
  const std::size_t bytes = sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2);
  auto storage = std::make_unique<std::uint64_t[]>((bytes + 7) / 8);
  auto* cpuid = reinterpret_cast<kvm_cpuid2*>(storage.get());
  cpuid->nent = static_cast<__u32>(entries.size());
  if (!entries.empty()) {
    std::memcpy(cpuid->entries, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  }
  if (::ioctl(fd_.get(), KVM_SET_CPUID2, cpuid) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_CPUID2"};
  }
  return kOk;
}

VmmStatus Vcpu::set_msrs(std::span<const kvm_msr_entry> entries) {
  const std::size_t bytes = sizeof(kvm_msrs) + entries.size() * sizeof(kvm_msr_entry);
  auto storage = std::make_unique<std::uint64_t[]>((bytes + 7) / 8);
  auto* msrs = reinterpret_cast<kvm_msrs*>(storage.get());
  msrs->nmsrs = static_cast<__u32>(entries.size());
  if (!entries.empty()) {
    std::memcpy(msrs->entries, entries.data(), entries.size() * sizeof(kvm_msr_entry));
  }
  const int set = ::ioctl(fd_.get(), KVM_SET_MSRS, msrs);
  if (set < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_MSRS"};
  }
  if (static_cast<std::size_t>(set) != entries.size()) {
    // KVM stops at the first MSR it refuses; detail names it.
    return Error{Errc::kInvalidArgument, 0, "KVM_SET_MSRS (an MSR was refused)",
                 static_cast<long long>(entries[set].index)};
  }
  return kOk;
}

VmmResult<std::uint32_t> Vcpu::get_mp_state() const {
  kvm_mp_state state{};
  if (::ioctl(fd_.get(), KVM_GET_MP_STATE, &state) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_MP_STATE"};
  }
  return state.mp_state;
}

VmmStatus Vcpu::set_mp_state(std::uint32_t state) {
  kvm_mp_state mp{state};
  if (::ioctl(fd_.get(), KVM_SET_MP_STATE, &mp) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_SET_MP_STATE"};
  }
  return kOk;
}

VmmStatus Vcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_RUN"};
  }
  return kOk;
}

namespace {

std::string format_segment(const char* name, const kvm_segment& s) {
  char line[160];
  std::snprintf(line, sizeof(line),
                "  %-3s sel=%04x base=%016" PRIx64
                " limit=%08x type=%x p=%u dpl=%u db=%u s=%u l=%u g=%u%s\n",
                name, s.selector, static_cast<std::uint64_t>(s.base), s.limit, s.type, s.present,
                s.dpl, s.db, s.s, s.l, s.g, s.unusable ? " unusable" : "");
  return line;
}

}  // namespace

std::string format_registers(const kvm_regs& r, const kvm_sregs& s) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
                "  rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx\n"
                "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
                "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
                "  rip=%016llx rflags=%08llx\n"
                "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n"
                "  gdt=%016llx/%04x idt=%016llx/%04x\n",
                r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11,
                r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
                s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
  std::string out = buf;
  out += format_segment("cs", s.cs);
  out += format_segment("ds", s.ds);
  out += format_segment("es", s.es);
  out += format_segment("fs", s.fs);
  out += format_segment("gs", s.gs);
  out += format_segment("ss", s.ss);
  out += format_segment("tr", s.tr);
  out += format_segment("ldt", s.ldt);
  return out;
}

}  // namespace vmm
