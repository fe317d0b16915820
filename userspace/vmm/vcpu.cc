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

VmmResult<kvm_lapic_state> Vcpu::get_lapic() const {
  kvm_lapic_state lapic{};
  if (::ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0) {
    return Error{Errc::kSyscallFailed, errno, "KVM_GET_LAPIC"};
  }
  return lapic;
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

std::uint32_t lapic_reg(const kvm_lapic_state& lapic, std::size_t offset) {
  std::uint32_t value = 0;
  std::memcpy(&value, lapic.regs + offset, sizeof(value));
  return value;
}

// The eight 32-bit words of IRR/ISR/TMR (one per 0x10 bytes), vector 255 first, as hex.
std::string lapic_bits(const kvm_lapic_state& lapic, std::size_t base) {
  std::string out;
  char word[12];
  for (int i = 7; i >= 0; --i) {
    std::snprintf(word, sizeof(word), "%08x", lapic_reg(lapic, base + 0x10 * i));
    out += word;
  }
  return out;
}

const char* mp_state_name(std::uint32_t mp_state) {
  switch (mp_state) {
    case KVM_MP_STATE_RUNNABLE: return "runnable";
    case KVM_MP_STATE_UNINITIALIZED: return "uninitialized";
    case KVM_MP_STATE_INIT_RECEIVED: return "init-received";
    case KVM_MP_STATE_HALTED: return "halted";
    case KVM_MP_STATE_SIPI_RECEIVED: return "sipi-received";
    default: return "?";
  }
}

}  // namespace

std::string format_lapic(const kvm_lapic_state& lapic, std::uint32_t mp_state) {
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "  mp_state=%s apic id=%02x tpr=%02x ppr=%02x svr=%03x lvtt=%05x tmict=%08x "
                "tmcct=%08x esr=%x\n",
                mp_state_name(mp_state), lapic_reg(lapic, 0x20) >> 24, lapic_reg(lapic, 0x80),
                lapic_reg(lapic, 0xa0), lapic_reg(lapic, 0xf0), lapic_reg(lapic, 0x320),
                lapic_reg(lapic, 0x380), lapic_reg(lapic, 0x390), lapic_reg(lapic, 0x280));
  std::string out = buf;
  out += "  irr=" + lapic_bits(lapic, 0x200) + "\n";
  out += "  isr=" + lapic_bits(lapic, 0x100) + "\n";
  out += "  tmr=" + lapic_bits(lapic, 0x180) + "\n";
  return out;
}

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
