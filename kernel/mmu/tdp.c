// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested paging (two-dimensional paging): the table that maps
 * guest-physical to host-physical addresses, walked by the CPU after the
 * guest's own page tables.  4 KiB leaves, in the entry format the backend
 * names (struct kvm_tdp_format): the host long-mode format for AMD NPT
 * (APM vol. 2, 15.25), EPT's own for Intel (SDM vol. 3C 29.3.2).
 *
 * The NPT walk uses the paging mode the *host* is in at VMRUN: with
 * CR4.LA57 set (5-level paging, as Linux enables whenever the CPU has
 * it) the nested table must have 5 levels too.
 *
 * Entries are created on demand by nested page faults.  Guest pages are
 * not pinned: guest RAM is the VMM process's ordinary memory, which the
 * host may swap, migrate, merge or take away.  The MMU notifier on the
 * process's mm (kernel/mmu/shadow.c registers it for both MMUs) drops the
 * entries of a host range before the host changes it (kvm_tdp_zap_gfns),
 * and a fault that raced with that retries (mmu_seq).  Everything is
 * zapped when a memory slot changes and when the VM dies.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/io.h>

#include "kvm_host.h"
#include "../x86/x86.h"

#define TDP_MAX_LEVELS	5
#define TDP_ADDR_MASK	0x000ffffffffff000ULL

/* The entry encoding comes from the backend (kvm_x86_ops.tdp_format). */
static inline const struct kvm_tdp_format *tdp_fmt(void)
{
	return kvm_x86_ops.tdp_format;
}

static inline int tdp_index(gpa_t gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static int tdp_levels(void)
{
	if (tdp_fmt()->levels)
		return tdp_fmt()->levels;
	return pgtable_l5_enabled() ? 5 : 4;
}

int kvm_tdp_init(struct kvm *kvm)
{
	kvm->tdp.root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!kvm->tdp.root)
		return -ENOMEM;
	kvm->tdp.nr_tables = 1;
	return 0;
}

/* Release a detached subtree: forget its guest pages, free its tables. */
static void tdp_free_subtree(struct kvm *kvm, u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		u64 e = table[i];

		if (!(e & tdp_fmt()->present))
			continue;
		if (level == 1) {
			kvm->tdp.nr_mapped--;
		} else {
			u64 *t = __va(e & TDP_ADDR_MASK);

			tdp_free_subtree(kvm, t, level - 1);
			free_page((unsigned long)t);
			kvm->tdp.nr_tables--;
		}
	}
}

/*
 * Clear the leaves for guest frames [@start, @end] (the host is about to
 * change their pages).  Tables stay.  mmu_lock held; returns whether a
 * leaf was present (every vCPU must flush before the host goes on).
 */
static bool tdp_zap_range(struct kvm *kvm, u64 *table, int level,
			  gfn_t base, gfn_t start, gfn_t end)
{
	gfn_t span = 1ULL << (9 * (level - 1));	/* frames per entry */
	bool any = false;
	int i;

	for (i = (start - base) / span; i < 512; i++) {
		gfn_t first = base + i * span;
		u64 e = table[i];

		if (first > end)
			break;
		if (!(e & tdp_fmt()->present))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[i], 0);
			kvm->tdp.nr_mapped--;
			any = true;
		} else {
			any |= tdp_zap_range(kvm, __va(e & TDP_ADDR_MASK),
					     level - 1, first,
					     max(start, first), end);
		}
	}
	return any;
}

bool kvm_tdp_zap_gfns(struct kvm *kvm, gfn_t start, gfn_t end)
{
	if (!kvm->tdp.root)
		return false;
	return tdp_zap_range(kvm, kvm->tdp.root, tdp_levels(), 0, start, end);
}

/*
 * Drop every mapping.  The root stays (vCPUs point at it); its entries are
 * moved aside under the lock, every vCPU is forced out of the guest and
 * told to flush, and only then are the tables freed.
 */
void kvm_tdp_zap_all(struct kvm *kvm)
{
	u64 *old = (u64 *)__get_free_page(GFP_KERNEL | __GFP_NOFAIL);

	spin_lock(&kvm->mmu_lock);
	memcpy(old, kvm->tdp.root, PAGE_SIZE);
	memset(kvm->tdp.root, 0, PAGE_SIZE);
	spin_unlock(&kvm->mmu_lock);

	kvm_make_all_vcpus_request(kvm, KVM_REQ_TLB_FLUSH);
	tdp_free_subtree(kvm, old, tdp_levels());
	free_page((unsigned long)old);
}

void kvm_tdp_destroy(struct kvm *kvm)
{
	if (!kvm->tdp.root)
		return;
	tdp_free_subtree(kvm, kvm->tdp.root, tdp_levels());
	free_page((unsigned long)kvm->tdp.root);
	kvm->tdp.root = NULL;
	WARN_ON_ONCE(kvm->tdp.nr_mapped);
}

/*
 * The leaf entry that maps @gpa now, or 0 (diagnostics: what a guest's
 * accesses to @gpa reach).
 */
u64 kvm_tdp_lookup(struct kvm *kvm, gpa_t gpa)
{
	u64 *table, e = 0;
	int level;

	spin_lock(&kvm->mmu_lock);
	table = kvm->tdp.root;
	for (level = tdp_levels(); table && level >= 1; level--) {
		e = table[tdp_index(gpa, level)];
		if (!(e & tdp_fmt()->present)) {
			e = 0;
			break;
		}
		table = level > 1 ? __va(e & TDP_ADDR_MASK) : NULL;
	}
	spin_unlock(&kvm->mmu_lock);
	return e;
}

/* Tables for one walk, allocated before taking mmu_lock. */
struct tdp_prealloc {
	u64 *tables[TDP_MAX_LEVELS - 1];
	int n;
};

static int tdp_prealloc_fill(struct tdp_prealloc *p)
{
	while (p->n < tdp_levels() - 1) {
		u64 *t = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!t)
			return -ENOMEM;
		p->tables[p->n++] = t;
	}
	return 0;
}

static void tdp_prealloc_free(struct tdp_prealloc *p)
{
	while (p->n)
		free_page((unsigned long)p->tables[--p->n]);
}

/* Install gfn -> page (mmu_lock held, the host mapping checked current). */
static void tdp_map(struct kvm *kvm, gpa_t gpa, struct page *page,
		    bool writable, struct tdp_prealloc *p)
{
	u64 *table = kvm->tdp.root;
	u64 *e, new;
	int level;

	for (level = tdp_levels(); level > 1; level--) {
		e = &table[tdp_index(gpa, level)];
		if (!(*e & tdp_fmt()->present)) {
			u64 *t = p->tables[--p->n];

			*e = __pa(t) | tdp_fmt()->table;
			kvm->tdp.nr_tables++;
		}
		table = __va(*e & TDP_ADDR_MASK);
	}

	e = &table[tdp_index(gpa, 1)];
	new = page_to_phys(page) | tdp_fmt()->leaf |
	      (writable ? tdp_fmt()->writable : 0);
	if (*e & tdp_fmt()->present) {
		/*
		 * Another vCPU mapped it since the same host mapping was
		 * current (a change would have zapped it and moved mmu_seq):
		 * the same page.  Only widen the permissions.
		 */
		WARN_ON_ONCE((*e & TDP_ADDR_MASK) != page_to_phys(page));
		if (writable)
			WRITE_ONCE(*e, *e | tdp_fmt()->writable);
		return;
	}
	WRITE_ONCE(*e, new);
	kvm->tdp.nr_mapped++;
}

int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write,
		       bool fetch)
{
	struct kvm *kvm = vcpu->kvm;
	struct tdp_prealloc pre = { .n = 0 };
	struct kvm_memory_slot *slot;
	unsigned long hva, seq;
	struct page *page;
	bool writable = true;
	long n;
	int r;

	vcpu->stat.npf_exits++;
	if (gpa >> boot_cpu_data.x86_phys_bits ||
	    gpa >> (PAGE_SHIFT + 9 * tdp_levels()))
		return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
			"guest-physical address beyond the host's MAXPHYADDR",
			gpa, 0);

	r = tdp_prealloc_fill(&pre);
	if (r)
		goto out_free;

	/* Before looking at the host mapping (kvm_shadow_page_fault too). */
	seq = READ_ONCE(kvm->mmu_seq);
	smp_rmb();

	mutex_lock(&kvm->slots_lock);
	slot = kvm_gfn_to_slot(kvm, gpa >> PAGE_SHIFT);
	/*
	 * No RAM here: a device register.  Emulate the access.  A write to a
	 * read-only slot (ROM) goes the same way: userspace sees it as MMIO.
	 */
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		mutex_unlock(&kvm->slots_lock);
		tdp_prealloc_free(&pre);
		vcpu->mmio.nr_reads = 0;
		return kvm_emulate_mmio(vcpu);
	}
	hva = slot->userspace_addr +
	      (((gpa >> PAGE_SHIFT) - slot->base_gfn) << PAGE_SHIFT);

	/* Not pinned: the MMU notifier tells when the page goes. */
	if (slot->flags & KVM_MEM_READONLY) {
		writable = false;
		n = get_user_pages_unlocked(hva, 1, &page, 0);
	} else {
		n = get_user_pages_unlocked(hva, 1, &page, FOLL_WRITE);
	}
	/*
	 * With dirty logging, a page is mapped writable only once the guest
	 * writes it, and that write is recorded.
	 */
	if (n == 1 && slot->dirty_bitmap) {
		if (write)
			kvm_mark_page_dirty(kvm, gpa >> PAGE_SHIFT);
		else
			writable = false;
	}
	if (n != 1 && !write) {
		/* Read-only host memory can still back guest reads. */
		writable = false;
		n = get_user_pages_unlocked(hva, 1, &page, 0);
	}
	if (n != 1) {
		/* Like upstream: the slot's host memory is gone: -EFAULT. */
		mutex_unlock(&kvm->slots_lock);
		kvm_pr_guest("vcpu %u: gpa 0x%llx (hva 0x%lx) has no host memory\n",
			     vcpu->vcpu_id, gpa, hva);
		r = -EFAULT;
		goto out_free;
	}

	spin_lock(&kvm->mmu_lock);
	/* The host mapping changed under us: the guest faults again. */
	if (!kvm->mn_active && kvm->mmu_seq == seq)
		tdp_map(kvm, gpa, page, writable, &pre);
	spin_unlock(&kvm->mmu_lock);
	mutex_unlock(&kvm->slots_lock);
	put_page(page);
	r = 1;
out_free:
	tdp_prealloc_free(&pre);
	return r;
}
