// The CPUID a vCPU of this machine sees: KVM's supported leaves, made per-vCPU.
#pragma once

#include <span>
#include <vector>

#include "uapi/kvm-abi.h"

namespace machine {

// Starts from KVM_GET_SUPPORTED_CPUID's leaves and sets what differs per vCPU or per machine:
// the initial APIC ID (leaf 1 EBX[31:24]; x2APIC ID in EDX of leaves 0xB and 0x1F) and the
// "running under a hypervisor" bit (leaf 1 ECX[31]), as real VMMs do.  tsc_deadline sets the
// TSC-deadline timer bit (leaf 1 ECX[24]), which KVM_GET_SUPPORTED_CPUID leaves out because it
// depends on the in-kernel local APIC: set it when that exists and KVM_CAP_TSC_DEADLINE_TIMER
// is offered.
std::vector<kvm_cpuid_entry2> guest_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                          unsigned vcpu_id, bool tsc_deadline = false);

}  // namespace machine
