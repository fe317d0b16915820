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

enum gpt_result gpt_walk(const struct gpt_walker *w, u64 gva, u32 access,
			 struct gpt_walk_info *info, u32 *error_code)
{
	switch (w->mode) {
	case GPT_NONE:
		memset(info, 0, sizeof(*info));
		info->gpa = gva;
		info->level = 1;
		info->user = info->writable = info->dirty = true;
		return GPT_OK;
	case GPT_32:
		return paging32_translate(w, (u32)gva, access, info, error_code);
	default:
		return paging64_translate(w, gva, access, info, error_code);
	}
}

enum gpt_result gpt_translate(const struct gpt_walker *w, u64 gva, u32 access,
			      u64 *gpa, u32 *error_code)
{
	struct gpt_walk_info info;
	enum gpt_result r = gpt_walk(w, gva, access, &info, error_code);

	if (r == GPT_OK)
		*gpa = info.gpa;
	return r;
}
