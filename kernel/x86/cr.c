// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest writes to CR4, which are intercepted so that only the features
 * the guest's CPUID offers can be turned on (SDM vol. 3A 2.5; AMD APM
 * vol. 2 3.1.3), and so that mode rules hold (no PAE off or LA57 change in
 * long mode).  Writing CR4 through the VMCB/VMCS skips the TLB flush the
 * real instruction implies, so changes to paging-related bits flush the
 * guest's TLB here.
 */
#include "x86.h"
#include "cpuid.h"
#include "guest_mem.h"

/*
 * PAE paging (not long mode): MOV to CR3, and changes of CR0.PG/CD/NW or
 * CR4.PGE/PSE/PAE/SMEP with paging on, load the four PDPTEs the CR3
 * points at, and a present one with a reserved bit set makes the
 * instruction #GP(0) (SDM vol. 3A 4.4.1, "PDPTE registers"; upstream KVM
 * does the same for every guest whose CR writes it intercepts).
 * Reserved in a PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR.  A PDPT outside
 * guest RAM cannot be loaded either.
 */
static bool kvm_pae_pdptes_ok(struct kvm_vcpu *vcpu, unsigned long cr3)
{
	u64 rsvd = (~0ULL << boot_cpu_data.x86_phys_bits) | (0xfULL << 5) |
		   (3ULL << 1);
	u64 pdpte[4];
	int i;

	if (kvm_read_guest(vcpu->kvm, (u32)cr3 & ~0x1fU, pdpte, sizeof(pdpte)))
		return false;
	for (i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & rsvd))
			return false;
	return true;
}

static bool kvm_cr4_allowed(struct kvm_vcpu *vcpu, unsigned long cr4)
{
	struct {
		unsigned long bit;
		u32 func;
		enum cpuid_regs_idx reg;
		int cpuid_bit;
	} const needs[] = {
		{ X86_CR4_OSXSAVE, 1, CPUID_ECX, 26 },
		{ X86_CR4_PCIDE, 1, CPUID_ECX, 17 },
		{ X86_CR4_VMXE, 1, CPUID_ECX, 5 },
		{ X86_CR4_SMXE, 1, CPUID_ECX, 6 },
		{ X86_CR4_FSGSBASE, 7, CPUID_EBX, 0 },
		{ X86_CR4_SMEP, 7, CPUID_EBX, 7 },
		{ X86_CR4_SMAP, 7, CPUID_EBX, 20 },
		{ X86_CR4_UMIP, 7, CPUID_ECX, 2 },
		{ X86_CR4_PKE, 7, CPUID_ECX, 3 },
		{ X86_CR4_LA57, 7, CPUID_ECX, 16 },
	};
	int i;

	if (cr4 & KVM_CR4_RESERVED_BITS)
		return false;
	for (i = 0; i < ARRAY_SIZE(needs); i++)
		if ((cr4 & needs[i].bit) &&
		    !kvm_guest_cpuid_has(vcpu, needs[i].func, 0, needs[i].reg,
					 needs[i].cpuid_bit))
			return false;
	return true;
}

/* Returns 0, or 1 when the write must #GP. */
int kvm_set_cr4(struct kvm_vcpu *vcpu, unsigned long cr4)
{
	unsigned long old = kvm_x86_ops.get_cr(vcpu, 4);
	const unsigned long paging_bits = X86_CR4_PGE | X86_CR4_PSE |
		X86_CR4_PAE | X86_CR4_SMEP | X86_CR4_PCIDE | X86_CR4_LA57;

	if (!kvm_cr4_allowed(vcpu, cr4))
		return 1;
	if (vcpu->efer & EFER_LMA) {
		if (!(cr4 & X86_CR4_PAE) || ((cr4 ^ old) & X86_CR4_LA57))
			return 1;
		/* PCIDE may only be set with CR3[11:0] zero (SDM 4.10.1). */
		if ((cr4 & ~old & X86_CR4_PCIDE) &&
		    (kvm_x86_ops.get_cr(vcpu, 3) & 0xfff))
			return 1;
	} else if (cr4 & X86_CR4_PCIDE) {
		return 1;
	} else if ((kvm_x86_ops.get_cr(vcpu, 0) & X86_CR0_PG) &&
		   (cr4 & X86_CR4_PAE) &&
		   ((cr4 ^ old) & (X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE |
				   X86_CR4_SMEP)) &&
		   !kvm_pae_pdptes_ok(vcpu, kvm_x86_ops.get_cr(vcpu, 3))) {
		return 1;
	}
	kvm_x86_ops.set_cr(vcpu, 4, cr4);
	if ((cr4 ^ old) & (paging_bits | X86_CR4_SMAP))
		kvm_mmu_reset_context(vcpu);
	return 0;
}

/*
 * A guest write to CR0 (intercepted with shadow paging, where the CPU's
 * own CR0 differs from the guest's).  Turning paging on with EFER.LME
 * enters long mode, turning it off leaves it (SDM vol. 3A 9.8.5, APM
 * vol. 2 14.6).  Returns 0, or 1 when the write must #GP.
 */
int kvm_set_cr0(struct kvm_vcpu *vcpu, unsigned long cr0)
{
	unsigned long old = kvm_x86_ops.get_cr(vcpu, 0);
	u64 efer = vcpu->efer;
	struct kvm_segment cs;

	if ((u64)cr0 >> 32)
		return 1;
	cr0 |= X86_CR0_ET;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return 1;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return 1;
	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG) && (efer & EFER_LME)) {
		kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
		if (!(kvm_x86_ops.get_cr(vcpu, 4) & X86_CR4_PAE) || cs.l)
			return 1;
		efer |= EFER_LMA;
	}
	if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG) && (efer & EFER_LMA)) {
		kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
		if (cs.l)
			return 1;
		efer &= ~EFER_LMA;
	}
	if ((cr0 & X86_CR0_PG) && !(efer & EFER_LMA) &&
	    (kvm_x86_ops.get_cr(vcpu, 4) & X86_CR4_PAE) &&
	    ((cr0 ^ old) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW)) &&
	    !kvm_pae_pdptes_ok(vcpu, kvm_x86_ops.get_cr(vcpu, 3)))
		return 1;
	kvm_x86_ops.set_cr(vcpu, 0, cr0);
	if (efer != vcpu->efer) {
		vcpu->efer = efer;
		kvm_x86_ops.set_efer(vcpu, efer);
	}
	if ((cr0 ^ old) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		kvm_mmu_reset_context(vcpu);
	return 0;
}

/* A guest CR3 load: a new address space (and, architecturally, a flush). */
int kvm_set_cr3(struct kvm_vcpu *vcpu, unsigned long cr3)
{
	if ((vcpu->efer & EFER_LMA) &&
	    (u64)cr3 >> boot_cpu_data.x86_phys_bits)
		return 1;
	if (!(vcpu->efer & EFER_LMA) &&
	    (kvm_x86_ops.get_cr(vcpu, 0) & X86_CR0_PG) &&
	    (kvm_x86_ops.get_cr(vcpu, 4) & X86_CR4_PAE) &&
	    !kvm_pae_pdptes_ok(vcpu, cr3))
		return 1;
	kvm_x86_ops.set_cr(vcpu, 3, cr3);
	kvm_mmu_reset_context(vcpu);
	return 0;
}

/* MOV to CRn as the emulator found it; 0, or 1 for #GP. */
int kvm_set_cr(struct kvm_vcpu *vcpu, int cr, unsigned long val)
{
	switch (cr) {
	case 0:
		return kvm_set_cr0(vcpu, val);
	case 2:
		kvm_x86_ops.set_cr(vcpu, 2, val);
		return 0;
	case 3:
		return kvm_set_cr3(vcpu, val);
	case 4:
		return kvm_set_cr4(vcpu, val);
	case 8:
		if (val & ~0xfUL)
			return 1;
		kvm_x86_ops.set_cr(vcpu, 8, val);
		return 0;
	default:
		return 1;
	}
}

/*
 * Decode MOV to CRn (0F 22 /r) at RIP, for exits that do not name the
 * source register.  Returns the instruction length, or 0 if the bytes
 * are not that instruction.
 */
int kvm_decode_mov_to_cr(struct kvm_vcpu *vcpu, int *cr, int *gpr)
{
	bool long_mode;
	u8 insn[15];
	int n, i = 0, rex = 0;

	n = kvm_fetch_insn(vcpu, insn, &long_mode);
	/* Prefixes: operand-size, segment and LOCK mean nothing to MOV CR. */
	while (i < n && (insn[i] == 0x66 || insn[i] == 0x2e ||
			 insn[i] == 0x3e || insn[i] == 0x26 || insn[i] == 0x36 ||
			 insn[i] == 0x64 || insn[i] == 0x65 || insn[i] == 0xf0))
		i++;
	if (i < n && long_mode && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	if (i + 3 > n || insn[i] != 0x0f || insn[i + 1] != 0x22)
		return 0;
	/* The register form is implied: mod is ignored (SDM MOV CR). */
	*cr = ((insn[i + 2] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	*gpr = (insn[i + 2] & 7) | ((rex & 1) ? 8 : 0);
	return i + 3;
}

int kvm_emulate_cr4_write(struct kvm_vcpu *vcpu, int gpr,
			  unsigned long next_rip)
{
	unsigned long val = vcpu->regs[gpr];
	struct kvm_segment cs;

	kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
	if (!((vcpu->efer & EFER_LMA) && cs.l))
		val = (u32)val;
	if (kvm_x86_ops.get_cpl(vcpu) || kvm_set_cr4(vcpu, val)) {
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	return 1;
}
