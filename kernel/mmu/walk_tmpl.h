/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest page-table walker body, included once per entry format with
 * PTTYPE defined to 32 or 64 (see gpt_walk.c).  FNAME() gives each copy
 * its own names.
 */
#if PTTYPE == 32
#define pt_element_t	u32
#define FNAME(name)	paging32_##name
#define PT_INDEX_BITS	10
#elif PTTYPE == 64
#define pt_element_t	u64
#define FNAME(name)	paging64_##name
#define PT_INDEX_BITS	9
#else
#error "PTTYPE must be 32 or 64"
#endif

#define PT_MAX_LEVELS	5

/* Bits of @pte, at @level, that must be zero in this mode. */
static u64 FNAME(reserved_bits)(const struct gpt_walker *w, u64 pte,
				int level, bool leaf)
{
#if PTTYPE == 32
	if (level == 2 && leaf) {
		/* 4 MiB page: bit 21 reserved, bits 20:13 hold addr 39:32. */
		u64 rsvd = 1ULL << 21;
		int high = w->maxphyaddr > 40 ? 8 :
			   w->maxphyaddr > 32 ? w->maxphyaddr - 32 : 0;

		rsvd |= (0xffULL << (13 + high)) & 0x1fe000ULL;
		return pte & rsvd;
	}
	return 0;
#else
	u64 rsvd = 0;
	int hi;

	/* Physical address bits at and above MAXPHYADDR, up to bit 51. */
	for (hi = w->maxphyaddr; hi < 52; hi++)
		rsvd |= 1ULL << hi;
	/*
	 * PAE PDPTE: its reserved bits (2:1, 8:5, 63:MAXPHYADDR) make the
	 * load of the PDPTE registers #GP (MOV CR3, CR0/CR4 paging changes:
	 * kvm_pae_pdptes_ok() for the loads we intercept), never a walk #PF;
	 * upstream's walker uses the entries as loaded.  With nested paging
	 * the CPU walks the guest's PDPT itself and L0's QEMU even sets bit
	 * 5 there, so a walk check would fault where the CPU did not.
	 */
	if (w->mode == GPT_PAE && level == 3)
		return 0;
	if (!w->nx)
		rsvd |= 1ULL << 63;
	if (level >= 4)
		rsvd |= 1ULL << 7;	/* no PS in PML4E/PML5E */
	if (leaf && level == 2)
		rsvd |= 0xffULL << 13;	/* 2 MiB page: bits 20:13 */
	if (leaf && level == 3)
		rsvd |= 0x1ffffULL << 13; /* 1 GiB page: bits 29:13 */
	return pte & rsvd;
#endif
}

static u64 FNAME(table_addr)(u64 pte)
{
#if PTTYPE == 32
	return pte & 0xfffff000ULL;
#else
	return pte & 0x000ffffffffff000ULL;
#endif
}

/* Guest-physical address of a leaf at @level mapping @gva. */
static u64 FNAME(leaf_gpa)(u64 pte, int level, u64 gva)
{
#if PTTYPE == 32
	if (level == 2)
		return (pte & 0xffc00000ULL) | (((pte >> 13) & 0xff) << 32) |
		       (gva & 0x3fffff);
	return (pte & 0xfffff000ULL) | (gva & 0xfff);
#else
	u64 size = 1ULL << (12 + PT_INDEX_BITS * (level - 1));

	return (pte & 0x000ffffffffff000ULL & ~(size - 1)) | (gva & (size - 1));
#endif
}

static enum gpt_result FNAME(translate)(const struct gpt_walker *w, u64 gva,
					u32 access, struct gpt_walk_info *info,
					u32 *error_code)
{
	int levels = w->mode == GPT_32 ? 2 : w->mode == GPT_PAE ? 3 :
		     w->mode == GPT_LONG4 ? 4 : 5;
	bool write = access & PFERR_WRITE, user = access & PFERR_USER;
	bool fetch = access & PFERR_FETCH;
	u64 pte_gpa[PT_MAX_LEVELS + 1];
	pt_element_t ptes[PT_MAX_LEVELS + 1];
	/*
	 * I/D is reported only where execute-disable exists (PAE and long
	 * mode with EFER.NXE) or with SMEP: SDM vol. 3A 4.7.
	 */
	u32 fetch_bit = (fetch && ((w->nx && PTTYPE == 64) || w->smep)) ?
			PFERR_FETCH : 0;
	int level, leaf_level, tries;

	for (tries = 0; tries < 8; tries++) {
		bool user_ok = true, write_ok = true, no_exec = false;
		u64 table;
		int r = 0;

#if PTTYPE == 32
		table = w->cr3 & 0xfffff000ULL;
#else
		table = w->mode == GPT_PAE ? (w->cr3 & 0xffffffe0ULL) :
					     (w->cr3 & 0x000ffffffffff000ULL);
#endif
		for (level = levels; level >= 1; level--) {
			unsigned int idx;
			pt_element_t pte;
			bool leaf;

			if (w->mode == GPT_PAE && level == 3)
				idx = (gva >> 30) & 3;
			else
				idx = (gva >> (12 + PT_INDEX_BITS * (level - 1))) &
				      ((1U << PT_INDEX_BITS) - 1);
			pte_gpa[level] = table + idx * sizeof(pt_element_t);
			if (w->read_gpa(w->ctx, pte_gpa[level], &pte, sizeof(pte)))
				return GPT_NO_MEMORY;
			ptes[level] = pte;

			if (!(pte & 1)) {
				*error_code = (access & (PFERR_WRITE | PFERR_USER)) |
					      fetch_bit;
				return GPT_FAULT;
			}
#if PTTYPE == 32
			leaf = level == 1 || (level == 2 && w->pse && (pte & 0x80));
#else
			leaf = level == 1 ||
			       ((level == 2 || (level == 3 && w->mode != GPT_PAE)) &&
				(pte & 0x80));
#endif
			if (FNAME(reserved_bits)(w, pte, level, leaf)) {
				*error_code = PFERR_PRESENT | PFERR_RSVD |
					      (access & (PFERR_WRITE | PFERR_USER)) |
					      fetch_bit;
				return GPT_FAULT;
			}
			if (!(w->mode == GPT_PAE && level == 3)) {
				user_ok &= !!(pte & 4);
				write_ok &= !!(pte & 2);
#if PTTYPE == 64
				if (w->nx)
					no_exec |= !!((u64)pte >> 63);
#endif
			}
			if (leaf)
				break;
			table = FNAME(table_addr)(pte);
		}
		leaf_level = level;

		/* Permissions: SDM vol. 3A 4.6. */
		if ((user && !user_ok) ||
		    (write && !write_ok && (user || w->wp)) ||
		    (fetch && no_exec) ||
		    (fetch && !user && w->smep && user_ok) ||
		    (!fetch && !user && w->smap && user_ok &&
		     ((access & PFERR_IMPLICIT) || !w->ac))) {
			*error_code = PFERR_PRESENT |
				      (access & (PFERR_WRITE | PFERR_USER)) |
				      fetch_bit;
			return GPT_FAULT;
		}

		/* Accessed bits on the way down, dirty on the written leaf. */
		for (level = levels; level >= leaf_level; level--) {
			pt_element_t old = ptes[level], new = old | 0x20;

			if (w->mode == GPT_PAE && level == 3)
				continue;
			if (level == leaf_level && write)
				new |= 0x40;
			if (new == old)
				continue;
			r = w->cmpxchg_gpa(w->ctx, pte_gpa[level], old, new,
					   sizeof(pt_element_t));
			if (r)
				break;
		}
		if (r < 0)
			return GPT_NO_MEMORY;
		if (r > 0)
			continue;	/* an entry changed under us: walk again */

		info->gpa = FNAME(leaf_gpa)(ptes[leaf_level], leaf_level, gva);
		info->level = leaf_level;
		info->levels = levels;
		info->user = user_ok;
		info->writable = write_ok;
		info->nx = no_exec;
		info->dirty = (ptes[leaf_level] & 0x40) || write;
		for (level = levels; level >= leaf_level; level--) {
			info->pte_gpa[level] = pte_gpa[level];
			info->pte[level] = ptes[level];
			if (w->mode == GPT_PAE && level == 3)
				continue;	/* PDPTEs have no A/D */
			info->pte[level] |= 0x20 |
				(level == leaf_level && write ? 0x40 : 0);
		}
		return GPT_OK;
	}
	return GPT_NO_MEMORY;
}

#undef pt_element_t
#undef FNAME
#undef PT_INDEX_BITS
#undef PT_MAX_LEVELS
