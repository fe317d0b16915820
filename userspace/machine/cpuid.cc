#include "machine/cpuid.h"

namespace machine {

std::vector<kvm_cpuid_entry2> guest_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                          unsigned vcpu_id, bool tsc_deadline) {
  constexpr __u32 kLeafFeatures = 0x1;
  constexpr __u32 kLeafTopology = 0xb;
  constexpr __u32 kLeafTopologyV2 = 0x1f;
  constexpr __u32 kEcxHypervisor = 1u << 31;
  constexpr __u32 kEcxTscDeadline = 1u << 24;

  std::vector<kvm_cpuid_entry2> entries(supported.begin(), supported.end());
  for (auto& e : entries) {
    if (e.function == kLeafFeatures) {
      e.ebx = (e.ebx & 0x00ffffff) | ((vcpu_id & 0xff) << 24);
      e.ecx |= kEcxHypervisor;
      if (tsc_deadline) {
        e.ecx |= kEcxTscDeadline;
      }
    } else if (e.function == kLeafTopology || e.function == kLeafTopologyV2) {
      e.edx = vcpu_id;
    }
  }
  return entries;
}

}  // namespace machine
