// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-specific registers: the guest's RDMSR/WRMSR, userspace's
 * KVM_GET/SET_MSRS and KVM_GET_MSR_INDEX_LIST.
 *
 * Every MSR access by the guest exits (the MSR permission map intercepts
 * all of them), so nothing reaches the real MSRs.  MSRs that live in the
 * backend's state (VMCB/VMCS: syscall, sysenter, FS/GS base, PAT, TSC)
 * are the backend's get_msr/set_msr; the rest are kept here.  An MSR we
 * do not know gives the guest #GP, or with ignore_msrs=1 reads as zero
 * and swallows writes, like upstream's module parameter.
 */
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/mtrr.h>
#include <asm/mce.h>

#include "x86.h"
#include "cpuid.h"
#include "irq.h"

static bool ignore_msrs;
module_param(ignore_msrs, bool, 0644);
MODULE_PARM_DESC(ignore_msrs, "Unknown MSRs read as 0 and ignore writes instead of #GP");

static bool report_ignored_msrs = true;
module_param(report_ignored_msrs, bool, 0644);
MODULE_PARM_DESC(report_ignored_msrs, "Log accesses to MSRs ignored by ignore_msrs");

#define MSR_KVM_WALL_CLOCK_OLD	0x11
#define MSR_KVM_SYSTEM_TIME_OLD	0x12
#define KVM_MAX_IO_MSRS		256

/* Default IA32_MISC_ENABLE: no BTS, no PEBS (what upstream reports). */
#define MISC_ENABLE_DEFAULT	(MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)

/* What KVM_GET_MSR_INDEX_LIST offers for save/restore. */
static const u32 kvm_msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_VM_HSAVE_PA,
	MSR_IA32_MISC_ENABLE, MSR_IA32_UCODE_REV, MSR_PLATFORM_INFO,
};

/*
 * MTRRs.  QEMU always shows the guest CPUID.MTRR (and SeaBIOS programs
 * them), so they are kept: 8 variable ranges, the fixed ranges and the
 * default type.  With nested paging the host's memory type wins for RAM,
 * so the values are stored and validated, not applied.
 */
#define MTRR_CAP_VALUE		0x508	/* VCNT=8, FIX, WC */
#define MTRR_NR_VAR		8

static bool mtrr_valid_type(u8 t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static int kvm_mtrr_index(u32 msr)
{
	switch (msr) {
	case MSR_MTRRfix64K_00000:	return 0;
	case MSR_MTRRfix16K_80000:	return 1;
	case MSR_MTRRfix16K_A0000:	return 2;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + msr - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

static bool kvm_mtrr_msr(u32 msr)
{
	return msr == MSR_MTRRcap || msr == MSR_MTRRdefType ||
	       kvm_mtrr_index(msr) >= 0 ||
	       (msr >= MTRRphysBase_MSR(0) &&
		msr <= MTRRphysMask_MSR(MTRR_NR_VAR - 1));
}

static int kvm_mtrr_get(struct kvm_vcpu *vcpu, u32 msr, u64 *data)
{
	int i = kvm_mtrr_index(msr);

	if (msr == MSR_MTRRcap)
		*data = MTRR_CAP_VALUE;
	else if (msr == MSR_MTRRdefType)
		*data = vcpu->msr.mtrr_def_type;
	else if (i >= 0)
		*data = vcpu->msr.mtrr_fixed[i];
	else
		*data = vcpu->msr.mtrr_var[msr - MTRRphysBase_MSR(0)];
	return 0;
}

static int kvm_mtrr_set(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	u64 phys_mask = ~0ULL << boot_cpu_data.x86_phys_bits;
	int i = kvm_mtrr_index(msr), b;

	if (msr == MSR_MTRRcap)
		return 1;	/* read-only */
	if (msr == MSR_MTRRdefType) {
		/* type in 7:0, FE bit 10, E bit 11; the rest reserved */
		if ((data & ~0xcffULL) || !mtrr_valid_type(data & 0xff))
			return 1;
		vcpu->msr.mtrr_def_type = data;
		return 0;
	}
	if (i >= 0) {
		for (b = 0; b < 8; b++)
			if (!mtrr_valid_type(data >> (b * 8)))
				return 1;
		vcpu->msr.mtrr_fixed[i] = data;
		return 0;
	}
	i = msr - MTRRphysBase_MSR(0);
	if (!(i & 1)) {
		/* PhysBase: type 7:0, bits 11:8 reserved, address bits */
		if ((data & 0xf00ULL) || (data & phys_mask) ||
		    !mtrr_valid_type(data & 0xff))
			return 1;
	} else if ((data & 0x7ffULL) || (data & phys_mask)) {
		/* PhysMask: V bit 11, bits 10:0 reserved */
		return 1;
	}
	vcpu->msr.mtrr_var[i] = data;
	return 0;
}

/*
 * Machine-check architecture.  QEMU always shows CPUID.MCE/MCA and saves
 * these MSRs, and Linux guests set the banks up, so they exist: MCG_CAP
 * reports 10 banks, MCG_CTL and software error recovery (the layout QEMU
 * assumes when the kernel has no KVM_CAP_MCE).  No machine check is ever
 * raised into the guest.
 */
#define MCE_NR_BANKS		10
#define MCG_CAP_VALUE		(MCG_CTL_P | MCG_SER_P | MCE_NR_BANKS)
#define HWCR_MCSTATUSWREN	(1ULL << 18)

static bool kvm_mce_msr(u32 msr)
{
	return msr == MSR_IA32_MCG_CAP || msr == MSR_IA32_MCG_STATUS ||
	       msr == MSR_IA32_MCG_CTL ||
	       (msr >= MSR_IA32_MC0_CTL &&
		msr < MSR_IA32_MC0_CTL + 4 * MCE_NR_BANKS);
}

static int kvm_mce_get(struct kvm_vcpu *vcpu, u32 msr, u64 *data)
{
	switch (msr) {
	case MSR_IA32_MCG_CAP:
		*data = MCG_CAP_VALUE;
		break;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->msr.mcg_status;
		break;
	case MSR_IA32_MCG_CTL:
		*data = vcpu->msr.mcg_ctl;
		break;
	default:
		*data = vcpu->msr.mce_banks[msr - MSR_IA32_MC0_CTL];
		break;
	}
	return 0;
}

static int kvm_mce_set(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	u32 offset;

	switch (msr) {
	case MSR_IA32_MCG_CAP:
		return host && data == MCG_CAP_VALUE ? 0 : 1;
	case MSR_IA32_MCG_STATUS:
		vcpu->msr.mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (data != 0 && data != ~0ULL)
			return 1;
		vcpu->msr.mcg_ctl = data;
		return 0;
	}
	offset = msr - MSR_IA32_MC0_CTL;
	switch (offset & 3) {
	case 0:	/* MCi_CTL: all or nothing (AMD also lets bits 10 and 0 go) */
		if (data && (data | (1ULL << 10) | 1) != ~0ULL)
			return 1;
		break;
	case 1:	/* MCi_STATUS: software may only clear it, unless HWCR says */
		if (!host && data &&
		    !(vcpu->msr.hwcr & HWCR_MCSTATUSWREN))
			return 1;
		break;
	}
	vcpu->msr.mce_banks[offset] = data;
	return 0;
}

/*
 * Configuration MSRs firmware and kernels touch on AMD parts, which mean
 * nothing in a VM, and the legacy AMD performance counters without a
 * virtual PMU: they read as zero and ignore writes (as upstream).
 */
static bool kvm_msr_reads_zero(u32 index)
{
	switch (index) {
	case MSR_IA32_PLATFORM_ID:
	case MSR_IA32_EBL_CR_POWERON:
	case MSR_AMD64_SYSCFG:
	case MSR_K8_TSEG_ADDR:
	case MSR_K8_TSEG_MASK:
	case MSR_K8_INT_PENDING_MSG:
	case MSR_AMD64_NB_CFG:
	case MSR_FAM10H_MMIO_CONF_BASE:
	case MSR_AMD64_BU_CFG2:
	case MSR_AMD64_DC_CFG:
	case MSR_F15H_IC_CFG:
	case MSR_AMD64_DE_CFG:
	case MSR_VM_CR:
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3:
	case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
		return true;
	default:
		return false;
	}
}

static bool kvm_valid_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	u64 allowed = EFER_SCE;

	if (kvm_guest_cpuid_has(vcpu, 0x80000001, 0, CPUID_EDX, 29))
		allowed |= EFER_LME | EFER_LMA;
	if (kvm_guest_cpuid_has(vcpu, 0x80000001, 0, CPUID_EDX, 20))
		allowed |= EFER_NX;
	if (kvm_guest_cpuid_has(vcpu, 0x80000001, 0, CPUID_EDX, 25))
		allowed |= EFER_FFXSR;
	return !(efer & ~allowed);
}

bool kvm_efer_is_valid(struct kvm_vcpu *vcpu, u64 efer)
{
	return kvm_valid_efer(vcpu, efer);
}

static int kvm_set_efer(struct kvm_vcpu *vcpu, u64 efer, bool host)
{
	bool paging = kvm_x86_ops.get_cr(vcpu, 0) & X86_CR0_PG;

	if (!kvm_valid_efer(vcpu, efer))
		return 1;
	if (!host) {
		/* LME cannot change while paging is on; LMA is read-only. */
		if (paging && ((vcpu->efer ^ efer) & EFER_LME))
			return 1;
		efer = (efer & ~EFER_LMA) | (vcpu->efer & EFER_LMA);
	}
	if ((vcpu->efer ^ efer) & (EFER_NX | EFER_LME | EFER_LMA))
		kvm_mmu_reset_context(vcpu);
	vcpu->efer = efer;
	kvm_x86_ops.set_efer(vcpu, efer);
	return 0;
}

void kvm_msr_reset(struct kvm_vcpu *vcpu)
{
	memset(&vcpu->msr, 0, sizeof(vcpu->msr));
	vcpu->msr.misc_enable = MISC_ENABLE_DEFAULT;
	vcpu->msr.ucode_rev = 0x100000000ULL;
	vcpu->msr.mcg_ctl = ~0ULL;
}

/* Returns 0, or 1 if the access faults (#GP for the guest). */
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	int r = kvm_lapic_get_msr(vcpu, index, data);

	if (r != -ENOENT)
		return r;
	switch (index) {
	case MSR_EFER:
		*data = vcpu->efer;
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->msr.misc_enable;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = vcpu->msr.ucode_rev;
		return 0;
	case MSR_PLATFORM_INFO:
		*data = vcpu->msr.platform_info;
		return 0;
	case MSR_VM_HSAVE_PA:
		*data = vcpu->msr.vm_hsave_pa;
		return 0;
	case MSR_K7_HWCR:
		*data = vcpu->msr.hwcr;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		*data = vcpu->msr.debugctl;
		return 0;
	case MSR_KVM_WALL_CLOCK_OLD:
	case MSR_KVM_SYSTEM_TIME_OLD:
		/* Only userspace restoring state; no kvmclock in CPUID. */
		if (!host)
			break;
		*data = 0;
		return 0;
	default:
		if (kvm_msr_reads_zero(index)) {
			*data = 0;
			return 0;
		}
		if (kvm_mtrr_msr(index))
			return kvm_mtrr_get(vcpu, index, data);
		if (kvm_mce_msr(index))
			return kvm_mce_get(vcpu, index, data);
		if (!kvm_x86_ops.get_msr(vcpu, index, data))
			return 0;
		break;
	}
	if (ignore_msrs) {
		if (report_ignored_msrs)
			kvm_pr_guest("vcpu %u: ignored rdmsr 0x%x\n",
				     vcpu->vcpu_id, index);
		*data = 0;
		return 0;
	}
	return 1;
}

int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	int r = kvm_lapic_set_msr(vcpu, index, data, host);

	if (r != -ENOENT)
		return r;
	switch (index) {
	case MSR_EFER:
		return kvm_set_efer(vcpu, data, host);
	case MSR_IA32_APICBASE:
		/* Bits 0-7, 9 and above MAXPHYADDR are reserved. */
		if (data & 0x2ffULL || data >> boot_cpu_data.x86_phys_bits)
			return 1;
		vcpu->apic_base = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		vcpu->msr.misc_enable = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		/* The guest writes it to ask for an update: no effect. */
		if (host)
			vcpu->msr.ucode_rev = data;
		return 0;
	case MSR_PLATFORM_INFO:
		if (!host)
			return 1;
		/* Only CPUID faulting (bit 31) could mean something; we
		 * offer none. */
		if (data)
			return 1;
		vcpu->msr.platform_info = data;
		return 0;
	case MSR_VM_HSAVE_PA:
		/* No nested SVM for the guest: keep the value, use none. */
		if (data & ~PAGE_MASK)
			return 1;
		vcpu->msr.vm_hsave_pa = data;
		return 0;
	case MSR_K7_HWCR:
		vcpu->msr.hwcr = data;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		/* No branch recording for guests: only 0 is a real setting. */
		if (data & ~0x3ULL)
			return 1;
		vcpu->msr.debugctl = data;
		return 0;
	case MSR_KVM_WALL_CLOCK_OLD:
	case MSR_KVM_SYSTEM_TIME_OLD:
		if (!host || data)
			break;
		return 0;
	default:
		if (kvm_msr_reads_zero(index))
			return 0;
		if (kvm_mtrr_msr(index))
			return kvm_mtrr_set(vcpu, index, data);
		if (kvm_mce_msr(index))
			return kvm_mce_set(vcpu, index, data, host);
		if (!kvm_x86_ops.set_msr(vcpu, index, data))
			return 0;
		break;
	}
	if (ignore_msrs) {
		if (report_ignored_msrs)
			kvm_pr_guest("vcpu %u: ignored wrmsr 0x%x <- 0x%llx\n",
				     vcpu->vcpu_id, index, data);
		return 0;
	}
	return 1;
}

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u32 index = vcpu->regs[VCPU_REGS_RCX];
	u64 data;

	if (kvm_get_msr(vcpu, index, &data, false)) {
		kvm_pr_guest("vcpu %u: rdmsr of unhandled MSR 0x%x: #GP\n",
			     vcpu->vcpu_id, index);
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	vcpu->regs[VCPU_REGS_RAX] = (u32)data;
	vcpu->regs[VCPU_REGS_RDX] = data >> 32;
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	return 1;
}

int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u32 index = vcpu->regs[VCPU_REGS_RCX];
	u64 data = (u32)vcpu->regs[VCPU_REGS_RAX] |
		   ((u64)(u32)vcpu->regs[VCPU_REGS_RDX] << 32);

	if (kvm_set_msr(vcpu, index, data, false)) {
		kvm_pr_guest("vcpu %u: wrmsr 0x%x <- 0x%llx refused: #GP\n",
			     vcpu->vcpu_id, index, data);
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	return 1;
}

/* KVM_GET_MSR_INDEX_LIST on /dev/kvm. */
int kvm_dev_get_msr_index_list(struct kvm_msr_list __user *ul)
{
	u32 n, want = ARRAY_SIZE(kvm_msrs_to_save);

	if (get_user(n, &ul->nmsrs))
		return -EFAULT;
	if (put_user(want, &ul->nmsrs))
		return -EFAULT;
	if (n < want)
		return -E2BIG;
	if (copy_to_user(ul->indices, kvm_msrs_to_save, sizeof(kvm_msrs_to_save)))
		return -EFAULT;
	return 0;
}

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: process entries in order, stop at the
 * first one that fails; return how many were done (upstream's contract).
 */
int kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs __user *um,
			bool set)
{
	struct kvm_msr_entry *e;
	struct kvm_msrs hdr;
	u32 i;
	int r;

	if (copy_from_user(&hdr, um, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVM_MAX_IO_MSRS)
		return -E2BIG;
	e = memdup_user(um->entries, hdr.nmsrs * sizeof(*e));
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < hdr.nmsrs; i++) {
		if (set ? kvm_set_msr(vcpu, e[i].index, e[i].data, true) :
			  kvm_get_msr(vcpu, e[i].index, &e[i].data, true))
			break;
	}
	r = i;
	if (!set && copy_to_user(um->entries, e, hdr.nmsrs * sizeof(*e)))
		r = -EFAULT;
	kfree(e);
	return r;
}
