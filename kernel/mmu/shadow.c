// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadow paging: for CPUs (or a module configuration) without nested
 * paging.  The CPU runs the guest on a page table we build, which maps
 * guest-virtual addresses straight to host pages; the guest's own tables
 * are only read, by the walker (gpt_walk.c), when a shadow entry is
 * missing or too narrow and the CPU raises #PF.
 *
 * The shadow table behaves like a TLB the guest manages: an entry is
 * made from the guest's tables on the first fault, and the guest's own
 * TLB maintenance drops it (INVLPG, a CR3 load, a paging-mode change:
 * SDM vol. 3A 4.10.4).  Until then the guest may not rely on a change it
 * made to an entry that was already in use, exactly as on real hardware;
 * a not-present entry is never cached, so new mappings are seen at once.
 *
 * Format: always 64-bit entries, so the CPU runs the guest with PAE
 * paging (3 levels; for guests with paging off, 32-bit or PAE paging)
 * or long-mode paging with the guest's depth.  Shadow leaves are 4 KiB;
 * a guest large page is shadowed by 4 KiB pieces, and the parent entry
 * remembers it (SPTE_HAS_*), so that an INVLPG anywhere in the large
 * page drops all its pieces, as the SDM requires.
 *
 * Permissions of a leaf are the guest's effective ones (U/S, R/W, XD
 * along the walk), narrowed where we must see the next access:
 *  - a clean guest page is mapped read-only until written, so the walker
 *    sets its dirty bit at the first write;
 *  - pages of a slot with dirty logging are read-only until written;
 *  - with CR0.WP clear the CPU still runs with WP set: a supervisor write
 *    to a read-only page gets a writable, supervisor-only leaf (and, with
 *    SMEP, a non-executable one, since SMEP would forbid executing the
 *    user page the guest sees).
 * Guest pages are pinned while a leaf maps them.
 *
 * Locking: the VM's mmu_lock guards every vCPU's tables (another thread
 * zaps them when memory slots change).  Tables detached under the lock
 * are freed, and their pages unpinned, outside it.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/io.h>

#include "kvm_host.h"
#include "../x86/x86.h"
#include "../x86/guest_mem.h"

bool kvm_shadow_paging;

#define SPTE_P		(1ULL << 0)
#define SPTE_RW		(1ULL << 1)
#define SPTE_US		(1ULL << 2)
#define SPTE_A		(1ULL << 5)
#define SPTE_D		(1ULL << 6)
#define SPTE_NX		(1ULL << 63)
#define SPTE_ADDR	0x000ffffffffff000ULL
/*
 * Software bits (ignored by the CPU), in non-leaf entries: the table
 * below holds pieces of guest large pages.  2M: a 2 MiB page (this
 * entry's range); 4M: a 32-bit 4 MiB page (this range and its 2 MiB
 * buddy); 1G: a 1 GiB page (on a level-3 entry).
 */
#define SPTE_HAS_2M	(1ULL << 9)
#define SPTE_HAS_4M	(1ULL << 10)
#define SPTE_HAS_1G	(1ULL << 11)

#define SHADOW_MAX_LEVELS 5
/* A non-leaf entry: everything allowed, the leaf decides. */
#define SPTE_TABLE	(SPTE_P | SPTE_RW | SPTE_US | SPTE_A)

static inline int spte_index(u64 gva, int level)
{
	return (gva >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* PAE's top level (the PDPTEs) allows only P and the address. */
static inline u64 spte_table_bits(struct kvm_vcpu *vcpu, int level)
{
	if (vcpu->shadow.root_level == 3 && level == 3)
		return SPTE_P;
	return SPTE_TABLE;
}

/* Unpin the guest pages of a detached table and free it, recursively. */
static void shadow_free_table(u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		u64 e = table[i];
		struct page *page;

		if (!(e & SPTE_P))
			continue;
		page = pfn_to_page((e & SPTE_ADDR) >> PAGE_SHIFT);
		if (level == 1)
			unpin_user_pages_dirty_lock(&page, 1, e & SPTE_RW);
		else
			shadow_free_table(page_address(page), level - 1);
	}
	free_page((unsigned long)table);
}

/* Free the subtree an entry (at @level) pointed to; @e already detached. */
static void shadow_free_entry(u64 e, int level)
{
	struct page *page = pfn_to_page((e & SPTE_ADDR) >> PAGE_SHIFT);

	if (!(e & SPTE_P))
		return;
	if (level == 1)
		unpin_user_pages_dirty_lock(&page, 1, e & SPTE_RW);
	else
		shadow_free_table(page_address(page), level - 1);
}

static int shadow_root_level(struct kvm_vcpu *vcpu)
{
	struct gpt_walker w;

	kvm_vcpu_init_walker(vcpu, &w);
	switch (w.mode) {
	case GPT_LONG5:
		return 5;
	case GPT_LONG4:
		return 4;
	default:
		return 3;
	}
}

/*
 * Give the vCPU an empty root for its current paging mode and drop the
 * old tree.  Called before entry (KVM_REQ_MMU_RELOAD).
 */
int kvm_mmu_reload(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	int level = shadow_root_level(vcpu);
	/* A PAE CR3 holds a 32-bit address. */
	gfp_t gfp = GFP_KERNEL_ACCOUNT | (level == 3 ? GFP_DMA32 : 0);
	u64 *root = (u64 *)get_zeroed_page(gfp), *old;
	int old_level;

	if (!root)
		return -ENOMEM;
	spin_lock(&kvm->mmu_lock);
	old = vcpu->shadow.root;
	old_level = vcpu->shadow.root_level;
	vcpu->shadow.root = root;
	vcpu->shadow.root_level = level;
	vcpu->shadow.nr_tables = 1;
	spin_unlock(&kvm->mmu_lock);

	kvm_x86_ops.load_mmu_root(vcpu, __pa(root));
	if (kvm_x86_ops.flush_guest_tlb)
		kvm_x86_ops.flush_guest_tlb(vcpu);
	if (old)
		shadow_free_table(old, old_level);
	return 0;
}

void kvm_mmu_reset_context(struct kvm_vcpu *vcpu)
{
	if (kvm_shadow_paging)
		set_bit(KVM_REQ_MMU_RELOAD, &vcpu->requests);
	else
		set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
}

void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	if (!vcpu->shadow.root)
		return;
	shadow_free_table(vcpu->shadow.root, vcpu->shadow.root_level);
	vcpu->shadow.root = NULL;
}

/*
 * INVLPG (and INVPCID of one address): drop the leaf for @gva, or the
 * whole table holding it when it shadows part of a guest large page.
 */
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, u64 gva)
{
	struct kvm *kvm = vcpu->kvm;
	u64 *table, *e, detached[2] = { 0, 0 };
	int level, detached_level = 0;

	if (!kvm_shadow_paging) {
		set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
		return;
	}
	if (vcpu->shadow.root_level == 3)
		gva = (u32)gva;

	spin_lock(&kvm->mmu_lock);
	table = vcpu->shadow.root;
	for (level = vcpu->shadow.root_level; table && level >= 1; level--) {
		e = &table[spte_index(gva, level)];
		if (!(*e & SPTE_P))
			break;
		if (level == 1 || (level == 3 && (*e & SPTE_HAS_1G)) ||
		    (level == 2 && (*e & SPTE_HAS_2M))) {
			detached[0] = *e;
			*e = 0;
			detached_level = level;
			break;
		}
		if (level == 2 && (*e & SPTE_HAS_4M)) {
			/* A 32-bit 4 MiB page spans this entry and its buddy. */
			u64 *buddy = &table[spte_index(gva, 2) ^ 1];

			detached[0] = *e;
			detached[1] = *buddy;
			*e = 0;
			*buddy = 0;
			detached_level = 2;
			break;
		}
		table = __va(*e & SPTE_ADDR);
	}
	spin_unlock(&kvm->mmu_lock);

	if (!detached_level)
		return;
	/* This vCPU is not in the guest: flushing at its next entry is enough. */
	set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
	shadow_free_entry(detached[0], detached_level);
	shadow_free_entry(detached[1], detached_level);
}

/*
 * Drop every mapping of every vCPU: the roots stay, their entries are
 * moved aside, the vCPUs are kicked out of the guest with a TLB flush,
 * and only then are the tables freed and the pages unpinned.
 */
void kvm_mmu_zap_all(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	u64 **saved;
	int *levels;
	int i, n;

	if (!kvm_shadow_paging) {
		kvm_tdp_zap_all(kvm);
		return;
	}
	n = atomic_read(&kvm->online_vcpus);
	saved = kcalloc(n ?: 1, sizeof(*saved), GFP_KERNEL | __GFP_NOFAIL);
	levels = kcalloc(n ?: 1, sizeof(*levels), GFP_KERNEL | __GFP_NOFAIL);
	for (i = 0; i < n; i++)
		saved[i] = (u64 *)__get_free_page(GFP_KERNEL | __GFP_NOFAIL);

	spin_lock(&kvm->mmu_lock);
	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (i >= n)
			break;
		if (!vcpu->shadow.root) {
			memset(saved[i], 0, PAGE_SIZE);
			continue;
		}
		memcpy(saved[i], vcpu->shadow.root, PAGE_SIZE);
		memset(vcpu->shadow.root, 0, PAGE_SIZE);
		levels[i] = vcpu->shadow.root_level;
		vcpu->shadow.nr_tables = 1;
	}
	spin_unlock(&kvm->mmu_lock);

	kvm_make_all_vcpus_request(kvm, KVM_REQ_TLB_FLUSH);
	for (i = 0; i < n; i++) {
		if (levels[i])
			shadow_free_table(saved[i], levels[i]);
		else
			free_page((unsigned long)saved[i]);
	}
	kfree(levels);
	kfree(saved);
}

/*
 * A #PF the guest must see.  If the fault interrupted the delivery of
 * another event, the two combine as the SDM's table 6-5 says: #PF or a
 * contributory exception then #PF is a double fault, a fault while
 * delivering #DF shuts down.  An interrupted external interrupt or NMI
 * is delivered again after the handler of the #PF.
 */
static int shadow_inject_pf(struct kvm_vcpu *vcpu, u64 gva, u32 error_code)
{
	u32 err, info = kvm_x86_ops.get_injected_event(vcpu, &err);
	u32 vec = info & KVM_EVENT_VECTOR_MASK;

	if (info & KVM_EVENT_VALID) {
		switch (info & KVM_EVENT_TYPE_MASK) {
		case KVM_EVENT_TYPE_EXCEPT:
			if (vec == 8)
				return kvm_exit_shutdown(vcpu);
			if (vec == 14 || vec == 0 || (vec >= 10 && vec <= 13)) {
				kvm_x86_ops.set_injected_event(vcpu, 0, 0);
				kvm_x86_ops.queue_exception(vcpu, 8, true, 0);
				return 1;
			}
			break;
		case KVM_EVENT_TYPE_INTR:
			vcpu->irq.pending = true;
			vcpu->irq.vector = vec;
			break;
		case KVM_EVENT_TYPE_NMI:
			if (vcpu->nmi.pending < 2)
				vcpu->nmi.pending++;
			vcpu->nmi.masked = false;
			break;
		}
		kvm_x86_ops.set_injected_event(vcpu, 0, 0);
	}
	kvm_queue_pf(vcpu, gva, error_code);
	return 1;
}

/* Tables for one fault, allocated before taking mmu_lock. */
struct shadow_prealloc {
	u64 *tables[SHADOW_MAX_LEVELS - 1];
	int n;
};

static int shadow_prealloc_fill(struct shadow_prealloc *p, int need)
{
	while (p->n < need) {
		u64 *t = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!t)
			return -ENOMEM;
		p->tables[p->n++] = t;
	}
	return 0;
}

static void shadow_prealloc_free(struct shadow_prealloc *p)
{
	while (p->n)
		free_page((unsigned long)p->tables[--p->n]);
}

/*
 * Install @leaf for @gva under mmu_lock.  @large_bits go on the level-2
 * (2M/4M) or level-3 (1G) entry above it.  Returns the leaf replaced (to
 * unpin after the lock is dropped), or 0.
 */
static u64 shadow_install(struct kvm_vcpu *vcpu, u64 gva, u64 leaf,
			  int guest_level, bool pse32,
			  struct shadow_prealloc *p)
{
	u64 *table = vcpu->shadow.root, *e, old;
	int level;

	for (level = vcpu->shadow.root_level; level > 1; level--) {
		e = &table[spte_index(gva, level)];
		if (!(*e & SPTE_P)) {
			u64 *t = p->tables[--p->n];

			*e = __pa(t) | spte_table_bits(vcpu, level);
			vcpu->shadow.nr_tables++;
		}
		if (level == 3 && guest_level == 3)
			*e |= SPTE_HAS_1G;
		if (level == 2 && guest_level == 2)
			*e |= pse32 ? SPTE_HAS_4M : SPTE_HAS_2M;
		table = __va(*e & SPTE_ADDR);
	}
	e = &table[spte_index(gva, 1)];
	old = *e;
	WRITE_ONCE(*e, leaf);
	return old;
}

/*
 * A #PF intercepted in shadow mode, at guest-virtual @gva with the
 * hardware error code.  Either the guest's own tables deny the access
 * (reflect the fault), or the shadow lacks the translation (build it),
 * or the address is a device's (emulate the instruction).
 */
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 gva, u32 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	u32 access = error_code & (PFERR_WRITE | PFERR_USER | PFERR_FETCH);
	bool write = access & PFERR_WRITE;
	struct shadow_prealloc pre = { .n = 0 };
	struct kvm_memory_slot *slot;
	struct gpt_walk_info info;
	struct gpt_walker w;
	bool user, writable, nx;
	struct page *page;
	unsigned long hva;
	u32 guest_error;
	u64 leaf, old;
	gfn_t gfn;
	long n;
	int r;

	vcpu->stat.shadow_faults++;
	kvm_vcpu_init_walker(vcpu, &w);
	if (w.mode != GPT_LONG4 && w.mode != GPT_LONG5)
		gva = (u32)gva;

	switch (gpt_walk(&w, gva, access, &info, &guest_error)) {
	case GPT_OK:
		break;
	case GPT_FAULT:
		return shadow_inject_pf(vcpu, gva, guest_error);
	default:
		return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
			"guest page table outside guest memory", gva,
			error_code);
	}

	user = info.user;
	writable = info.writable;
	nx = info.nx;
	if (write && !writable && !(access & PFERR_USER) && !w.wp) {
		/* CR0.WP=0: the supervisor may write; keep users out. */
		writable = true;
		user = false;
		if (w.smep)
			nx = true;
	} else if (!info.dirty) {
		writable = false;	/* the first write sets D */
	}

	if (!vcpu->shadow.root)
		return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
			"shadow page fault without a shadow root", gva, 0);
	r = shadow_prealloc_fill(&pre, vcpu->shadow.root_level - 1);
	if (r)
		goto out_free;

	gfn = info.gpa >> PAGE_SHIFT;
	mutex_lock(&kvm->slots_lock);
	slot = kvm_gfn_to_slot(kvm, gfn);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		/* A device register (or a ROM being written): emulate. */
		mutex_unlock(&kvm->slots_lock);
		shadow_prealloc_free(&pre);
		vcpu->mmio.nr_reads = 0;
		return kvm_emulate_mmio(vcpu);
	}
	if (slot->flags & KVM_MEM_READONLY)
		writable = false;
	if (slot->dirty_bitmap && writable) {
		if (write)
			kvm_mark_page_dirty(kvm, gfn);
		else
			writable = false;
	}
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	n = pin_user_pages_unlocked(hva, 1, &page, writable ? FOLL_WRITE : 0);
	if (n != 1 && writable && !write) {
		/* Read-only host memory can still back guest reads. */
		writable = false;
		n = pin_user_pages_unlocked(hva, 1, &page, 0);
	}
	if (n != 1) {
		mutex_unlock(&kvm->slots_lock);
		kvm_pr_guest("vcpu %u: gpa 0x%llx (hva 0x%lx) has no host memory\n",
			     vcpu->vcpu_id, info.gpa, hva);
		r = -EFAULT;
		goto out_free;
	}

	leaf = page_to_phys(page) | SPTE_P | SPTE_A | SPTE_D |
	       (writable ? SPTE_RW : 0) | (user ? SPTE_US : 0) |
	       (nx ? SPTE_NX : 0);
	spin_lock(&kvm->mmu_lock);
	old = shadow_install(vcpu, gva, leaf, info.level,
			     w.mode == GPT_32, &pre);
	spin_unlock(&kvm->mmu_lock);
	mutex_unlock(&kvm->slots_lock);

	if (old & SPTE_P) {
		/* Replaced (another page after COW, or other rights). */
		set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
		shadow_free_entry(old, 1);
	}
	r = 1;
out_free:
	shadow_prealloc_free(&pre);
	return r;
}
