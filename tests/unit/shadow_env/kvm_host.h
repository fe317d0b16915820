/*
 * Unit-test stand-in for kernel/include/kvm_host.h: the parts of struct kvm
 * and struct kvm_vcpu that kernel/mmu/shadow.c (and the x86.h and
 * guest_mem.h it includes) use, with the shadow MMU's own state from the
 * real kernel/mmu/shadow_types.h.
 */
#ifndef KVM_HOST_H
#define KVM_HOST_H

#include "kernel_shim.h"
#include "kvm-abi.h"
#include "shadow_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KVM_USER_MEM_SLOTS	4
#define KVM_REQ_TLB_FLUSH	0
#define KVM_REQ_EVENT		1
#define KVM_REQ_MMU_RELOAD	2

enum kvm_reg {
	VCPU_REGS_RAX, VCPU_REGS_RCX, VCPU_REGS_RDX, VCPU_REGS_RBX,
	VCPU_REGS_RSP, VCPU_REGS_RBP, VCPU_REGS_RSI, VCPU_REGS_RDI,
	VCPU_REGS_R8, VCPU_REGS_R9, VCPU_REGS_R10, VCPU_REGS_R11,
	VCPU_REGS_R12, VCPU_REGS_R13, VCPU_REGS_R14, VCPU_REGS_R15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS
};

struct kvm_memory_slot {
	u32 id;
	u32 flags;
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	unsigned long *dirty_bitmap;
};

struct kvm_tdp_format {
	u64 present, table, leaf, writable;
	int levels;
};

struct kvm;
struct kvm_vcpu {
	struct kvm *kvm;
	u32 vcpu_id;
	unsigned long regs[NR_VCPU_REGS];
	u64 efer;
	struct { bool pending; u8 vector; } irq;
	struct { u8 pending; bool masked; } nmi;
	struct kvm_shadow_mmu shadow;
	unsigned long requests;
	struct {
		u64 exits, shadow_faults;
		u32 exit_hist[KVM_EXIT_HIST_SIZE];
	} stat;
};

struct kvm {
	struct mm_struct *mm;
	struct mutex slots_lock;
	struct kvm_memory_slot *slots[KVM_USER_MEM_SLOTS];
	spinlock_t mmu_lock;
	struct kvm_shadow_vm shadow;
	struct mmu_notifier mn;
	bool mn_registered;
	unsigned long mmu_seq;
	long mn_active;
};

#define kvm_pr_guest(fmt, ...) do { } while (0)

struct kvm_memory_slot *kvm_gfn_to_slot(struct kvm *kvm, gfn_t gfn);
void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn);
void kvm_make_all_vcpus_request(struct kvm *kvm, int req);
extern bool kvm_shadow_paging;
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 gva, u32 error_code);
int kvm_mmu_reload(struct kvm_vcpu *vcpu);
void kvm_mmu_reset_context(struct kvm_vcpu *vcpu);
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, u64 gva);
void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu);
void kvm_mmu_zap_all(struct kvm *kvm);
void kvm_tdp_zap_all(struct kvm *kvm);
bool kvm_tdp_zap_gfns(struct kvm *kvm, gfn_t start, gfn_t end);

#ifdef __cplusplus
}
#endif

#endif
