/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shadow MMU's state in struct kvm and struct kvm_vcpu.  A header of
 * its own so that the unit tests can build kernel/mmu/shadow.c against
 * their stand-in for kvm_host.h.  Needs list, hlist, xarray and
 * mmu_notifier types from the includer.
 */
#ifndef KVM_MMU_SHADOW_TYPES_H
#define KVM_MMU_SHADOW_TYPES_H

/*
 * Shadow paging (kernel/mmu/shadow.c): the roots this vCPU runs on.  In
 * long mode one shadow page (root); otherwise (paging off, 32-bit, PAE)
 * a 4-entry PAE top level of our own (pae_root, below 4 GiB) pointing at
 * up to four shadow pages (pae_sp).  Guarded by the VM's mmu_lock;
 * root_level only changes in the vCPU thread.
 */
struct shadow_page;
struct shadow_prealloc;
struct kvm_shadow_mmu {
	struct shadow_page *root;
	u64 *pae_root;
	struct shadow_page *pae_sp[4];
	int root_level;
	struct shadow_prealloc *prealloc;	/* vCPU thread only */
};

#define KVM_SHADOW_HASH_BITS	12

/*
 * Exits by the backend's exit code (vcpu->stat.exit_hist, added up here
 * for shadow_stats): the code itself below KVM_EXIT_HIST_NPF (every VMX
 * basic reason, SVM's codes up to 0x9e), KVM_EXIT_HIST_NPF for SVM's
 * nested page fault, KVM_EXIT_HIST_OTHER for the rest.
 */
#define KVM_EXIT_HIST_NPF	0x9f
#define KVM_EXIT_HIST_OTHER	0xa0
#define KVM_EXIT_HIST_SIZE	0xa1

/*
 * The VM's shadow pages (kernel/mmu/shadow.c), all guarded by mmu_lock:
 * the hash by guest frame, the LRU list of every page, the reverse map
 * (gfn -> shadow leaves).  The MMU notifier's state is the VM's (struct
 * kvm): it serves nested paging too.
 */
struct kvm_shadow_vm {
	struct hlist_head hash[1 << KVM_SHADOW_HASH_BITS];
	struct list_head lru;
	struct list_head zapped;	/* unreachable, freed after a flush */
	unsigned long nr_pages;
	unsigned long max_pages;
	struct xarray rmap;
	/*
	 * Large leaves (2 MiB shadow entries for guest large pages the host
	 * backs with a huge page): their reverse map, by 2 MiB frame
	 * (gfn >> 9); and per 2 MiB frame, how many guest tables in it have
	 * a shadow (a large leaf there could not protect them).
	 */
	struct xarray rmap_large;
	struct xarray lpage_tables;
	bool no_large;		/* a count was lost (no memory): none */
	unsigned long pt_writes; /* bumped when a shadowed guest table is written */
	bool need_flush;	/* TLBs of every vCPU, after mmu_lock */
	bool stale_tlbs;	/* leaves dropped by INVLPG, not yet flushed */
	/* shadow_flush()es begun, and the latest begun one known finished */
	unsigned long flush_started, flush_done;
	bool need_reload;	/* a root was zapped */
	bool orphans;		/* cache off: pages with no parent to free */
	bool dying;		/* VM destruction: no vCPU to ask for flushes */
	/*
	 * Leaf shadow pages out of sync with their guest table (the guest
	 * writes it natively), or being synced: kvm_shadow_sync().
	 */
	struct list_head unsync;
	unsigned long nr_unsync;	/* pages on that list */
	/*
	 * Moves (under mmu_lock) whenever an unsync page may have become
	 * reachable from a root: a page let out of sync, a cached shadow
	 * page linked under a table.  A root whose sync_checked equals it
	 * has no unsync page below it: a CR3 load onto it has nothing to
	 * sync (kvm_shadow_sync), without walking the unsync list.
	 */
	unsigned long unsync_gen;
	bool syncing;			/* a vCPU holds sync_lock */
	int maxphyaddr;			/* the guest's, for reserved bits */
	/* Counters, for the curious (debug and bench). */
	unsigned long hits, created, unshadowed, reclaimed;
	/* pages unshadowed by these two heuristics: [0] leaf tables, [1] above */
	unsigned long unshadowed_misaligned[2], unshadowed_flooded[2];
	unsigned long mapped, prefetched;	/* leaves by faults, neighbours */
	unsigned long mapped_large;	/* large leaves by faults */
	/* faults that gave a present leaf new rights, reflected, retried */
	unsigned long remapped, injected, retried;
	unsigned long unsynced, synced;	/* pages let out of sync, synced */
	unsigned long sync_dropped;	/* leaves a sync found stale */
	unsigned long emulated;		/* writes to shadowed tables seen */
	unsigned long reloads, invlpgs;	/* root loads (CR3...), INVLPGs */
	unsigned long exits, faults;	/* of the vCPUs gone, added up */
	unsigned long exit_hist[KVM_EXIT_HIST_SIZE];	/* the same */
	/*
	 * Not under mmu_lock: held by the one vCPU syncing the unsync pages
	 * (protect, flush, then read the guest tables), across both mmu_lock
	 * sections and the flush between them.  Taken before mmu_lock.
	 */
	struct mutex sync_lock;
};

#endif /* KVM_MMU_SHADOW_TYPES_H */
