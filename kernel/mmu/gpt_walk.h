/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Walk the guest's own page tables in software: translate a guest-virtual
 * address to guest-physical the way the CPU would, with its permission
 * checks, reserved-bit checks and accessed/dirty updates, and produce the
 * page-fault error code when it would fault.
 *
 * One walker body (walk_tmpl.h) is compiled per entry format: 32-bit
 * (two levels of 4-byte entries) and 64-bit entries (PAE: 3 levels,
 * long mode: 4 or 5).  SDM vol. 3A chapter 4, AMD APM vol. 2 chapter 5.
 *
 * Portable: also built into the userspace unit tests.
 */
#ifndef KVM_GPT_WALK_H
#define KVM_GPT_WALK_H

#include "kvm_portable.h"

/* Page-fault error code bits (also the access being made). */
#define PFERR_PRESENT	(1U << 0)
#define PFERR_WRITE	(1U << 1)
#define PFERR_USER	(1U << 2)
#define PFERR_RSVD	(1U << 3)
#define PFERR_FETCH	(1U << 4)
/* Not in the error code: a supervisor access made by the CPU itself
 * (descriptor tables...), which SMAP always checks. */
#define PFERR_IMPLICIT	(1U << 31)

enum gpt_mode {
	GPT_NONE,	/* paging off: gva is the gpa */
	GPT_32,		/* 2 levels, 4-byte entries, optional PSE */
	GPT_PAE,	/* 3 levels, 8-byte entries */
	GPT_LONG4,	/* 4 levels */
	GPT_LONG5,	/* 5 levels (CR4.LA57) */
};

struct gpt_walker {
	/* The paging state of the vCPU. */
	enum gpt_mode mode;
	u64 cr3;
	bool wp;	/* CR0.WP */
	bool pse;	/* CR4.PSE (32-bit mode only; PAE/long always have it) */
	bool nx;	/* EFER.NXE */
	bool smep, smap;
	bool ac;	/* EFLAGS.AC: SMAP lets explicit accesses through */
	u8 maxphyaddr;

	/*
	 * Guest-physical memory access.  read returns 0, or -1 if nothing
	 * backs the address.  cmpxchg returns 0 if it swapped, 1 if the
	 * value had changed (the walk restarts), -1 on no memory.
	 */
	int (*read_gpa)(void *ctx, u64 gpa, void *buf, unsigned int len);
	int (*cmpxchg_gpa)(void *ctx, u64 gpa, u64 old_val, u64 new_val,
			   unsigned int len);
	void *ctx;
};

enum gpt_result {
	GPT_OK,
	GPT_FAULT,	/* *error_code holds the #PF error code */
	GPT_NO_MEMORY,	/* a page table lies outside guest memory */
};

/*
 * What a successful walk found, for whoever builds a translation from it
 * (the shadow MMU): the effective permissions along the path and where
 * the entries live.
 */
struct gpt_walk_info {
	u64 gpa;
	int level;		/* of the leaf: 1 = 4 KiB page */
	int levels;		/* of the walk (the root's level) */
	bool user;		/* U/S set at every level */
	bool writable;		/* R/W set at every level */
	bool nx;		/* XD set at some level (EFER.NXE) */
	bool dirty;		/* the leaf's D bit after the walk */
	u64 pte_gpa[6];		/* guest-physical address of the entry per level */
	u64 pte[6];		/* the entries as read (plus A/D set by the walk) */
};

/*
 * Translate @gva for an access described by @access (PFERR_WRITE,
 * PFERR_USER, PFERR_FETCH, PFERR_IMPLICIT).  On GPT_OK *gpa is set and
 * the accessed (and, for writes, dirty) bits are set in the guest's
 * entries; on GPT_FAULT *error_code is the error code the CPU would push.
 */
enum gpt_result gpt_translate(const struct gpt_walker *w, u64 gva, u32 access,
			      u64 *gpa, u32 *error_code);
/* The same, reporting the walk in @info (on GPT_OK). */
enum gpt_result gpt_walk(const struct gpt_walker *w, u64 gva, u32 access,
			 struct gpt_walk_info *info, u32 *error_code);

#endif /* KVM_GPT_WALK_H */
