// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadow paging: for CPUs (or a module configuration) without nested
 * paging.  The CPU runs the guest on page tables we build, which map
 * guest-virtual addresses straight to host pages.
 *
 * Shadow pages.  Each shadow table page ("shadow page", struct
 * shadow_page) shadows one guest page table, identified by its guest
 * frame (gfn) and a role: level, entry format, which part of a 32-bit
 * guest table it covers (quadrant), the permissions accumulated above it,
 * CR0.WP.  The shadow tree has the guest tree's shape, so a guest table
 * reachable from many guest CR3s (the kernel half of every process) has
 * one shadow, and a CR3 load finds the root it had before: shadow pages
 * are cached in a hash keyed by (gfn, role) and survive CR3 switches
 * (module parameter shadow_cache=0 turns this off: every root is then
 * built afresh and its tree freed when it is left, to measure the gain).
 * A guest large page is shadowed by a large leaf (a 2 MiB shadow entry)
 * when the host backs those 2 MiB with one huge page (a transparent or
 * hugetlb page, mapped by one host PMD or PUD) and no guest table in them
 * has a shadow (a large leaf could not keep such a table read-only; each
 * 2 MiB frame counts its shadowed tables); otherwise, and in slots that
 * log dirty pages, by a "direct" shadow page of 4 KiB leaves, keyed by
 * the large page's frame.  A table shadowed later drops the large leaves
 * over it (write_protect_gfn); a huge page the host splits or moves drops
 * them through the MMU notifier; a direct table found where a large leaf
 * now fits (the host made the huge page since) is replaced by one.
 *
 * Write protection.  A guest page table that has a shadow is mapped
 * read-only in every shadow (the reverse map finds the leaves mapping a
 * frame).  A guest write to it faults and is emulated (kernel/emulate/);
 * the write lands in guest memory through kvm_write_guest(), which calls
 * kvm_mmu_track_write() to drop the shadow entries of the entries
 * written.  A page written misaligned (not one whole entry) or written
 * again and again without being used for translation (write flooding) is
 * probably no longer a page table: its shadow pages are zapped, which
 * lifts the protection.  An instruction the emulator cannot do also
 * unshadows the page and runs again natively.
 *
 * Out-of-sync leaf tables.  A last-level guest table the guest writes
 * (fork's copy-on-write setup, exec, munmap) would cost one emulated
 * write per entry.  Instead, when a write faults on such a table and
 * every shadow of it is a leaf page (level 1; a table with a shadow one
 * level up always stays protected), its shadows are marked unsync and the
 * guest gets a writable mapping: its writes go straight to memory and the
 * shadow entries may go stale, as a TLB may.  INVLPG drops the one
 * shadow entry of its address.  At the guest's next full flush (CR3
 * write, a CR0/CR4/EFER paging change: all exits), before it runs again,
 * kvm_shadow_sync() protects again every unsync table the vCPU's new
 * roots reach, flushes every vCPU (no stale writable mapping of the
 * table is left), then reads the guest entries and drops or narrows the
 * shadow entries that no longer match.  A shadow of the table found in
 * the cache for a new parent is synced first, and a fault that links a
 * cached table with unsync tables below syncs those before the guest
 * goes on; a new shadow one level up of an unsync table zaps its unsync
 * shadows (module parameter shadow_unsync=0 turns all this off, to
 * measure it).
 *
 * Reverse map.  gfn -> every shadow leaf mapping it (an xarray of lists),
 * for write protection, dirty logging, and the MMU notifier: guest pages
 * are not pinned; when the host unmaps, migrates or swaps a page of the
 * VM's mm, invalidate_range_start drops the leaves that map it, and a
 * fault racing with it retries (mmu_seq).  So guest memory stays
 * swappable.
 *
 * Prefetch.  A fault also maps the neighbours of its leaf (an aligned
 * group of SHADOW_PREFETCH entries of the same guest table) that the
 * guest has made present and accessed and whose host pages are mapped,
 * with the rights a fault would give them: one exit instead of one per
 * page after exec, fork or a table shadowed again.
 *
 * Bounded.  At most shadow_max_pages shadow pages per VM (0: 2% of guest
 * memory, at least 256); beyond that the least recently used unused ones
 * are zapped.
 *
 * Leaf permissions are the guest's effective ones (U/S, R/W, XD along the
 * walk), narrowed where we must see the next access: a clean guest page
 * is read-only until written (the walker sets D); a page of a slot with
 * dirty logging too; a shadowed page table always.  With CR0.WP clear
 * the CPU still runs with WP set: a supervisor write to a read-only page
 * gets a writable, supervisor-only leaf (and with SMEP a non-executable
 * one, as SMEP would forbid running the user page the guest sees).
 *
 * Entry format: always 64-bit entries, so the CPU runs the guest with PAE
 * paging (3 levels: for guests with paging off, 32-bit or PAE paging; the
 * top level is a per-vCPU 4-entry page, pae_root) or long-mode paging of
 * the guest's depth.
 *
 * Locking: the VM's mmu_lock guards all shadow pages, the hash, the LRU,
 * the reverse map and each vCPU's roots.  Nothing under it sleeps.  A
 * fault installs its leaf holding slots_lock too (taken first), so that
 * KVM_GET_DIRTY_LOG, which holds slots_lock, sees a writable leaf and its
 * dirty bit together.  vCPUs fault concurrently: what a fault read from
 * the guest's tables without the lock is checked again afterwards when a
 * table on its path was shadowed or written meanwhile (pt_writes).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mmu_notifier.h>
#include <linux/xarray.h>
#include <linux/uaccess.h>

#include "kvm_host.h"
#include "../x86/x86.h"
#include "../x86/guest_mem.h"
#include "shadow.h"

bool kvm_shadow_paging;

static bool shadow_cache = true;
module_param(shadow_cache, bool, 0444);
MODULE_PARM_DESC(shadow_cache, "Shadow paging: keep shadow pages across CR3 switches (default 1)");

static unsigned int shadow_max_pages;
module_param(shadow_max_pages, uint, 0444);
MODULE_PARM_DESC(shadow_max_pages, "Shadow paging: shadow pages per VM (0: 2% of guest memory, at least 256)");

static bool shadow_prefetch = true;
module_param(shadow_prefetch, bool, 0644);
MODULE_PARM_DESC(shadow_prefetch, "Shadow paging: a fault also maps the accessed neighbours of its page (default 1)");

static bool shadow_unsync = true;
module_param(shadow_unsync, bool, 0444);
MODULE_PARM_DESC(shadow_unsync, "Shadow paging: let last-level guest page tables the guest writes go out of sync until its next TLB flush, instead of emulating each write (default 1)");

static bool shadow_large = true;
module_param(shadow_large, bool, 0644);
MODULE_PARM_DESC(shadow_large, "Shadow paging: map a guest large page with a 2 MiB shadow entry when the host backs it with a huge page (default 1)");

static bool shadow_stats;
module_param(shadow_stats, bool, 0644);
MODULE_PARM_DESC(shadow_stats, "Shadow paging: log each VM's shadow MMU counters when it is destroyed (default 0)");

#define SPTE_P		(1ULL << 0)
#define SPTE_RW		(1ULL << 1)
#define SPTE_US		(1ULL << 2)
#define SPTE_A		(1ULL << 5)
#define SPTE_D		(1ULL << 6)
#define SPTE_PS		(1ULL << 7)	/* level 2: a 2 MiB leaf */
#define SPTE_NX		(1ULL << 63)
#define SPTE_ADDR	0x000ffffffffff000ULL
/* A non-leaf entry: everything allowed, the leaf decides. */
#define SPTE_TABLE	(SPTE_P | SPTE_RW | SPTE_US | SPTE_A)

/* Frames under a large leaf (2 MiB). */
#define SHADOW_LARGE_SHIFT	9
#define SHADOW_LARGE_FRAMES	(1UL << SHADOW_LARGE_SHIFT)

/* Writes to one shadowed table, with no translation through it between. */
#define SHADOW_FLOOD_WRITES	3
/* New shadow pages one fault can need (levels below the root). */
#define SHADOW_FAULT_PAGES	4
/*
 * A fault also maps the present, accessed neighbours of its leaf in the
 * same guest table (an aligned group of this many): a guest fills
 * several entries at once (fault-around, fork, exec, a table unshadowed
 * and shadowed again) and would otherwise take one exit per page.
 */
#define SHADOW_PREFETCH		16

struct shadow_link {
	u64 *sptep;
	struct shadow_link *next;
};

/* One shadow table page.  All fields guarded by mmu_lock. */
struct shadow_page {
	struct hlist_node hash_link;	/* unhashed once zapped */
	struct list_head lru;		/* kvm->shadow.lru, recent first */
	u64 *spt;			/* the table; page_private -> this */
	gfn_t *gfns;			/* frame of each leaf (level 1; level 2
					 * once it has a large leaf: its first) */
	gfn_t gfn;
	union shadow_role role;
	int root_count;			/* vCPUs using it as a root */
	bool invalid;			/* zapped, waiting for root_count 0 */
	unsigned int write_flooding;
	/*
	 * Out of sync (level 1 only): its guest table is not write-protected
	 * and the guest writes it natively; the entries are read again at
	 * the guest's next TLB flush (kvm_shadow_sync).  need_sync: protected
	 * again, its entries not yet read.  On kvm->shadow.unsync while
	 * either is set.
	 */
	bool unsync, need_sync;
	struct list_head sync_link;
	struct shadow_link *parents;	/* entries pointing at this table */
	/* A root: unsync_gen when nothing below it was out of sync. */
	unsigned long sync_checked;
	/*
	 * Its guest table was writable in some leaf when it was shadowed:
	 * until flush_done reaches this, a vCPU may still write the table
	 * through a stale TLB entry, so prefetch does not trust it.
	 */
	unsigned long wp_gen;
};

static inline struct shadow_page *sp_of(u64 *sptep)
{
	return (struct shadow_page *)page_private(virt_to_page(sptep));
}

static inline int spte_index(u64 gva, int level)
{
	return (gva >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static inline struct hlist_head *sp_bucket(struct kvm *kvm, gfn_t gfn)
{
	return &kvm->shadow.hash[hash_64(gfn, KVM_SHADOW_HASH_BITS)];
}

/* ---- Preallocation: everything a fault may need, before mmu_lock ------- */

struct shadow_prealloc {
	struct shadow_page *sps[SHADOW_FAULT_PAGES];
	int nsp;
	gfn_t *gfns[SHADOW_FAULT_PAGES];
	int ngfns;
	struct shadow_link *links[2 * SHADOW_FAULT_PAGES + 2 + SHADOW_PREFETCH];
	int nlinks;
};

static int prealloc_fill(struct shadow_prealloc *p)
{
	while (p->nsp < SHADOW_FAULT_PAGES) {
		struct shadow_page *sp = kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);

		if (!sp)
			return -ENOMEM;
		sp->spt = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!sp->spt) {
			kfree(sp);
			return -ENOMEM;
		}
		set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
		p->sps[p->nsp++] = sp;
	}
	while (p->ngfns < SHADOW_FAULT_PAGES) {
		gfn_t *g = (gfn_t *)__get_free_page(GFP_KERNEL_ACCOUNT);

		if (!g)
			return -ENOMEM;
		p->gfns[p->ngfns++] = g;
	}
	while (p->nlinks < (int)ARRAY_SIZE(p->links)) {
		struct shadow_link *l = kmalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

		if (!l)
			return -ENOMEM;
		p->links[p->nlinks++] = l;
	}
	return 0;
}

/* The vCPU's store of preallocated pages, kept topped up between faults. */
static struct shadow_prealloc *vcpu_prealloc(struct kvm_vcpu *vcpu)
{
	if (!vcpu->shadow.prealloc)
		vcpu->shadow.prealloc = kzalloc(sizeof(struct shadow_prealloc),
						GFP_KERNEL_ACCOUNT);
	return vcpu->shadow.prealloc;
}

static void prealloc_free(struct shadow_prealloc *p)
{
	while (p->nsp) {
		struct shadow_page *sp = p->sps[--p->nsp];

		set_page_private(virt_to_page(sp->spt), 0);
		free_page((unsigned long)sp->spt);
		kfree(sp);
	}
	while (p->ngfns)
		free_page((unsigned long)p->gfns[--p->ngfns]);
	while (p->nlinks)
		kfree(p->links[--p->nlinks]);
}

/* ---- Links: parents of a shadow page, reverse map ---------------------- */

static void link_add(struct shadow_link **head, u64 *sptep,
		     struct shadow_prealloc *p)
{
	struct shadow_link *l = p->links[--p->nlinks];

	l->sptep = sptep;
	l->next = *head;
	*head = l;
}

static void link_del(struct shadow_link **head, u64 *sptep)
{
	struct shadow_link **pp, *l;

	for (pp = head; (l = *pp); pp = &l->next) {
		if (l->sptep == sptep) {
			*pp = l->next;
			kfree(l);
			return;
		}
	}
	WARN_ONCE(1, "kvm: shadow link %p missing\n", sptep);
}

/*
 * Reverse maps: kvm->shadow.rmap by guest frame for 4 KiB leaves,
 * kvm->shadow.rmap_large by 2 MiB frame (gfn >> 9) for large ones.
 */
static void rmap_add(struct xarray *rmap, unsigned long key, u64 *sptep,
		     struct shadow_prealloc *p)
{
	struct shadow_link *head = xa_load(rmap, key);

	link_add(&head, sptep, p);
	/* The index was reserved before mmu_lock: no allocation here. */
	xa_store(rmap, key, head, GFP_ATOMIC);
}

static void rmap_del(struct xarray *rmap, unsigned long key, u64 *sptep)
{
	struct shadow_link *head = xa_load(rmap, key);

	link_del(&head, sptep);
	if (head)
		xa_store(rmap, key, head, GFP_ATOMIC);
	else
		xa_erase(rmap, key);
}

/* Is entry @e of @sp a leaf (4 KiB, or 2 MiB at level 2)? */
static inline bool spte_is_leaf(const struct shadow_page *sp, u64 e)
{
	return sp->role.level == 1 || (e & SPTE_PS);
}

/* Take the present leaf @i of @sp out of its reverse map. */
static void leaf_rmap_del(struct kvm *kvm, struct shadow_page *sp, int i)
{
	if (sp->role.level == 1)
		rmap_del(&kvm->shadow.rmap, sp->gfns[i], &sp->spt[i]);
	else
		rmap_del(&kvm->shadow.rmap_large,
			 sp->gfns[i] >> SHADOW_LARGE_SHIFT, &sp->spt[i]);
}

/*
 * Guest tables with a shadow, counted by 2 MiB frame: a large leaf may
 * map those 2 MiB only while the count is 0.  A count that cannot be
 * stored (no memory, under mmu_lock) turns large leaves off for the VM.
 */
static void lpage_tables_add(struct kvm *kvm, gfn_t gfn, long delta)
{
	unsigned long key = gfn >> SHADOW_LARGE_SHIFT;
	void *old = xa_load(&kvm->shadow.lpage_tables, key);
	long n = (old ? (long)xa_to_value(old) : 0) + delta;

	if (kvm->shadow.no_large)
		return;
	if (n <= 0) {
		WARN_ON_ONCE(n < 0);
		xa_erase(&kvm->shadow.lpage_tables, key);
	} else if (xa_err(xa_store(&kvm->shadow.lpage_tables, key,
				   xa_mk_value(n), GFP_ATOMIC | __GFP_ACCOUNT))) {
		kvm->shadow.no_large = true;
	}
}

static bool lpage_has_tables(struct kvm *kvm, gfn_t gfn)
{
	return kvm->shadow.no_large ||
	       xa_load(&kvm->shadow.lpage_tables, gfn >> SHADOW_LARGE_SHIFT);
}

/* ---- Zapping ------------------------------------------------------------ */

static void zap_page(struct kvm *kvm, struct shadow_page *sp);

/*
 * Clear one entry: a leaf leaves the reverse map; a table entry unlinks
 * its child (which stays cached, unless the cache is off).  Returns
 * whether it was present (TLBs must be flushed).
 */
static bool drop_spte(struct kvm *kvm, u64 *sptep)
{
	struct shadow_page *sp = sp_of(sptep), *child;
	u64 e = *sptep;

	if (!(e & SPTE_P))
		return false;
	WRITE_ONCE(*sptep, 0);
	/* No vCPU may keep using it (the host may free the page next). */
	kvm->shadow.need_flush = true;
	if (spte_is_leaf(sp, e)) {
		leaf_rmap_del(kvm, sp, sptep - sp->spt);
		return true;
	}
	child = sp_of(__va(e & SPTE_ADDR));
	link_del(&child->parents, sptep);
	/* Cache off: a page nothing points at is freed (sweep_orphans). */
	if (!shadow_cache && !child->parents && !child->root_count)
		kvm->shadow.orphans = true;
	return true;
}

/* @sp leaves the hash (it is zapped): its guest table is no longer shadowed. */
static void sp_unhash(struct kvm *kvm, struct shadow_page *sp)
{
	if (hlist_unhashed(&sp->hash_link))
		return;
	hlist_del_init(&sp->hash_link);
	if (!sp->role.direct)
		lpage_tables_add(kvm, sp->gfn, -1);
}

/* Take @sp off the unsync list (it is zapped). */
static void sp_forget_sync(struct kvm *kvm, struct shadow_page *sp)
{
	if (!list_empty(&sp->sync_link)) {
		list_del_init(&sp->sync_link);
		kvm->shadow.nr_unsync--;
	}
	sp->unsync = sp->need_sync = false;
}

static void free_page_sp(struct kvm *kvm, struct shadow_page *sp)
{
	list_del(&sp->lru);
	set_page_private(virt_to_page(sp->spt), 0);
	free_page((unsigned long)sp->spt);
	if (sp->gfns)
		free_page((unsigned long)sp->gfns);
	kfree(sp);
	kvm->shadow.nr_pages--;
}

/*
 * Zap a shadow page: no entry points at it any more, its own entries are
 * dropped, and it leaves the hash.  A page still used as a root is freed
 * when its last vCPU lets go (every vCPU reloads first: the caller asks).
 */
static void zap_page(struct kvm *kvm, struct shadow_page *sp)
{
	struct shadow_link *l;
	int i;

	while ((l = sp->parents)) {
		sp->parents = l->next;
		WRITE_ONCE(*l->sptep, 0);
		kfree(l);
	}
	for (i = 0; i < 512; i++)
		drop_spte(kvm, &sp->spt[i]);
	sp_unhash(kvm, sp);
	sp_forget_sync(kvm, sp);
	sp->invalid = true;
	kvm->shadow.need_flush = true;
	if (sp->root_count)
		kvm->shadow.need_reload = true;
	else
		/* Another vCPU's CPU may be walking it: free after the flush. */
		list_move(&sp->lru, &kvm->shadow.zapped);
}

/* Free the zapped pages: every vCPU has left the guest since. */
static void free_zapped(struct kvm *kvm, struct list_head *zapped)
{
	struct shadow_page *sp, *tmp;

	list_for_each_entry_safe(sp, tmp, zapped, lru)
		free_page_sp(kvm, sp);
}

/*
 * Cache off: free the pages left without parent or vCPU.  zap_page frees
 * only the page it is given, so walking the list is safe; their children
 * may become orphans in turn.
 */
static void sweep_orphans(struct kvm *kvm)
{
	struct shadow_page *sp, *tmp;

	while (kvm->shadow.orphans) {
		kvm->shadow.orphans = false;
		list_for_each_entry_safe(sp, tmp, &kvm->shadow.lru, lru)
			if (!sp->parents && !sp->root_count && !sp->invalid)
				zap_page(kvm, sp);
	}
}

static void mmu_unlock(struct kvm *kvm)
{
	sweep_orphans(kvm);
	spin_unlock(&kvm->mmu_lock);
}

/*
 * Flush every vCPU's TLB (and reload roots that were zapped) after
 * changes made under mmu_lock; called after dropping it.
 */
static void shadow_flush(struct kvm *kvm)
{
	LIST_HEAD(zapped);
	unsigned long gen = 0;
	bool flush, reload;

	spin_lock(&kvm->mmu_lock);
	flush = kvm->shadow.need_flush;
	reload = kvm->shadow.need_reload;
	kvm->shadow.need_flush = kvm->shadow.need_reload = false;
	list_splice_init(&kvm->shadow.zapped, &zapped);
	if (flush || reload || !list_empty(&zapped)) {
		gen = ++kvm->shadow.flush_started;
		kvm->shadow.stale_tlbs = false;
	}
	spin_unlock(&kvm->mmu_lock);
	if (!gen)
		return;
	/* Returns once every CPU has taken the IPI: no vCPU is in the guest. */
	if (READ_ONCE(kvm->shadow.dying))
		;	/* the vCPUs are gone (or going): nobody to tell */
	else if (reload)
		kvm_make_all_vcpus_request(kvm, KVM_REQ_MMU_RELOAD);
	else
		kvm_make_all_vcpus_request(kvm, KVM_REQ_TLB_FLUSH);
	spin_lock(&kvm->mmu_lock);
	if (gen > kvm->shadow.flush_done)
		kvm->shadow.flush_done = gen;
	free_zapped(kvm, &zapped);
	spin_unlock(&kvm->mmu_lock);
}

/*
 * Drop the large leaves over @gfn (one 4 KiB frame cannot be made
 * read-only in them); whether there were any.
 */
static bool drop_large_over(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_link *l;
	bool any = false;

	while ((l = xa_load(&kvm->shadow.rmap_large, gfn >> SHADOW_LARGE_SHIFT))) {
		drop_spte(kvm, l->sptep);
		any = true;
	}
	return any;
}

/* Make every leaf mapping @gfn read-only; whether one was writable. */
static bool write_protect_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_link *l;
	bool changed = drop_large_over(kvm, gfn);

	for (l = xa_load(&kvm->shadow.rmap, gfn); l; l = l->next) {
		if (*l->sptep & SPTE_RW) {
			WRITE_ONCE(*l->sptep, *l->sptep & ~SPTE_RW);
			kvm->shadow.need_flush = true;
			changed = true;
		}
	}
	return changed;
}

/*
 * Must the guest table at @gfn be write-protected: does a shadow of it
 * follow it entry by entry (any shadow but an unsync one)?
 */
static bool gfn_write_protected(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_page *sp;

	hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync)
			return true;
	return false;
}

/* May the guest table at @gfn go out of sync: are all its shadows leaves? */
static bool gfn_can_unsync(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_page *sp;

	if (!shadow_unsync)
		return false;
	hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link)
		if (sp->gfn == gfn && !sp->role.direct && sp->role.level > 1)
			return false;
	return true;
}

/* Let every shadow of the guest table at @gfn go out of sync. */
static void unsync_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_page *sp;

	hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link) {
		if (sp->gfn != gfn || sp->role.direct || sp->unsync)
			continue;
		sp->unsync = true;
		kvm->shadow.unsync_gen++;
		if (list_empty(&sp->sync_link)) {
			list_add_tail(&sp->sync_link, &kvm->shadow.unsync);
			kvm->shadow.nr_unsync++;
		}
		kvm->shadow.unsynced++;
	}
}

/* Zap the unsync shadows of @gfn: it gets a shadow one level up. */
static void zap_unsync_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_page *sp;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(sp, tmp, sp_bucket(kvm, gfn), hash_link)
		if (sp->gfn == gfn && sp->unsync)
			zap_page(kvm, sp);
}

/* Zap every shadow of the guest table at @gfn: it is not one any more. */
static void unshadow_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct shadow_page *sp;
	struct hlist_node *tmp;

	/* zap_page frees only @sp (children wait for sweep_orphans). */
	hlist_for_each_entry_safe(sp, tmp, sp_bucket(kvm, gfn), hash_link)
		if (sp->gfn == gfn && !sp->role.direct)
			zap_page(kvm, sp);
}

/* Keep the number of shadow pages under the bound: LRU first. */
static void reclaim(struct kvm *kvm, unsigned long room)
{
	struct shadow_page *sp, *tmp;

	list_for_each_entry_safe_reverse(sp, tmp, &kvm->shadow.lru, lru) {
		if (kvm->shadow.nr_pages + room <= kvm->shadow.max_pages)
			break;
		if (sp->root_count || sp->invalid)
			continue;
		zap_page(kvm, sp);
		kvm->shadow.reclaimed++;
	}
}

/* Entries of a shadow's guest table read at a time by sync_sp. */
#define SHADOW_SYNC_CHUNK	32

/*
 * Read the guest table of the leaf page @sp again and make its shadow
 * entries agree: an entry the guest made not present, not accessed,
 * reserved or pointing at another frame is dropped (the next access
 * faults and walks); one whose rights shrank (read-only, supervisor,
 * no-execute, or clean again) loses them.  Rights that grew are left to
 * the next fault.  A table that cannot be read now (host page gone)
 * loses all its entries.  mmu_lock held.
 */
static void sync_sp(struct kvm *kvm, struct shadow_page *sp)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_slot(kvm, sp->gfn);
	unsigned int size = sp->role.gpte8 ? 8 : 4, i, j;
	u64 gptes[SHADOW_SYNC_CHUNK], rsvd = 0;
	unsigned long hva = 0;

	kvm->shadow.synced++;
	/* A fault that walked the table before now reads its walk again. */
	kvm->shadow.pt_writes++;
	if (slot) {
		hva = slot->userspace_addr +
		      ((sp->gfn - slot->base_gfn) << PAGE_SHIFT);
		/* A 32-bit guest table: this shadow has half of it. */
		if (!sp->role.gpte8)
			hva += sp->role.quadrant * 512 * size;
	}
	if (sp->role.gpte8) {
		int hi;

		for (hi = kvm->shadow.maxphyaddr; hi < 52; hi++)
			rsvd |= 1ULL << hi;
		if (!sp->role.nxe)
			rsvd |= 1ULL << 63;
	}
	for (i = 0; i < 512; i += SHADOW_SYNC_CHUNK) {
		bool any = false, readable;

		for (j = 0; j < SHADOW_SYNC_CHUNK; j++)
			any |= sp->spt[i + j] & SPTE_P;
		if (!any)
			continue;
		readable = false;
		if (slot) {
			pagefault_disable();
			readable = !__copy_from_user_inatomic(gptes,
				(void __user *)(hva + i * size),
				SHADOW_SYNC_CHUNK * size);
			pagefault_enable();
		}
		for (j = 0; j < SHADOW_SYNC_CHUNK; j++) {
			u64 *e = &sp->spt[i + j], gpte, now;
			unsigned int acc;
			gfn_t gfn;

			if (!(*e & SPTE_P))
				continue;
			if (!readable) {
				drop_spte(kvm, e);
				kvm->shadow.sync_dropped++;
				continue;
			}
			gpte = size == 8 ? gptes[j] : ((u32 *)gptes)[j];
			gfn = size == 8 ? (gpte & 0x000ffffffffff000ULL) >> PAGE_SHIFT :
			      (gpte & 0xfffff000ULL) >> PAGE_SHIFT;
			/* Present and accessed, as a fault or prefetch maps. */
			if ((gpte & 0x21) != 0x21 || (gpte & rsvd) ||
			    gfn != sp->gfns[i + j]) {
				drop_spte(kvm, e);
				kvm->shadow.sync_dropped++;
				continue;
			}
			acc = SHADOW_ACC_EXEC;
			if (gpte & 2)
				acc |= SHADOW_ACC_WRITE;
			if (gpte & 4)
				acc |= SHADOW_ACC_USER;
			if (sp->role.gpte8 && sp->role.nxe && (gpte >> 63))
				acc &= ~SHADOW_ACC_EXEC;
			acc &= sp->role.access;
			now = *e;
			/* Clean again: the next write must set D. */
			if (!(acc & SHADOW_ACC_WRITE) || !(gpte & 0x40))
				now &= ~SPTE_RW;
			if (!(acc & SHADOW_ACC_USER))
				now &= ~SPTE_US;
			if (!(acc & SHADOW_ACC_EXEC))
				now |= SPTE_NX;
			if (now != *e) {
				WRITE_ONCE(*e, now);
				kvm->shadow.need_flush = true;
			}
		}
	}
}

/* Bound of the upward search: levels of the deepest shadow tree. */
#define SHADOW_MAX_DEPTH	5

/*
 * Can the CPU reach @sp from the roots of @m: is it a root, or below one
 * through parent entries?  mmu_lock held.
 */
static bool sp_reachable(struct shadow_page *sp, const struct kvm_shadow_mmu *m,
			 int depth)
{
	struct shadow_link *l;
	int i;

	if (sp == m->root)
		return true;
	for (i = 0; i < 4; i++)
		if (sp == m->pae_sp[i])
			return true;
	if (!depth)
		return false;
	for (l = sp->parents; l; l = l->next)
		if (sp_reachable(sp_of(l->sptep), m, depth - 1))
			return true;
	return false;
}

/* Whether the roots of @m had nothing out of sync below them at @gen. */
static bool roots_synced(const struct kvm_shadow_mmu *m, unsigned long gen)
{
	int i, n = 0;

	if (m->root)
		return m->root->sync_checked == gen;
	for (i = 0; i < 4; i++) {
		if (!m->pae_sp[i])
			continue;
		if (m->pae_sp[i]->sync_checked != gen)
			return false;
		n++;
	}
	return n;
}

static void mark_roots_synced(struct kvm_shadow_mmu *m, unsigned long gen)
{
	int i;

	if (m->root)
		m->root->sync_checked = gen;
	for (i = 0; i < 4; i++)
		if (m->pae_sp[i])
			m->pae_sp[i]->sync_checked = gen;
}

/*
 * The guest on @vcpu flushes its TLB (CR3 write, paging mode change): the
 * shadow it runs on must agree with the guest's tables before it runs
 * again.  Every unsync page reachable from its roots (@vcpu NULL: every
 * unsync page) is protected again first, and every vCPU flushed, so that
 * no vCPU can still write the table through a stale mapping; then its
 * entries are read (sync_sp).  Unsync pages the vCPU cannot reach stay
 * so: another vCPU's flush syncs them, or this one's when they become
 * reachable (a root loaded, or a shadow page with unsync pages below it
 * linked in by a fault: kvm_shadow_page_fault).  One vCPU at a time
 * (sync_lock): one that comes while another syncs waits for it to
 * finish.  Called with no lock held.
 */
void kvm_shadow_sync(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	struct shadow_page *sp, *tmp;
	unsigned long gen, checked;
	bool any = false, in_sync;

	if (!READ_ONCE(kvm->shadow.nr_unsync))
		return;
	/*
	 * Nothing went out of sync below the roots since they were last
	 * found in sync, and no sync is under way (its pages may be below
	 * them): nothing to do, and no walk of the unsync list (a CR3 load
	 * between two processes that write no page table).
	 */
	if (vcpu) {
		spin_lock(&kvm->mmu_lock);
		in_sync = !kvm->shadow.syncing &&
			  roots_synced(&vcpu->shadow, kvm->shadow.unsync_gen);
		spin_unlock(&kvm->mmu_lock);
		if (in_sync)
			return;
	}
	mutex_lock(&kvm->shadow.sync_lock);
	spin_lock(&kvm->mmu_lock);
	kvm->shadow.syncing = true;
	/* What is out of sync below the roots now is synced below. */
	checked = kvm->shadow.unsync_gen;
	/* The first flush to begin after the protection below. */
	gen = kvm->shadow.flush_started + 1;
	list_for_each_entry(sp, &kvm->shadow.unsync, sync_link) {
		if (!sp->unsync ||
		    (vcpu && !sp_reachable(sp, &vcpu->shadow, SHADOW_MAX_DEPTH)))
			continue;
		sp->unsync = false;
		sp->need_sync = true;
		write_protect_gfn(kvm, sp->gfn);
		/* prefetch trusts it once the flush below is done */
		sp->wp_gen = gen;
		any = true;
	}
	/*
	 * Also a mapping dropped without a flush (INVLPG) may still write:
	 * flush whatever write_protect_gfn found.  Another thread's
	 * shadow_flush may take the request and still be under way when
	 * ours returns: wait for a flush begun after the protection.
	 */
	while (any && kvm->shadow.flush_done < gen) {
		kvm->shadow.need_flush = true;
		mmu_unlock(kvm);
		shadow_flush(kvm);
		spin_lock(&kvm->mmu_lock);
	}
	list_for_each_entry_safe(sp, tmp, &kvm->shadow.unsync, sync_link) {
		if (!sp->need_sync)
			continue;
		sp->need_sync = false;
		sync_sp(kvm, sp);
		/* Written again meanwhile (out of sync again): it stays. */
		if (!sp->unsync) {
			list_del_init(&sp->sync_link);
			kvm->shadow.nr_unsync--;
		}
	}
	/* (Pages let out of sync since moved unsync_gen past checked.) */
	if (vcpu)
		mark_roots_synced(&vcpu->shadow, checked);
	kvm->shadow.syncing = false;
	mmu_unlock(kvm);
	mutex_unlock(&kvm->shadow.sync_lock);
	shadow_flush(kvm);
}

/* Find the shadow page for (@gfn, @role), or make one from @p. */
static struct shadow_page *get_sp(struct kvm *kvm, gfn_t gfn,
				  union shadow_role role,
				  struct shadow_prealloc *p, bool *created)
{
	struct shadow_page *sp;

	*created = false;
	if (shadow_cache) {
		hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link) {
			if (sp->gfn == gfn && sp->role.word == role.word) {
				list_move(&sp->lru, &kvm->shadow.lru);
				kvm->shadow.hits++;
				/*
				 * A new parent: what its entries map becomes
				 * reachable elsewhere, with no flush to come.
				 */
				if (sp->unsync)
					sync_sp(kvm, sp);
				return sp;
			}
		}
	}
	if (!p->nsp)
		return NULL;
	/* A table one level up must stay protected: no unsync leaf of it. */
	if (!role.direct && role.level > 1)
		zap_unsync_gfn(kvm, gfn);
	sp = p->sps[--p->nsp];
	sp->gfn = gfn;
	sp->role = role;
	sp->sync_checked = 0;
	INIT_LIST_HEAD(&sp->sync_link);
	if (role.level == 1)
		sp->gfns = p->gfns[--p->ngfns];
	hlist_add_head(&sp->hash_link, sp_bucket(kvm, gfn));
	if (!role.direct)
		lpage_tables_add(kvm, gfn, 1);
	list_add(&sp->lru, &kvm->shadow.lru);
	kvm->shadow.nr_pages++;
	kvm->shadow.created++;
	/* The next shadow_flush() to begin makes the protection hold. */
	sp->wp_gen = !role.direct && write_protect_gfn(kvm, gfn) ?
		     kvm->shadow.flush_started + 1 : 0;
	*created = true;
	return sp;
}

/* ---- Roots -------------------------------------------------------------- */

static void put_root(struct kvm *kvm, struct shadow_page *sp)
{
	if (!sp)
		return;
	sp->root_count--;
	if (sp->root_count)
		return;
	if (sp->invalid)
		list_move(&sp->lru, &kvm->shadow.zapped);
	else if (!shadow_cache)
		zap_page(kvm, sp);
}

/* Let go of the vCPU's roots.  mmu_lock held. */
static void release_roots(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	int i;

	put_root(vcpu->kvm, m->root);
	m->root = NULL;
	for (i = 0; i < 4; i++) {
		put_root(vcpu->kvm, m->pae_sp[i]);
		m->pae_sp[i] = NULL;
		if (m->pae_root)
			m->pae_root[i] = 0;
	}
}

static union shadow_role base_role(struct gpt_walker *w, int level)
{
	union shadow_role role = { .word = 0 };

	role.level = level;
	role.gpte8 = w->mode != GPT_32;
	role.mode = w->mode;
	role.cr0_wp = w->wp;
	role.smep_andnot_wp = w->smep && !w->wp;
	role.nxe = w->nx;
	role.pse = w->pse;
	role.access = SHADOW_ACC_ALL;
	return role;
}

/*
 * Give the vCPU the roots for its current paging mode: the cached shadow
 * of the guest's CR3 when there is one.  Called before entry
 * (KVM_REQ_MMU_RELOAD).
 */
int kvm_mmu_reload(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	struct shadow_prealloc *pre = vcpu_prealloc(vcpu);
	struct gpt_walker w;
	u64 pdpte[4] = { 0, 0, 0, 0 };
	phys_addr_t root_pa;
	bool created;
	int i, r;

	kvm_vcpu_init_walker(vcpu, &w);
	WRITE_ONCE(kvm->shadow.maxphyaddr, w.maxphyaddr);
	if (w.mode == GPT_PAE &&
	    kvm_read_guest(kvm, w.cr3 & 0xffffffe0ULL, pdpte, sizeof(pdpte)))
		memset(pdpte, 0, sizeof(pdpte));
	if (w.mode != GPT_LONG4 && w.mode != GPT_LONG5 && !m->pae_root) {
		/* A PAE CR3 holds a 32-bit address. */
		m->pae_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT |
						     GFP_DMA32);
		if (!m->pae_root)
			return -ENOMEM;
	}
	if (!pre)
		return -ENOMEM;
	r = prealloc_fill(pre);
	if (r)
		return r;

	spin_lock(&kvm->mmu_lock);
	kvm->shadow.reloads++;
	release_roots(vcpu);
	reclaim(kvm, SHADOW_FAULT_PAGES);
	if (w.mode == GPT_LONG4 || w.mode == GPT_LONG5) {
		int level = w.mode == GPT_LONG5 ? 5 : 4;

		m->root = get_sp(kvm, (w.cr3 & 0x000ffffffffff000ULL) >> PAGE_SHIFT,
				 base_role(&w, level), pre, &created);
		m->root->root_count++;
		m->root_level = level;
		root_pa = __pa(m->root->spt);
	} else {
		for (i = 0; i < 4; i++) {
			union shadow_role role = base_role(&w, 2);
			gfn_t gfn;

			switch (w.mode) {
			case GPT_NONE:
				role.direct = 1;
				gfn = (gfn_t)i << 18;	/* 1 GiB each */
				break;
			case GPT_32:
				role.quadrant = i;
				gfn = (w.cr3 & 0xfffff000ULL) >> PAGE_SHIFT;
				break;
			default:	/* PAE: the PDPTEs as loaded now */
				if (!(pdpte[i] & 1))
					continue;
				gfn = (pdpte[i] & 0x000ffffffffff000ULL) >>
				      PAGE_SHIFT;
				break;
			}
			m->pae_sp[i] = get_sp(kvm, gfn, role, pre, &created);
			m->pae_sp[i]->root_count++;
			m->pae_root[i] = __pa(m->pae_sp[i]->spt) | SPTE_P;
		}
		m->root_level = 3;
		root_pa = __pa(m->pae_root);
	}
	mmu_unlock(kvm);
	shadow_flush(kvm);
	/*
	 * A CR3 load or paging change flushes the guest's TLB: what the
	 * new roots reach must agree with the guest's tables.
	 */
	kvm_shadow_sync(kvm, vcpu);

	kvm_x86_ops.load_mmu_root(vcpu, root_pa);
	if (kvm_x86_ops.flush_guest_tlb)
		kvm_x86_ops.flush_guest_tlb(vcpu);
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
	struct kvm *kvm = vcpu->kvm;
	int i;

	if (!kvm_shadow_paging)
		return;
	spin_lock(&kvm->mmu_lock);
	release_roots(vcpu);
	kvm->shadow.exits += vcpu->stat.exits;
	kvm->shadow.faults += vcpu->stat.shadow_faults;
	for (i = 0; i < KVM_EXIT_HIST_SIZE; i++)
		kvm->shadow.exit_hist[i] += vcpu->stat.exit_hist[i];
	mmu_unlock(kvm);
	/* The VM is being destroyed: its zapped pages go in vm_destroy. */
	free_page((unsigned long)vcpu->shadow.pae_root);
	vcpu->shadow.pae_root = NULL;
	if (vcpu->shadow.prealloc) {
		prealloc_free(vcpu->shadow.prealloc);
		kfree(vcpu->shadow.prealloc);
		vcpu->shadow.prealloc = NULL;
	}
}

/* ---- Guest TLB maintenance and writes to guest page tables -------------- */

/*
 * INVLPG: the guest changed the translation of @gva.  A write-protected
 * guest table is followed by its shadow already (every write to it is
 * seen; an unshadowed page has no shadow left): only a leaf table out of
 * sync can hold a stale entry, and only its entry for @gva is dropped
 * (upstream does the same).  Tables above the leaves are never out of
 * sync, so a guest large page, mapped from a protected table, stays, and
 * so does a leaf of a protected table: dropping it only cost the guest a
 * fault to map it again.  An unsync table stays so, its other entries
 * may stay stale as other TLB entries may.
 */
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, u64 gva)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	u64 *table, *e;
	bool flush_others;
	int level;

	if (!kvm_shadow_paging) {
		set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
		return;
	}
	if (m->root_level == 3)
		gva = (u32)gva;

	spin_lock(&kvm->mmu_lock);
	/*
	 * INVLPG is local to this vCPU: others may keep their translation
	 * (the page stays mapped), so no flush of theirs is asked for.
	 */
	flush_others = kvm->shadow.need_flush;
	kvm->shadow.invlpgs++;
	table = m->root_level == 3 ? m->pae_root :
		m->root ? m->root->spt : NULL;
	for (level = m->root_level; table && level >= 1; level--) {
		struct shadow_page *child;

		e = &table[spte_index(gva, level)];
		if (!(*e & SPTE_P))
			break;
		if (level == 1) {
			if (!sp_of(e)->unsync)
				break;
			/*
			 * A fault that walked the old entry of an unsync
			 * table before this rechecks (as after a sync).
			 */
			kvm->shadow.pt_writes++;
			drop_spte(kvm, e);
			break;
		}
		/* A guest large page: its table is protected. */
		if (*e & SPTE_PS)
			break;
		child = sp_of(__va(*e & SPTE_ADDR));
		if (child->role.direct && !(level == 3 && m->root_level == 3))
			break;
		table = child->spt;
	}
	/*
	 * Other vCPUs' TLBs may still map the host page of a dropped leaf,
	 * which no longer is in the reverse map: the MMU notifier must not
	 * let the host reuse it before they are flushed.
	 */
	if (kvm->shadow.need_flush && !flush_others)
		kvm->shadow.stale_tlbs = true;
	kvm->shadow.need_flush = flush_others;
	mmu_unlock(kvm);
	/* This vCPU is not in the guest: flushing at its next entry is enough. */
	set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
}

/*
 * Guest memory at @gpa was written (@bytes) by an emulated instruction or
 * another in-kernel write: drop the shadow entries of the guest entries
 * written, or unshadow the page when the write does not look like a page
 * table update.  Called after the write reached guest memory: a fault on
 * another vCPU that walked the old entry either installs its leaf before
 * this takes mmu_lock (and the leaf is dropped here) or after (and sees
 * pt_writes moved, and reads the entry again: kvm_shadow_page_fault).
 */
void kvm_mmu_track_write(struct kvm *kvm, gpa_t gpa, unsigned int bytes)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	unsigned int off = offset_in_page(gpa);
	struct shadow_page *sp;
	struct hlist_node *tmp;
	bool hit = false;

	if (!kvm_shadow_paging || !bytes)
		return;
	spin_lock(&kvm->mmu_lock);
	hlist_for_each_entry_safe(sp, tmp, sp_bucket(kvm, gfn), hash_link) {
		unsigned int size, gi;

		if (sp->gfn != gfn || sp->role.direct)
			continue;
		/* A fault that walked this table before the write rechecks. */
		hit = true;
		size = sp->role.gpte8 ? 8 : 4;
		/* Part of one entry, or more than one: not a PTE update. */
		if (((off ^ (off + bytes - 1)) & ~(size - 1)) || bytes < 4) {
			zap_page(kvm, sp);
			kvm->shadow.unshadowed++;
			kvm->shadow.unshadowed_misaligned[sp->role.level > 1]++;
			continue;
		}
		if (++sp->write_flooding >= SHADOW_FLOOD_WRITES) {
			zap_page(kvm, sp);
			kvm->shadow.unshadowed++;
			kvm->shadow.unshadowed_flooded[sp->role.level > 1]++;
			continue;
		}
		gi = off / size;
		if (sp->role.gpte8) {
			drop_spte(kvm, &sp->spt[gi]);
		} else if (sp->role.level == 1) {
			/* Half of a 1024-entry guest table per shadow page. */
			if (gi >> 9 == sp->role.quadrant)
				drop_spte(kvm, &sp->spt[gi & 511]);
		} else if (gi >> 8 == sp->role.quadrant) {
			/* A 4 MiB guest entry is two 2 MiB shadow entries. */
			drop_spte(kvm, &sp->spt[(gi & 255) * 2]);
			drop_spte(kvm, &sp->spt[(gi & 255) * 2 + 1]);
		}
	}
	if (hit) {
		kvm->shadow.pt_writes++;
		kvm->shadow.emulated++;
	}
	mmu_unlock(kvm);
	shadow_flush(kvm);
}

/*
 * Would the guest on @vcpu fault again writing the table at @gfn (just
 * written by the emulator): has it a shadow that is not out of sync, or
 * is it the vCPU's own root table, which its next entry shadows again
 * even if a write zapped it?  (kvm_emulate_pt_write, on a REP MOVS/STOS)
 */
bool kvm_mmu_write_traps(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	struct kvm *kvm = vcpu->kvm;
	bool traps;
	int i;

	spin_lock(&kvm->mmu_lock);
	traps = gfn_write_protected(kvm, gfn) ||
		(m->root && !m->root->role.direct && m->root->gfn == gfn);
	for (i = 0; i < 4 && !traps; i++)
		traps = m->pae_sp[i] && !m->pae_sp[i]->role.direct &&
			m->pae_sp[i]->gfn == gfn;
	spin_unlock(&kvm->mmu_lock);
	return traps;
}

/* ---- Faults ---------------------------------------------------------------- */

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

static u64 gpte_table_gfn(const struct gpt_walker *w, u64 pte)
{
	if (w->mode == GPT_32)
		return (pte & 0xfffff000ULL) >> PAGE_SHIFT;
	return (pte & 0x000ffffffffff000ULL) >> PAGE_SHIFT;
}

/* Guest access bits of one entry, as a shadow role's access field. */
static unsigned int gpte_access(const struct gpt_walker *w, u64 pte)
{
	unsigned int acc = SHADOW_ACC_EXEC;

	if (pte & 2)
		acc |= SHADOW_ACC_WRITE;
	if (pte & 4)
		acc |= SHADOW_ACC_USER;
	if (w->mode != GPT_32 && w->nx && (pte >> 63))
		acc &= ~SHADOW_ACC_EXEC;
	return acc;
}

struct shadow_fault {
	u64 gva;
	u32 access;
	struct gpt_walker w;
	struct gpt_walk_info info;
	u64 leaf;		/* the shadow leaf to install */
	gfn_t gfn;
	unsigned long hva;	/* of the frame, in the VM process */
	bool large;		/* a large leaf may map it (shadow_map decides) */
	bool unsync;		/* a write to a table that may go out of sync */
	bool linked_cached;	/* a cached upper-level page linked in */
};

enum { FAULT_DONE, FAULT_RETRY, FAULT_NOMEM };

/*
 * A prefetched leaf's host page, without sleeping (mmu_lock held): only
 * a page the host has mapped already.  @perm: the guest's rights as leaf
 * bits; RW is dropped where the slot or the host page is read-only, the
 * slot logs dirty pages, or the frame is a shadowed guest table.  Returns
 * the leaf, or 0.  slots_lock held.
 */
static u64 prefetch_leaf(struct kvm *kvm, gfn_t gfn, u64 perm)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_slot(kvm, gfn);
	struct page *page;
	unsigned long hva;
	u64 leaf;

	if (!slot)
		return 0;	/* MMIO: the fault path emulates */
	if ((slot->flags & KVM_MEM_READONLY) || slot->dirty_bitmap ||
	    gfn_write_protected(kvm, gfn))
		perm &= ~SPTE_RW;
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	if (get_user_pages_fast_only(hva, 1, (perm & SPTE_RW) ? FOLL_WRITE : 0,
				     &page) != 1) {
		if (!(perm & SPTE_RW) ||
		    get_user_pages_fast_only(hva, 1, 0, &page) != 1)
			return 0;
		perm &= ~SPTE_RW;
	}
	leaf = page_to_phys(page) | SPTE_P | SPTE_A | SPTE_D | perm;
	/* Not pinned: the MMU notifier drops the leaf if the page goes. */
	put_page(page);
	return leaf;
}

/* rmap_add without a reserved index: may fail (no memory now). */
static bool rmap_add_nowait(struct kvm *kvm, gfn_t gfn, u64 *sptep,
			    struct shadow_prealloc *p)
{
	struct shadow_link *l;

	if (!p->nlinks)
		return false;
	l = p->links[--p->nlinks];
	l->sptep = sptep;
	l->next = xa_load(&kvm->shadow.rmap, gfn);
	if (xa_err(xa_store(&kvm->shadow.rmap, gfn, l,
			    GFP_NOWAIT | __GFP_ACCOUNT))) {
		p->links[p->nlinks++] = l;
		return false;
	}
	return true;
}

/*
 * Map the neighbours of the leaf at @sptep (in @sp, level 1) that the
 * guest has made present and accessed, as the fault path would when the
 * guest reads them (clean pages read-only: the first write sets D).  A
 * direct page's neighbours are frames of the same guest large page, with
 * the faulting leaf's rights.  A guest entry the walker would refuse
 * (reserved bits) is left to a real fault.  slots_lock and mmu_lock held.
 */
static void prefetch_neighbours(struct kvm *kvm, const struct shadow_fault *f,
				struct shadow_page *sp, u64 *sptep,
				struct shadow_prealloc *p)
{
	unsigned int at = sptep - sp->spt, first = at & ~(SHADOW_PREFETCH - 1);
	unsigned int size = sp->role.gpte8 ? 8 : 4, i;
	u64 gptes[SHADOW_PREFETCH], rsvd = 0;

	if (!READ_ONCE(shadow_prefetch))
		return;
	if (!sp->role.direct) {
		struct kvm_memory_slot *slot = kvm_gfn_to_slot(kvm, sp->gfn);
		unsigned long hva, left;
		unsigned int gi = first;

		/*
		 * Protected just now: other vCPUs may still be writing the
		 * table natively (the fault checks its own entry again after
		 * the flush; neighbours read now could go stale unseen).  An
		 * unsync table is read again at the flush that makes a
		 * change visible: what goes stale now is found then.
		 */
		if (!slot || (!sp->unsync && kvm->shadow.flush_done < sp->wp_gen))
			return;
		/* A 32-bit guest table: this shadow has half of it. */
		if (!sp->role.gpte8)
			gi += sp->role.quadrant * 512;
		hva = slot->userspace_addr +
		      ((sp->gfn - slot->base_gfn) << PAGE_SHIFT) + gi * size;
		pagefault_disable();
		left = __copy_from_user_inatomic(gptes, (void __user *)hva,
						 SHADOW_PREFETCH * size);
		pagefault_enable();
		if (left)
			return;
		if (sp->role.gpte8) {
			int hi;

			for (hi = f->w.maxphyaddr; hi < 52; hi++)
				rsvd |= 1ULL << hi;
			if (!sp->role.nxe)
				rsvd |= 1ULL << 63;
		}
	}

	for (i = 0; i < SHADOW_PREFETCH; i++) {
		u64 *e = &sp->spt[first + i], perm, leaf, gpte;
		unsigned int acc;
		gfn_t gfn;

		if (first + i == at || (*e & SPTE_P))
			continue;
		if (sp->role.direct) {
			gfn = sp->gfn + first + i;
			perm = f->leaf & (SPTE_RW | SPTE_US | SPTE_NX);
		} else {
			gpte = size == 8 ? gptes[i] : ((u32 *)gptes)[i];
			/* Present and accessed: A is the guest's to see set. */
			if ((gpte & 0x21) != 0x21 || (gpte & rsvd))
				continue;
			acc = sp->role.access & gpte_access(&f->w, gpte);
			perm = ((acc & SHADOW_ACC_WRITE) && (gpte & 0x40) ?
				SPTE_RW : 0) |
			       (acc & SHADOW_ACC_USER ? SPTE_US : 0) |
			       (acc & SHADOW_ACC_EXEC ? 0 : SPTE_NX);
			gfn = gpte_table_gfn(&f->w, gpte);
		}
		leaf = prefetch_leaf(kvm, gfn, perm);
		if (!leaf || !rmap_add_nowait(kvm, gfn, e, p))
			continue;
		if (leaf & SPTE_RW)
			kvm_mark_page_dirty(kvm, gfn);
		sp->gfns[first + i] = gfn;
		WRITE_ONCE(*e, leaf);
		kvm->shadow.prefetched++;
	}
}

/*
 * May the fault's guest large page get a large leaf now: no guest table
 * in its 2 MiB has a shadow, and the host still maps them with one huge
 * page, the one the fault's page is part of.  The host mapping cannot
 * change unseen from here on: the MMU notifier takes mmu_lock (held) and
 * drops the leaf.  Narrows f->leaf's RW to what the huge page allows.
 */
static bool large_leaf_fits(struct kvm *kvm, struct shadow_fault *f)
{
	gfn_t in = f->gfn & (SHADOW_LARGE_FRAMES - 1);
	phys_addr_t pa;
	bool writable;

	if (lpage_has_tables(kvm, f->gfn) ||
	    !kvm_host_huge_2m(kvm, f->hva, &pa, &writable) ||
	    pa + (in << PAGE_SHIFT) != (f->leaf & SPTE_ADDR))
		return false;
	/*
	 * A page the guest may write needs the host page writable now: else
	 * 4 KiB leaves (the host makes them writable one by one), not a
	 * read-only large leaf to trade places with them at each write.
	 */
	if ((f->leaf & SPTE_RW) && !writable)
		return false;
	f->leaf = (f->leaf & ~SPTE_ADDR) | pa | SPTE_PS;
	return true;
}

/*
 * Install the large leaf of the fault at @sptep, an entry of the level-2
 * shadow page @sp.  What is there goes: a direct table of the same 2 MiB
 * (made before the host had a huge page) is zapped unless another entry
 * uses it.  slots_lock and mmu_lock held.
 */
static int map_large(struct kvm *kvm, struct shadow_fault *f,
		     struct shadow_page *sp, u64 *sptep,
		     struct shadow_prealloc *p)
{
	gfn_t base = f->gfn & ~(SHADOW_LARGE_FRAMES - 1);
	unsigned int i = sptep - sp->spt;
	u64 e = *sptep;

	if ((e & SPTE_P) && (e & SPTE_PS) && sp->gfns[i] == base &&
	    (e & SPTE_ADDR) == (f->leaf & SPTE_ADDR)) {
		/* Other vCPUs may cache rights this leaf takes away. */
		if (e & ~f->leaf & (SPTE_RW | SPTE_US))
			kvm->shadow.need_flush = true;
		WRITE_ONCE(*sptep, f->leaf);
		kvm->shadow.remapped++;
		return FAULT_DONE;
	}
	if ((e & SPTE_P) && !(e & SPTE_PS)) {
		struct shadow_page *child = sp_of(__va(e & SPTE_ADDR));

		drop_spte(kvm, sptep);
		if (child->role.direct && !child->parents && !child->root_count)
			zap_page(kvm, child);
	} else {
		drop_spte(kvm, sptep);
	}
	/* (This fault made no leaf page: the gfns pages it topped up are there.) */
	if (!sp->gfns)
		sp->gfns = p->gfns[--p->ngfns];
	sp->gfns[i] = base;
	WRITE_ONCE(*sptep, f->leaf);
	rmap_add(&kvm->shadow.rmap_large, base >> SHADOW_LARGE_SHIFT, sptep, p);
	kvm->shadow.mapped_large++;
	return FAULT_DONE;
}

/*
 * Walk the shadow tree for the fault, making the missing shadow pages as
 * the guest walk describes them, and install the leaf.  slots_lock and
 * mmu_lock held.
 */
static int shadow_map(struct kvm_vcpu *vcpu, struct shadow_fault *f,
		      struct shadow_prealloc *p)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	const struct gpt_walker *w = &f->w;
	unsigned int acc = SHADOW_ACC_ALL;
	struct shadow_page *sp;
	u64 *table, *sptep;
	int level;

	if (m->root_level == 3) {
		sptep = &m->pae_root[spte_index(f->gva, 3)];
		if (!(*sptep & SPTE_P)) {
			/* A PDPTE made present after the CR3 load. */
			set_bit(KVM_REQ_MMU_RELOAD, &vcpu->requests);
			return FAULT_RETRY;
		}
		sp = sp_of(__va(*sptep & SPTE_ADDR));
		if (w->mode == GPT_PAE)
			acc = SHADOW_ACC_ALL;
		level = 2;
	} else {
		if (!m->root)
			return FAULT_RETRY;
		sp = m->root;
		level = m->root_level;
	}
	if (sp->invalid)
		return FAULT_RETRY;

	if (f->large && !large_leaf_fits(kvm, f))
		f->large = false;

	for (;; level--) {
		union shadow_role role;
		struct shadow_page *child;
		bool created;
		gfn_t gfn;

		table = sp->spt;
		sp->write_flooding = 0;	/* used for translation: a table */
		sptep = &table[spte_index(f->gva, level)];
		if (level == 1)
			break;
		if (level == 2 && f->large)
			return map_large(kvm, f, sp, sptep, p);
		if ((*sptep & SPTE_P) && !(*sptep & SPTE_PS)) {
			sp = sp_of(__va(*sptep & SPTE_ADDR));
			if (w->mode != GPT_NONE)
				acc &= gpte_access(w, f->info.pte[level]);
			continue;
		}
		/* A large leaf where a table is needed now. */
		drop_spte(kvm, sptep);
		role = sp->role;
		role.level = level - 1;
		role.quadrant = 0;
		role.pse32 = 0;
		if (w->mode == GPT_NONE) {
			role.direct = 1;
			gfn = f->gfn & ~((1ULL << (9 * (level - 1))) - 1);
		} else if (f->info.level >= level) {
			/* A guest large page: a direct table of its frames. */
			acc &= gpte_access(w, f->info.pte[level]);
			role.direct = 1;
			role.access = acc;
			role.pse32 = w->mode == GPT_32;
			gfn = f->gfn - ((f->gva >> PAGE_SHIFT) &
					((1ULL << (9 * (level - 1))) - 1));
		} else {
			acc &= gpte_access(w, f->info.pte[level]);
			role.direct = 0;
			role.access = acc;
			if (w->mode == GPT_32 && level == 2)
				role.quadrant = (f->gva >> 21) & 1;
			gfn = gpte_table_gfn(w, f->info.pte[level]);
		}
		child = get_sp(kvm, gfn, role, p, &created);
		if (!child)
			return FAULT_NOMEM;
		/*
		 * Unsync pages below it become reachable here: sync them (a
		 * leaf page get_sp synced; one being synced by another vCPU
		 * is waited for).
		 */
		if (!created && kvm->shadow.nr_unsync &&
		    (child->role.level > 1 || child->need_sync))
			f->linked_cached = true;
		/* What is out of sync below it is below every root above. */
		if (!created)
			kvm->shadow.unsync_gen++;
		link_add(&child->parents, sptep, p);
		WRITE_ONCE(*sptep, __pa(child->spt) | SPTE_TABLE);
		sp = child;
	}

	/*
	 * A write to a protected leaf table lets it go out of sync; else
	 * the frame became a protected guest table since the fault looked
	 * (another vCPU, or a table made just above): never writable.
	 */
	if ((f->leaf & SPTE_RW) && gfn_write_protected(kvm, f->gfn)) {
		if (f->unsync && gfn_can_unsync(kvm, f->gfn))
			unsync_gfn(kvm, f->gfn);
		else
			f->leaf &= ~SPTE_RW;
	}
	/* Dirty logging: recorded with the mapping, under slots_lock. */
	if (f->leaf & SPTE_RW)
		kvm_mark_page_dirty(kvm, f->gfn);

	if (*sptep & SPTE_P) {
		if ((*sptep & SPTE_ADDR) == (f->leaf & SPTE_ADDR) &&
		    sp->gfns[sptep - table] == f->gfn) {
			/* Other vCPUs may cache rights this leaf takes away. */
			if (*sptep & ~f->leaf & (SPTE_RW | SPTE_US))
				kvm->shadow.need_flush = true;
			WRITE_ONCE(*sptep, f->leaf);
			kvm->shadow.remapped++;
			return FAULT_DONE;
		}
		drop_spte(kvm, sptep);
		kvm->shadow.need_flush = true;
	}
	sp->gfns[sptep - table] = f->gfn;
	WRITE_ONCE(*sptep, f->leaf);
	rmap_add(&kvm->shadow.rmap, f->gfn, sptep, p);
	kvm->shadow.mapped++;
	prefetch_neighbours(kvm, f, sp, sptep, p);
	return FAULT_DONE;
}

/*
 * The walk was made before the tables were write-protected: if the guest
 * changed an entry meanwhile (another vCPU), the shadow may hold the old
 * one.  Tables are protected now, so reading them again settles it.
 */
static int guest_walk_changed(struct kvm *kvm, struct shadow_fault *f)
{
	int level;

	if (f->w.mode == GPT_NONE)
		return 0;
	for (level = f->info.levels; level >= f->info.level; level--) {
		u64 now = 0;
		unsigned int size = f->w.mode == GPT_32 ? 4 : 8;

		if (f->w.mode == GPT_PAE && level == 3)
			continue;
		if (kvm_read_guest(kvm, f->info.pte_gpa[level], &now, size) ||
		    ((now ^ f->info.pte[level]) & ~0x60ULL))
			return level;
	}
	return 0;
}

/*
 * Could the fault's page get a large leaf, as far as the guest and the
 * slot say: a guest large page (or paging off), 2 MiB of one slot placed
 * at a 2 MiB boundary of the VM process as in guest memory, no dirty
 * logging.  The host's side is looked at under mmu_lock (shadow_map).
 */
static bool large_leaf_may_fit(const struct shadow_fault *f,
			       const struct kvm_memory_slot *slot)
{
	gfn_t base = f->gfn & ~(SHADOW_LARGE_FRAMES - 1);

	if (!READ_ONCE(shadow_large) || slot->dirty_bitmap ||
	    (f->w.mode != GPT_NONE && f->info.level < 2))
		return false;
	return base >= slot->base_gfn &&
	       base + SHADOW_LARGE_FRAMES <= slot->base_gfn + slot->npages &&
	       !(((slot->userspace_addr >> PAGE_SHIFT) - slot->base_gfn) &
		 (SHADOW_LARGE_FRAMES - 1));
}

/* Is the frame written one of the tables of the walk that maps it? */
static bool walk_uses_gfn(const struct shadow_fault *f)
{
	int level;

	if (f->w.mode == GPT_NONE)
		return false;
	for (level = f->info.levels; level >= f->info.level; level--)
		if (f->info.pte_gpa[level] >> PAGE_SHIFT == f->gfn)
			return true;
	return false;
}

/* Drop the shadow entry at @level on the path of @gva. */
static void drop_path_entry(struct kvm_vcpu *vcpu, u64 gva, int at)
{
	struct kvm_shadow_mmu *m = &vcpu->shadow;
	struct kvm *kvm = vcpu->kvm;
	u64 *table, *e;
	int level;

	spin_lock(&kvm->mmu_lock);
	table = m->root_level == 3 ? m->pae_root :
		m->root ? m->root->spt : NULL;
	for (level = m->root_level; table && level >= at; level--) {
		e = &table[spte_index(gva, level)];
		if (!(*e & SPTE_P))
			break;
		if (level == at) {
			drop_spte(kvm, e);
			break;
		}
		if (*e & SPTE_PS)	/* a large leaf: nothing below */
			break;
		table = __va(*e & SPTE_ADDR);
	}
	mmu_unlock(kvm);
	shadow_flush(kvm);
}

/*
 * A #PF intercepted in shadow mode, at guest-virtual @gva with the
 * hardware error code.  Either the guest's own tables deny the access
 * (reflect the fault), or the shadow lacks the translation (build it),
 * or the address is a device's (emulate the instruction), or the guest
 * writes one of its own page tables (emulate, and update the shadow).
 */
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 gva, u32 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	struct shadow_prealloc *pre = vcpu_prealloc(vcpu);
	struct shadow_fault f = { 0 };
	struct kvm_memory_slot *slot;
	bool write, writable, user, nx, tracked, stale = false;
	unsigned long hva, seq, created, pt_writes;
	struct page *page;
	u32 guest_error;
	long n;
	int r;

	vcpu->stat.shadow_faults++;
	f.access = error_code & (PFERR_WRITE | PFERR_USER | PFERR_FETCH);
	write = f.access & PFERR_WRITE;
	/* Before the walk reads the guest's tables (see track_write). */
	pt_writes = READ_ONCE(kvm->shadow.pt_writes);
	smp_rmb();
	kvm_vcpu_init_walker(vcpu, &f.w);
	if (f.w.mode != GPT_LONG4 && f.w.mode != GPT_LONG5)
		gva = (u32)gva;
	f.gva = gva;

	switch (gpt_walk(&f.w, gva, f.access, &f.info, &guest_error)) {
	case GPT_OK:
		break;
	case GPT_FAULT:
		kvm->shadow.injected++;	/* unlocked: a statistic */
		return shadow_inject_pf(vcpu, gva, guest_error);
	default:
		return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
			"guest page table outside guest memory", gva,
			error_code);
	}
	f.gfn = f.info.gpa >> PAGE_SHIFT;

	user = f.info.user;
	writable = f.info.writable;
	nx = f.info.nx;
	if (write && !writable && !(f.access & PFERR_USER) && !f.w.wp) {
		/* CR0.WP=0: the supervisor may write; keep users out. */
		writable = true;
		user = false;
		if (f.w.smep)
			nx = true;
	} else if (!f.info.dirty) {
		writable = false;	/* the first write sets D */
	}

	seq = READ_ONCE(kvm->mmu_seq);
	smp_rmb();

	mutex_lock(&kvm->slots_lock);
	slot = kvm_gfn_to_slot(kvm, f.gfn);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		/* A device register (or a ROM being written): emulate. */
		mutex_unlock(&kvm->slots_lock);
		return kvm_emulate_instruction(vcpu);
	}
	if (slot->flags & KVM_MEM_READONLY)
		writable = false;
	/* Dirty logging: writable once written (shadow_map records it). */
	if (slot->dirty_bitmap && writable && !write)
		writable = false;
	hva = slot->userspace_addr + ((f.gfn - slot->base_gfn) << PAGE_SHIFT);
	f.hva = hva;
	f.large = large_leaf_may_fit(&f, slot);
	mutex_unlock(&kvm->slots_lock);

	/*
	 * A protected guest page table mapped writable (a write, or a read
	 * through a dirty writable guest entry, which the guest may write
	 * next: the kernel reading a table it then updates): let it go out
	 * of sync when it may (a leaf table, not one this very walk goes
	 * through), as upstream does.  Else a write is emulated and a read
	 * maps it read-only.
	 */
	spin_lock(&kvm->mmu_lock);
	tracked = writable && gfn_write_protected(kvm, f.gfn);
	if (tracked && gfn_can_unsync(kvm, f.gfn) && !walk_uses_gfn(&f)) {
		tracked = false;
		f.unsync = true;
	}
	spin_unlock(&kvm->mmu_lock);
	if (tracked)
		f.large = false;	/* a shadowed table in it, anyway */
	if (tracked && write) {
		r = kvm_emulate_pt_write(vcpu, f.gfn);
		if (r != -EAGAIN)
			return r;
		/* Not emulable: stop shadowing the page, run natively. */
		spin_lock(&kvm->mmu_lock);
		unshadow_gfn(kvm, f.gfn);
		kvm->shadow.unshadowed++;
		mmu_unlock(kvm);
		shadow_flush(kvm);
		return 1;
	}
	if (tracked)
		writable = false;

	/*
	 * The host page; not pinned: the MMU notifier tells when it goes.
	 * Lockless first (the page is usually mapped already).
	 */
	n = get_user_pages_fast_only(hva, 1, writable ? FOLL_WRITE : 0, &page);
	if (n != 1)
		n = get_user_pages_unlocked(hva, 1, &page,
					    writable ? FOLL_WRITE : 0);
	if (n != 1 && writable && !write) {
		/* Read-only host memory can still back guest reads. */
		writable = false;
		n = get_user_pages_unlocked(hva, 1, &page, 0);
	}
	if (n != 1) {
		kvm_pr_guest("vcpu %u: gpa 0x%llx (hva 0x%lx) has no host memory\n",
			     vcpu->vcpu_id, f.info.gpa, hva);
		return -EFAULT;
	}
	f.leaf = page_to_phys(page) | SPTE_P | SPTE_A | SPTE_D |
		 (writable ? SPTE_RW : 0) | (user ? SPTE_US : 0) |
		 (nx ? SPTE_NX : 0);

	r = pre ? prealloc_fill(pre) : -ENOMEM;
	if (!r)
		r = xa_reserve(&kvm->shadow.rmap, f.gfn, GFP_KERNEL_ACCOUNT);
	if (!r && f.large) {
		r = xa_reserve(&kvm->shadow.rmap_large,
			       f.gfn >> SHADOW_LARGE_SHIFT, GFP_KERNEL_ACCOUNT);
		if (r)
			xa_release(&kvm->shadow.rmap, f.gfn);
	}
	if (r) {
		put_page(page);
		return r;
	}

	/*
	 * slots_lock: KVM_GET_DIRTY_LOG sees the leaf and its dirty bit
	 * together (it holds slots_lock to hand out and protect).
	 */
	mutex_lock(&kvm->slots_lock);
	spin_lock(&kvm->mmu_lock);
	created = kvm->shadow.created;
	if (kvm->mn_active || kvm->mmu_seq != seq) {
		/* The host mapping changed under us: fault again. */
		r = FAULT_RETRY;
		kvm->shadow.retried++;
	} else {
		reclaim(kvm, SHADOW_FAULT_PAGES);
		r = shadow_map(vcpu, &f, pre);
	}
	created = kvm->shadow.created - created;
	stale = kvm->shadow.pt_writes != pt_writes;
	mmu_unlock(kvm);
	mutex_unlock(&kvm->slots_lock);
	xa_release(&kvm->shadow.rmap, f.gfn);
	if (f.large)
		xa_release(&kvm->shadow.rmap_large, f.gfn >> SHADOW_LARGE_SHIFT);
	put_page(page);
	shadow_flush(kvm);
	/*
	 * Unsync pages that this vCPU's last flush did not reach (they were
	 * not below its roots then) are now: they must be synced as that
	 * flush would have, before the guest goes on.
	 */
	if (f.linked_cached)
		kvm_shadow_sync(kvm, vcpu);

	/*
	 * A table protected just now can have changed unseen, and a shadowed
	 * one written (by another vCPU's emulated write) since the walk may
	 * hold what the walk did not see: read the walk's entries again.
	 */
	if (r == FAULT_DONE && (created || stale)) {
		int level = guest_walk_changed(kvm, &f);

		/* Drop what we built from the stale walk; the guest refaults. */
		if (level)
			drop_path_entry(vcpu, gva, level);
	}
	return r == FAULT_NOMEM ? -ENOMEM : 1;
}

/* ---- Whole-VM operations ------------------------------------------------- */

/* Zap every shadow page.  mmu_lock held. */
static void zap_all_locked(struct kvm *kvm)
{
	struct shadow_page *sp, *tmp;
	unsigned long idx;
	void *v;
	int i;

	kvm->mmu_seq++;
	/* Leaves leave the reverse map; links between pages just go. */
	list_for_each_entry(sp, &kvm->shadow.lru, lru) {
		struct shadow_link *l;

		while ((l = sp->parents)) {
			sp->parents = l->next;
			kfree(l);
		}
		sp_forget_sync(kvm, sp);
		for (i = 0; i < 512; i++) {
			if ((sp->spt[i] & SPTE_P) && spte_is_leaf(sp, sp->spt[i]))
				leaf_rmap_del(kvm, sp, i);
			WRITE_ONCE(sp->spt[i], 0);
		}
	}
	list_for_each_entry_safe(sp, tmp, &kvm->shadow.lru, lru) {
		sp_unhash(kvm, sp);
		sp->invalid = true;
		if (sp->root_count)
			kvm->shadow.need_reload = true;
		else
			list_move(&sp->lru, &kvm->shadow.zapped);
	}
	/* No table is shadowed now: the counts start again from nothing. */
	xa_for_each(&kvm->shadow.lpage_tables, idx, v)
		xa_erase(&kvm->shadow.lpage_tables, idx);
	kvm->shadow.no_large = false;
	kvm->shadow.need_flush = true;
}

static unsigned long shadow_auto_max(struct kvm *kvm)
{
	unsigned long pages = 0;
	int i;

	if (shadow_max_pages)
		return shadow_max_pages;
	for (i = 0; i < KVM_USER_MEM_SLOTS; i++) {
		struct kvm_memory_slot *s = READ_ONCE(kvm->slots[i]);

		if (s)
			pages += s->npages;
	}
	return max(256UL, pages / 50);
}

/*
 * Drop every mapping (memory slots changed).  Caller holds slots_lock;
 * the vCPUs reload their roots before they enter again.
 */
void kvm_mmu_zap_all(struct kvm *kvm)
{
	if (!kvm_shadow_paging) {
		kvm_tdp_zap_all(kvm);
		return;
	}
	spin_lock(&kvm->mmu_lock);
	zap_all_locked(kvm);
	kvm->shadow.max_pages = shadow_auto_max(kvm);
	kvm->shadow.need_reload = true;
	spin_unlock(&kvm->mmu_lock);
	shadow_flush(kvm);
}

/*
 * Dirty logging: the pages of @gfn (bit set in @mask, from @base) were
 * reported dirty; their next write must be seen again.
 */
void kvm_mmu_dirty_log_protect(struct kvm *kvm, gfn_t base, unsigned long mask)
{
	spin_lock(&kvm->mmu_lock);
	while (mask) {
		int b = __ffs(mask);

		write_protect_gfn(kvm, base + b);
		mask &= mask - 1;
	}
	spin_unlock(&kvm->mmu_lock);
}

void kvm_mmu_dirty_log_done(struct kvm *kvm)
{
	shadow_flush(kvm);
}

/* ---- MMU notifier ----------------------------------------------------------- */

static struct kvm *mn_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mn);
}

/*
 * The host is about to unmap, move or write-protect [start, end) of the
 * VM's address space: drop every shadow leaf mapping guest frames there
 * (under nested paging, every entry of the nested table: the notifier is
 * registered for both MMUs, and flushes through shadow_flush()).  Slots are read under mmu_lock: a slot is freed only
 * after kvm_mmu_zap_all() took the lock after it was unpublished.
 */
static int shadow_mn_invalidate_start(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mn_to_kvm(mn);
	int i;

	spin_lock(&kvm->mmu_lock);
	kvm->mn_active++;
	/* Leaves INVLPG dropped may live on in other vCPUs' TLBs. */
	if (kvm->shadow.stale_tlbs)
		kvm->shadow.need_flush = true;
	for (i = 0; i < KVM_USER_MEM_SLOTS; i++) {
		struct kvm_memory_slot *s = READ_ONCE(kvm->slots[i]);
		unsigned long start, end, idx;
		struct shadow_link *l;

		if (!s)
			continue;
		start = max(range->start, s->userspace_addr);
		end = min(range->end, s->userspace_addr +
			  (s->npages << PAGE_SHIFT));
		if (start >= end)
			continue;
		start = s->base_gfn + ((start - s->userspace_addr) >> PAGE_SHIFT);
		end = s->base_gfn + ((end - 1 - s->userspace_addr) >> PAGE_SHIFT);
		if (!kvm_shadow_paging) {
			if (kvm_tdp_zap_gfns(kvm, start, end))
				kvm->shadow.need_flush = true;
			continue;
		}
		xa_for_each_range(&kvm->shadow.rmap, idx, l, start, end) {
			while ((l = xa_load(&kvm->shadow.rmap, idx)))
				drop_spte(kvm, l->sptep);
		}
		/* Large leaves over any of those frames. */
		xa_for_each_range(&kvm->shadow.rmap_large, idx, l,
				  start >> SHADOW_LARGE_SHIFT,
				  end >> SHADOW_LARGE_SHIFT) {
			while ((l = xa_load(&kvm->shadow.rmap_large, idx)))
				drop_spte(kvm, l->sptep);
		}
	}
	mmu_unlock(kvm);
	shadow_flush(kvm);
	return 0;
}

static void shadow_mn_invalidate_end(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mn_to_kvm(mn);

	(void)range;
	spin_lock(&kvm->mmu_lock);
	kvm->mmu_seq++;
	kvm->mn_active--;
	spin_unlock(&kvm->mmu_lock);
}

/* The mm goes away (the process exits before closing the VM). */
static void shadow_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvm *kvm = mn_to_kvm(mn);

	(void)mm;
	if (!kvm_shadow_paging) {
		kvm_tdp_zap_all(kvm);
		return;
	}
	spin_lock(&kvm->mmu_lock);
	zap_all_locked(kvm);
	spin_unlock(&kvm->mmu_lock);
	shadow_flush(kvm);
}

static const struct mmu_notifier_ops shadow_mn_ops = {
	.invalidate_range_start = shadow_mn_invalidate_start,
	.invalidate_range_end = shadow_mn_invalidate_end,
	.release = shadow_mn_release,
};

int kvm_shadow_vm_init(struct kvm *kvm)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(kvm->shadow.hash); i++)
		INIT_HLIST_HEAD(&kvm->shadow.hash[i]);
	INIT_LIST_HEAD(&kvm->shadow.lru);
	INIT_LIST_HEAD(&kvm->shadow.zapped);
	INIT_LIST_HEAD(&kvm->shadow.unsync);
	kvm->shadow.unsync_gen = 1;	/* a new root's sync_checked is 0 */
	mutex_init(&kvm->shadow.sync_lock);
	kvm->shadow.maxphyaddr = 52;
	xa_init(&kvm->shadow.rmap);
	xa_init(&kvm->shadow.rmap_large);
	xa_init(&kvm->shadow.lpage_tables);
	kvm->shadow.max_pages = shadow_auto_max(kvm);
	kvm->mn.ops = &shadow_mn_ops;
	r = mmu_notifier_register(&kvm->mn, kvm->mm);
	if (r)
		return r;
	kvm->mn_registered = true;
	return 0;
}

/*
 * First step of VM destruction, before the vCPUs go: no more notifier
 * calls (unregistering waits for those under way), no more flush requests
 * to vCPUs about to be freed.
 */
void kvm_shadow_vm_stop(struct kvm *kvm)
{
	if (!kvm->shadow.lru.next)
		return;
	WRITE_ONCE(kvm->shadow.dying, true);
	if (kvm->mn_registered)
		mmu_notifier_unregister(&kvm->mn, kvm->mm);
	kvm->mn_registered = false;
}

/*
 * How faults ended, and the exit counts by code ("code:count", hex code;
 * KVM_EXIT_HIST_NPF and _OTHER as shadow_types.h says), busiest first, on
 * one line.  Consumes the histogram (the VM is going).
 */
static void shadow_print_exit_hist(struct kvm *kvm)
{
	unsigned long *h = kvm->shadow.exit_hist;
	char buf[256];
	int len = 0, n, best, i;

	for (n = 0; n < 12; n++) {
		best = -1;
		for (i = 0; i < KVM_EXIT_HIST_SIZE; i++)
			if (h[i] && (best < 0 || h[i] > h[best]))
				best = i;
		if (best < 0)
			break;
		len += scnprintf(buf + len, sizeof(buf) - len, " %x:%lu",
				 best, h[best]);
		h[best] = 0;
	}
	pr_info("kvm: shadow MMU stats: faults that remapped %lu reflected %lu retried %lu; exits by code (%x = nested page fault):%s\n",
		kvm->shadow.remapped, kvm->shadow.injected, kvm->shadow.retried,
		KVM_EXIT_HIST_NPF, len ? buf : " none");
}

/* After the vCPUs are gone. */
void kvm_shadow_vm_destroy(struct kvm *kvm)
{
	if (!kvm_shadow_paging || !kvm->shadow.lru.next)
		return;
	kvm_shadow_vm_stop(kvm);
	/* with the counters, the audit of what the guest left (no vCPU runs) */
	if (READ_ONCE(shadow_stats))
		pr_info("kvm: shadow MMU stats: leaves mapped %lu prefetched %lu large %lu, pages created %lu cache hits %lu unshadowed %lu (misaligned %lu+%lu flooded %lu+%lu) reclaimed %lu, table writes emulated %lu, unsynced %lu synced %lu stale leaves %lu, exits %lu faults %lu root loads %lu invlpg %lu, audit problems %lu\n",
			kvm->shadow.mapped, kvm->shadow.prefetched,
			kvm->shadow.mapped_large, kvm->shadow.created, kvm->shadow.hits,
			kvm->shadow.unshadowed,
			kvm->shadow.unshadowed_misaligned[0],
			kvm->shadow.unshadowed_misaligned[1],
			kvm->shadow.unshadowed_flooded[0],
			kvm->shadow.unshadowed_flooded[1],
			kvm->shadow.reclaimed,
			kvm->shadow.emulated,
			kvm->shadow.unsynced,
			kvm->shadow.synced, kvm->shadow.sync_dropped,
			kvm->shadow.exits, kvm->shadow.faults,
			kvm->shadow.reloads, kvm->shadow.invlpgs,
			kvm_shadow_audit(kvm));
	if (READ_ONCE(shadow_stats))
		shadow_print_exit_hist(kvm);
	spin_lock(&kvm->mmu_lock);
	zap_all_locked(kvm);
	free_zapped(kvm, &kvm->shadow.zapped);	/* no vCPU is left */
	spin_unlock(&kvm->mmu_lock);
	WARN_ON_ONCE(kvm->shadow.nr_pages);
	xa_destroy(&kvm->shadow.rmap);
	xa_destroy(&kvm->shadow.rmap_large);
	xa_destroy(&kvm->shadow.lpage_tables);
}

/*
 * Consistency check of the shadow pages (for tests and debugging): every
 * present leaf is in the reverse map under its frame, every reverse-map
 * entry is a present leaf of that frame, every table entry's child lists
 * it as a parent, every shadow of a guest table that is not out of sync
 * leaves no writable leaf on that table's frame and no large leaf over
 * it, and is counted in its 2 MiB frame; an unsync shadow is a leaf page
 * on the unsync list, of a table with no shadow one level up.  Returns
 * the number of problems found.
 */
unsigned long kvm_shadow_audit(struct kvm *kvm)
{
	unsigned long bad = 0, idx, listed = 0, tables = 0, counted = 0;
	struct shadow_page *sp;
	struct shadow_link *l;
	void *v;
	int i;

	spin_lock(&kvm->mmu_lock);
	list_for_each_entry(sp, &kvm->shadow.unsync, sync_link) {
		listed++;
		if (!sp->unsync && !sp->need_sync)
			bad++;	/* listed for nothing */
	}
	bad += listed != kvm->shadow.nr_unsync;
	list_for_each_entry(sp, &kvm->shadow.lru, lru) {
		if (!sp->role.direct && !hlist_unhashed(&sp->hash_link)) {
			tables++;
			if (xa_load(&kvm->shadow.rmap_large,
				    sp->gfn >> SHADOW_LARGE_SHIFT))
				bad++;	/* a large leaf over a shadowed table */
		}
		if (sp->unsync) {
			struct shadow_page *o;

			if (sp->role.level != 1 || sp->role.direct ||
			    list_empty(&sp->sync_link))
				bad++;
			hlist_for_each_entry(o, sp_bucket(kvm, sp->gfn), hash_link)
				if (o->gfn == sp->gfn && !o->role.direct &&
				    o->role.level > 1)
					bad++;	/* must be protected */
		}
		for (i = 0; i < 512; i++) {
			u64 e = sp->spt[i];
			bool found = false;

			if (!(e & SPTE_P))
				continue;
			if (sp->role.level == 1) {
				for (l = xa_load(&kvm->shadow.rmap, sp->gfns[i]); l;
				     l = l->next)
					found |= l->sptep == &sp->spt[i];
				if ((e & SPTE_RW) &&
				    gfn_write_protected(kvm, sp->gfns[i]))
					bad++;	/* a protected table left writable */
			} else if (e & SPTE_PS) {
				for (l = xa_load(&kvm->shadow.rmap_large,
						 sp->gfns[i] >> SHADOW_LARGE_SHIFT);
				     l; l = l->next)
					found |= l->sptep == &sp->spt[i];
				bad += sp->role.level != 2 ||
				       (sp->gfns[i] & (SHADOW_LARGE_FRAMES - 1));
			} else {
				struct shadow_page *child = sp_of(__va(e & SPTE_ADDR));

				for (l = child->parents; l; l = l->next)
					found |= l->sptep == &sp->spt[i];
			}
			bad += !found;
		}
	}
	xa_for_each(&kvm->shadow.rmap, idx, l) {
		for (; l; l = l->next) {
			sp = sp_of(l->sptep);
			if (sp->role.level != 1 || !(*l->sptep & SPTE_P) ||
			    sp->gfns[l->sptep - sp->spt] != idx)
				bad++;
		}
	}
	xa_for_each(&kvm->shadow.rmap_large, idx, l) {
		for (; l; l = l->next) {
			sp = sp_of(l->sptep);
			if (sp->role.level != 2 ||
			    (*l->sptep & (SPTE_P | SPTE_PS)) != (SPTE_P | SPTE_PS) ||
			    sp->gfns[l->sptep - sp->spt] >> SHADOW_LARGE_SHIFT != idx)
				bad++;
		}
	}
	xa_for_each(&kvm->shadow.lpage_tables, idx, v)
		counted += xa_to_value(v);
	if (!kvm->shadow.no_large)
		bad += counted != tables;
	spin_unlock(&kvm->mmu_lock);
	return bad;
}
