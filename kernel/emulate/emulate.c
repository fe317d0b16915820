// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86_emulate_insn(): decode (decode.c), execute (execute.c), and commit
 * the new registers, RIP and RFLAGS only when the whole instruction
 * succeeded, so that X86EMUL_IO_NEEDED and faults leave the vCPU state as
 * it was.  Portable (see kvm_portable.h).
 */
#include "emulate_internal.h"

int emul_fault(struct emul *e, u8 vector, bool has_error, u32 error_code)
{
	struct x86emul_exception *ex = &e->ctxt->exception;

	ex->vector = vector;
	ex->error_code_valid = has_error;
	ex->error_code = has_error ? error_code : 0;
	ex->address = 0;
	return X86EMUL_PROPAGATE_FAULT;
}

static u64 next_rip(const struct x86_emulate_ctxt *ctxt, unsigned int len)
{
	u64 rip = ctxt->rip + len;

	switch (ctxt->mode) {
	case X86EMUL_MODE_PROT64:
		return rip;
	case X86EMUL_MODE_PROT32:
		return (u32)rip;
	default:
		return (u16)rip;	/* 16-bit code: IP wraps at 64 KiB */
	}
}

/*
 * A locked instruction whose compare-exchange lost to another CPU is run
 * again from its decode this many times in all, then handed back.
 */
#define EMUL_LOCKED_ATTEMPTS 4

int x86_emulate_insn(struct x86_emulate_ctxt *ctxt)
{
	struct emul e;
	bool rip_stays;
	int rc, attempt = 0;

	do {
		memset(&e, 0, sizeof(e));
		e.ctxt = ctxt;
		e.seg_override = -1;
		memcpy(e.regs, ctxt->regs, sizeof(e.regs));
		e.rflags = ctxt->rflags;

		rc = emul_decode(&e);
		ctxt->insn_len = rc == X86EMUL_CONTINUE ? e.len : e.fetched;
		if (rc != X86EMUL_CONTINUE)
			return rc;
		rc = emul_execute(&e, &rip_stays);
	} while (rc == X86EMUL_CMPXCHG_FAILED &&
		 ++attempt < EMUL_LOCKED_ATTEMPTS);
	if (rc != X86EMUL_CONTINUE)
		return rc;

	memcpy(ctxt->regs, e.regs, sizeof(e.regs));
	ctxt->rflags = e.rflags;
	if (!rip_stays)
		ctxt->rip = next_rip(ctxt, e.len);
	return X86EMUL_CONTINUE;
}
