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
 * Entries are created on demand by nested page faults.  A mapped guest
 * page is pinned (pin_user_pages) until its entry is zapped; zapping
 * happens when a memory slot changes and when the VM dies.
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

/* Release a detached subtree: unpin its guest pages, free its tables. */
static void tdp_free_subtree(struct kvm *kvm, u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		u64 e = table[i];
		struct page *page;

		if (!(e & tdp_fmt()->present))
			continue;
		page = pfn_to_page((e & TDP_ADDR_MASK) >> PAGE_SHIFT);
		if (level == 1) {
			unpin_user_pages_dirty_lock(&page, 1,
						    e & tdp_fmt()->writable);
			kvm->tdp.nr_mapped--;
		} else {
			tdp_free_subtree(kvm, page_address(page), level - 1);
			free_page((unsigned long)page_address(page));
			kvm->tdp.nr_tables--;
		}
	}
}

/*
 * Drop every mapping.  The root stays (vCPUs point at it); its entries are
 * moved aside under the lock, every vCPU is forced out of the guest and
 * told to flush, and only then are pages unpinned and tables freed.
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

/*
 * Install gfn -> page.  Returns the page to unpin when the entry was
 * already there (another vCPU won the race), else NULL.
 */
static struct page *tdp_map(struct kvm *kvm, gpa_t gpa, struct page *page,
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
		 * Same page: pages stay pinned while mapped, so the host
		 * mapping cannot have moved.  Only widen the permissions.
		 */
		WARN_ON_ONCE((*e & TDP_ADDR_MASK) != page_to_phys(page));
		if (writable)
			*e |= tdp_fmt()->writable;
		return page;
	}
	WRITE_ONCE(*e, new);
	kvm->tdp.nr_mapped++;
	return NULL;
}

int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write,
		       bool fetch)
{
	struct kvm *kvm = vcpu->kvm;
	struct tdp_prealloc pre = { .n = 0 };
	struct kvm_memory_slot *slot;
	struct page *page, *dup;
	unsigned long hva;
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

	if (slot->flags & KVM_MEM_READONLY) {
		writable = false;
		n = pin_user_pages_unlocked(hva, 1, &page, 0);
	} else {
		n = pin_user_pages_unlocked(hva, 1, &page, FOLL_WRITE);
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
		n = pin_user_pages_unlocked(hva, 1, &page, 0);
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
	dup = tdp_map(kvm, gpa, page, writable, &pre);
	spin_unlock(&kvm->mmu_lock);
	mutex_unlock(&kvm->slots_lock);
	if (dup)
		unpin_user_page(dup);
	r = 1;
out_free:
	tdp_prealloc_free(&pre);
	return r;
}
