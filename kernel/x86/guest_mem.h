/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Access to guest memory from the kernel: by guest-physical address
 * through the memory slots (the host mapping of the VM process), and by
 * guest-virtual address through the guest's page tables.
 * Called in the vCPU thread, whose mm is the VM's.
 */
#ifndef KVM_GUEST_MEM_H
#define KVM_GUEST_MEM_H

#include "kvm_host.h"
#include "../mmu/gpt_walk.h"

int kvm_read_guest(struct kvm *kvm, gpa_t gpa, void *buf, unsigned int len);
int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *buf,
		    unsigned int len);
int kvm_cmpxchg_guest(struct kvm *kvm, gpa_t gpa, u64 old_val, u64 new_val,
		      unsigned int len, bool track);

/* Fill @w with the vCPU's current paging state. */
void kvm_vcpu_init_walker(struct kvm_vcpu *vcpu, struct gpt_walker *w);

/*
 * Outcome of a guest-virtual access.  KVM_GVA_FAULT: a #PF was queued for
 * the guest.  KVM_GVA_NO_MEMORY: part of the access (or a page table)
 * has no memory behind it.
 */
enum kvm_gva_result { KVM_GVA_OK, KVM_GVA_FAULT, KVM_GVA_NO_MEMORY };

enum kvm_gva_result kvm_gva_to_gpa(struct kvm_vcpu *vcpu, u64 gva, u32 access,
				   gpa_t *gpa);
enum kvm_gva_result kvm_read_guest_virt(struct kvm_vcpu *vcpu, u64 gva,
					void *buf, unsigned int len,
					u32 access);
enum kvm_gva_result kvm_write_guest_virt(struct kvm_vcpu *vcpu, u64 gva,
					 const void *buf, unsigned int len,
					 u32 access);

/*
 * Does the VM process map the 2 MiB of its address space around @hva with
 * one huge page (a transparent or hugetlb page, by PMD or PUD)?  Then
 * *@pa is the host-physical address of those 2 MiB and *@writable says
 * whether the host lets them be written now (writable and already dirty).
 * A lockless look at the host page tables, as get_user_pages_fast does:
 * the answer holds until the MMU notifier says that range changes.
 */
bool kvm_host_huge_2m(struct kvm *kvm, unsigned long hva, phys_addr_t *pa,
		      bool *writable);

int kvm_fetch_insn(struct kvm_vcpu *vcpu, u8 *insn, bool *long_mode);
void kvm_dump_guest_walk(struct kvm_vcpu *vcpu, u64 gva, const char *what);

#endif
