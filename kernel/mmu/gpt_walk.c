// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest page-table walker: the two instantiations of walk_tmpl.h and the
 * mode dispatch.  Portable (see kvm_portable.h).
 */
#include "gpt_walk.h"

#define PTTYPE 32
#include "walk_tmpl.h"
#undef PTTYPE

#define PTTYPE 64
#include "walk_tmpl.h"
#undef PTTYPE

enum gpt_result gpt_translate(const struct gpt_walker *w, u64 gva, u32 access,
			      u64 *gpa, u32 *error_code)
{
	switch (w->mode) {
	case GPT_NONE:
		*gpa = gva;
		return GPT_OK;
	case GPT_32:
		return paging32_translate(w, (u32)gva, access, gpa, error_code);
	default:
		return paging64_translate(w, gva, access, gpa, error_code);
	}
}
