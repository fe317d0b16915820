// A vCPU fd and its shared kvm_run page.
//
// Legend: a Vcpu is created by the machine before its thread starts and is then used only by
// that vCPU's thread (KVM requires vCPU ioctls to come from one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "uapi/kvm-abi.h"
#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace vmm {

class Vcpu {
 public:
  Vcpu(int id, UniqueFd fd, Mapping run) : id_(id), fd_(std::move(fd)), run_(std::move(run)) {}

  VmmResult<kvm_regs> get_regs() const;
  VmmStatus set_regs(const kvm_regs& regs);
  VmmResult<kvm_sregs> get_sregs() const;
  VmmStatus set_sregs(const kvm_sregs& sregs);
  // KVM_SET_CPUID2: what CPUID returns in the guest (and which CR4/EFER bits it may set).
  VmmStatus set_cpuid(std::span<const kvm_cpuid_entry2> entries);

  // KVM_SET_MSRS: all of them, or an error naming how many KVM took.
  VmmStatus set_msrs(std::span<const kvm_msr_entry> entries);
  // KVM_GET_MP_STATE / KVM_SET_MP_STATE (KVM_MP_STATE_*).
  VmmResult<std::uint32_t> get_mp_state() const;
  VmmStatus set_mp_state(std::uint32_t state);
  // KVM_GET_LAPIC (in-kernel irqchip only): the local APIC's register page.
  VmmResult<kvm_lapic_state> get_lapic() const;

  // One KVM_RUN.  On success the exit is described by run_page().  EINTR/EAGAIN come back as
  // errors with that sys_errno; the caller decides to re-enter.
  VmmStatus run();

  kvm_run* run_page() const { return static_cast<kvm_run*>(run_.get()); }
  std::size_t run_size() const { return run_.length(); }
  int id() const { return id_; }

 private:
  int id_;
  UniqueFd fd_;
  Mapping run_;
};

// Multi-line register dump for error reports; pure so tests can call it.
std::string format_registers(const kvm_regs& regs, const kvm_sregs& sregs);
// One-line summary of an in-kernel local APIC and the vCPU's KVM_MP_STATE_* for the same
// reports: where a halted vCPU waits, what it has requested (IRR) and in service (ISR), its
// TPR/PPR and its timer; pure so tests can call it.
std::string format_lapic(const kvm_lapic_state& lapic, std::uint32_t mp_state);

}  // namespace vmm
