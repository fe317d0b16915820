/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shadow MMU's key: what a shadow page shadows besides the guest
 * frame.  Two shadows of one guest table differ when any of this
 * differs, because their entries would.
 */
#ifndef KVM_MMU_SHADOW_H
#define KVM_MMU_SHADOW_H

#include <linux/types.h>

/* Accumulated guest permissions above a table (role.access). */
#define SHADOW_ACC_WRITE	1U
#define SHADOW_ACC_USER		2U
#define SHADOW_ACC_EXEC		4U
#define SHADOW_ACC_ALL		7U

union shadow_role {
	u32 word;
	struct {
		u32 level:3;		/* 1: leaves (4 KiB) */
		u32 gpte8:1;		/* guest entries are 8 bytes (PAE/long) */
		u32 mode:3;		/* enum gpt_mode of the guest */
		u32 quadrant:2;		/* 32-bit guest: which part of its table */
		u32 direct:1;		/* frames of a guest large page / no paging */
		u32 pse32:1;		/* direct, for a 32-bit 4 MiB page */
		u32 access:3;		/* SHADOW_ACC_* */
		u32 cr0_wp:1;
		u32 smep_andnot_wp:1;
		u32 nxe:1;		/* EFER.NXE: what bit 63 means */
		u32 pse:1;		/* CR4.PSE: what PS means (32-bit) */
	};
};

void kvm_mmu_track_write(struct kvm *kvm, gpa_t gpa, unsigned int bytes);
int kvm_shadow_vm_init(struct kvm *kvm);
void kvm_shadow_vm_stop(struct kvm *kvm);
void kvm_shadow_vm_destroy(struct kvm *kvm);
void kvm_mmu_dirty_log_protect(struct kvm *kvm, gfn_t base, unsigned long mask);
void kvm_mmu_dirty_log_done(struct kvm *kvm);
void kvm_shadow_sync(struct kvm *kvm, struct kvm_vcpu *vcpu);
unsigned long kvm_shadow_audit(struct kvm *kvm);

#endif
