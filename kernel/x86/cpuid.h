/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KVM_CPUID_H
#define KVM_CPUID_H

#include "kvm_host.h"

#define KVM_MAX_CPUID_ENTRIES 256

#include <asm/processor.h>	/* enum cpuid_regs_idx: CPUID_EAX... */

int kvm_dev_get_supported_cpuid(struct kvm_cpuid2 __user *uc);
int kvm_vcpu_set_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 __user *uc);
int kvm_vcpu_get_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 __user *uc);
void kvm_cpuid_free(struct kvm_vcpu *vcpu);
bool kvm_guest_cpuid_has(struct kvm_vcpu *vcpu, u32 func, u32 index,
			 enum cpuid_regs_idx reg, int bit);
int kvm_emulate_cpuid(struct kvm_vcpu *vcpu, unsigned long next_rip);
u64 kvm_supported_xcr0(void);

#endif
