// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPUID: the table of what we can virtualize (KVM_GET_SUPPORTED_CPUID),
 * the guest's table (KVM_SET_CPUID2 / KVM_GET_CPUID2) and the answer to a
 * guest's CPUID instruction.
 *
 * A feature is listed only when the guest can really use it: the host
 * has it, and kvm.ko handles whatever state, MSR or exit it brings.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/processor.h>

#include "x86.h"
#include "cpuid.h"
#include "irq.h"

#define BIT32(n) (1U << (n))

/* CPUID.1:ECX */
#define F1_ECX	(BIT32(0) | BIT32(1) | BIT32(9) | BIT32(12) | BIT32(13) | \
		 BIT32(19) | BIT32(20) | BIT32(22) | BIT32(23) | BIT32(25) | \
		 BIT32(26) | BIT32(28) | BIT32(29) | BIT32(30))
#define F1_ECX_HYPERVISOR	BIT32(31)
/* Emulated by the in-kernel LAPIC whatever the host has (as upstream). */
#define F1_ECX_EMULATED		(BIT32(21) | BIT32(24))	/* x2APIC, TSC deadline */
#define F1_ECX_OSXSAVE		BIT32(27)
/* CPUID.1:EDX: FPU VME DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PAT PSE36
 * CLFLUSH MMX FXSR SSE SSE2 */
#define F1_EDX	(BIT32(0) | BIT32(1) | BIT32(2) | BIT32(3) | BIT32(4) | \
		 BIT32(5) | BIT32(6) | BIT32(8) | BIT32(9) | BIT32(11) | \
		 BIT32(13) | BIT32(15) | BIT32(16) | BIT32(17) | BIT32(19) | \
		 BIT32(23) | BIT32(24) | BIT32(25) | BIT32(26))
#define F1_EDX_APIC		BIT32(9)
/* CPUID.7.0:EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS ADX SMAP CLFLUSHOPT
 * CLWB SHA */
#define F7_EBX	(BIT32(0) | BIT32(3) | BIT32(5) | BIT32(7) | BIT32(8) | \
		 BIT32(9) | BIT32(19) | BIT32(20) | BIT32(23) | BIT32(24) | \
		 BIT32(29))
/* CPUID.0x80000001:ECX: LAHF ABM SSE4A MISALIGNSSE 3DNOWPREFETCH */
#define F81_ECX	(BIT32(0) | BIT32(5) | BIT32(6) | BIT32(7) | BIT32(8))
/* CPUID.0x80000001:EDX: SYSCALL NX MMXEXT FXSR_OPT PDPE1GB LM, plus the
 * bits AMD mirrors from leaf 1 */
#define F81_EDX	(BIT32(11) | BIT32(20) | BIT32(22) | BIT32(25) | \
		 BIT32(26) | BIT32(29) | \
		 (F1_EDX & (0x3ffffU | BIT32(23) | BIT32(24)) & ~BIT32(11)))

#define XFEATURES_SUPPORTED	0x7ULL	/* x87, SSE, AVX */

u64 kvm_supported_xcr0(void)
{
	return kvm_host_xcr0 & XFEATURES_SUPPORTED;
}

static int cpuid_add(struct kvm_cpuid_entry2 *e, int *n, int max,
		     u32 func, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *x;

	if (*n >= max)
		return -E2BIG;
	x = &e[(*n)++];
	memset(x, 0, sizeof(*x));
	x->function = func;
	x->index = index;
	x->flags = flags;
	cpuid_count(func, index, &x->eax, &x->ebx, &x->ecx, &x->edx);
	return 0;
}

static int kvm_build_supported_cpuid(struct kvm_cpuid_entry2 *e, int max)
{
	u32 basic_max = min_t(u32, cpuid_eax(0), 0xd);
	u32 ext_max = min_t(u32, cpuid_eax(0x80000000), 0x80000008);
	struct kvm_cpuid_entry2 *x;
	int n = 0, r;
	u32 f;

#define ADD(func, idx, fl) do {					\
		r = cpuid_add(e, &n, max, func, idx, fl);		\
		if (r)							\
			return r;					\
		x = &e[n - 1];						\
	} while (0)

	ADD(0, 0, 0);
	x->eax = basic_max;
	ADD(1, 0, 0);
	x->ebx &= 0xffff;	/* APIC ID and logical count: userspace's */
	x->ecx = (x->ecx & F1_ECX) | F1_ECX_HYPERVISOR |
		 (kvm_irqchip_enabled ? F1_ECX_EMULATED : 0);
	x->edx &= F1_EDX;
	if (!kvm_host_xcr0)
		x->ecx &= ~(BIT32(26) | BIT32(28) | BIT32(29));
	if (basic_max >= 7) {
		ADD(7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		x->eax = 0;
		x->ebx &= F7_EBX;
		x->ecx = 0;
		x->edx = 0;
	}
	if (basic_max >= 0xd && kvm_host_xcr0) {
		u64 xcr0 = kvm_supported_xcr0();
		unsigned int a, b, c, d;

		ADD(0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		x->eax = (u32)xcr0;
		x->edx = xcr0 >> 32;
		/* Size of the area for all supported features. */
		cpuid_count(0xd, 2, &a, &b, &c, &d);
		x->ecx = (xcr0 & 4) ? a + b : 576;
		x->ebx = x->ecx;
		ADD(0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		x->eax &= BIT32(0);	/* XSAVEOPT only */
		x->ebx = x->ecx = x->edx = 0;
		if (xcr0 & 4)
			ADD(0xd, 2, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	}
	ADD(0x80000000, 0, 0);
	x->eax = ext_max;
	if (ext_max >= 0x80000001) {
		ADD(0x80000001, 0, 0);
		x->eax = cpuid_eax(1);
		x->ebx = 0;
		x->ecx &= F81_ECX;
		x->edx &= F81_EDX;
	}
	for (f = 0x80000002; f <= 0x80000004 && f <= ext_max; f++)
		ADD(f, 0, 0);
	if (ext_max >= 0x80000008) {
		ADD(0x80000008, 0, 0);
		x->eax &= 0xffff;
		x->ebx = x->ecx = x->edx = 0;
	}
#undef ADD
	return n;
}

int kvm_dev_get_supported_cpuid(struct kvm_cpuid2 __user *uc)
{
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 hdr;
	int n, r;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1)
		return -E2BIG;
	if (hdr.nent > KVM_MAX_CPUID_ENTRIES)
		hdr.nent = KVM_MAX_CPUID_ENTRIES;

	e = kvcalloc(hdr.nent, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	n = kvm_build_supported_cpuid(e, hdr.nent);
	if (n < 0) {
		r = n;
		goto out;
	}
	hdr.nent = n;
	r = -EFAULT;
	if (copy_to_user(uc, &hdr, sizeof(hdr)) ||
	    copy_to_user(uc->entries, e, n * sizeof(*e)))
		goto out;
	r = 0;
out:
	kvfree(e);
	return r;
}

int kvm_vcpu_set_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 __user *uc)
{
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		e = vmemdup_user(uc->entries, array_size(hdr.nent, sizeof(*e)));
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	kvfree(vcpu->cpuid_entries);
	vcpu->cpuid_entries = e;
	vcpu->cpuid_nent = hdr.nent;
	if (kvm_x86_ops.vcpu_after_set_cpuid)
		kvm_x86_ops.vcpu_after_set_cpuid(vcpu);
	return 0;
}

int kvm_vcpu_get_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 __user *uc)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < vcpu->cpuid_nent)
		return -E2BIG;
	hdr.nent = vcpu->cpuid_nent;
	if (copy_to_user(uc, &hdr, sizeof(hdr)) ||
	    copy_to_user(uc->entries, vcpu->cpuid_entries,
			 vcpu->cpuid_nent * sizeof(*vcpu->cpuid_entries)))
		return -EFAULT;
	return 0;
}

void kvm_cpuid_free(struct kvm_vcpu *vcpu)
{
	kvfree(vcpu->cpuid_entries);
	vcpu->cpuid_entries = NULL;
	vcpu->cpuid_nent = 0;
}

static struct kvm_cpuid_entry2 *kvm_find_cpuid(struct kvm_vcpu *vcpu,
					       u32 func, u32 index)
{
	struct kvm_cpuid_entry2 *e;
	int i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		e = &vcpu->cpuid_entries[i];
		if (e->function == func &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

bool kvm_guest_cpuid_has(struct kvm_vcpu *vcpu, u32 func, u32 index,
			 enum cpuid_regs_idx reg, int bit)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid(vcpu, func, index);
	u32 v;

	if (!e)
		return false;
	v = reg == CPUID_EAX ? e->eax : reg == CPUID_EBX ? e->ebx :
	    reg == CPUID_ECX ? e->ecx : e->edx;
	return v & BIT32(bit);
}

int kvm_emulate_cpuid(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u32 func = vcpu->regs[VCPU_REGS_RAX], index = vcpu->regs[VCPU_REGS_RCX];
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid(vcpu, func, index);
	u32 a = 0, b = 0, c = 0, d = 0;

	if (e) {
		a = e->eax; b = e->ebx; c = e->ecx; d = e->edx;
	}
	if (func == 0xd && index == 0 && e) {
		/*
		 * EBX: the XSAVE area size for the features enabled in the
		 * guest's XCR0 right now (SDM vol. 1 13.2), from the offsets
		 * and sizes of its own sub-leaves.
		 */
		u32 size = 512 + 64;
		int i;

		for (i = 2; i < 64; i++) {
			struct kvm_cpuid_entry2 *c;

			if (!(vcpu->xcr0 & (1ULL << i)))
				continue;
			c = kvm_find_cpuid(vcpu, 0xd, i);
			if (c && c->ebx + c->eax > size)
				size = c->ebx + c->eax;
		}
		b = size;
	}
	if (func == 1) {
		/* Bits that follow the guest's own state. */
		c &= ~F1_ECX_OSXSAVE;
		if (e && (c & BIT32(26)) &&
		    (kvm_x86_ops.get_cr(vcpu, 4) & X86_CR4_OSXSAVE))
			c |= F1_ECX_OSXSAVE;
		if (!(vcpu->apic_base & (1ULL << 11)))
			d &= ~F1_EDX_APIC;
	}
	vcpu->regs[VCPU_REGS_RAX] = a;
	vcpu->regs[VCPU_REGS_RBX] = b;
	vcpu->regs[VCPU_REGS_RCX] = c;
	vcpu->regs[VCPU_REGS_RDX] = d;
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	return 1;
}
