/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The x86 instruction emulator: decodes and executes one guest
 * instruction against callbacks for memory, so that an access the
 * hardware could not complete (MMIO: guest-physical memory with no RAM
 * behind it) can be finished in software.
 *
 * Portable: includes only kvm_portable.h; the unit tests build it in
 * userspace against a fake CPU and memory (tests/unit/emulate_test.cc).
 *
 * How the kernel uses it: x86_emulate_insn() runs the instruction from
 * the state in struct x86_emulate_ctxt.  Memory accesses go through the
 * ops; an op may answer X86EMUL_IO_NEEDED (an MMIO read whose data must
 * come from userspace): emulation stops with no architectural effect, the
 * kernel exits to userspace, and on the next KVM_RUN emulates the same
 * instruction again, this time with the data available.  So an
 * instruction must be restartable: it commits registers, RIP and flags
 * only when it returns X86EMUL_CONTINUE, and does its reads before its
 * writes.
 *
 * Locked read-modify-writes (a LOCK prefix, or XCHG with memory, which
 * is always locked) are atomic against other CPUs when the caller gives
 * the cmpxchg op: the instruction reads its memory operand, computes,
 * and stores the result only if memory still holds what it read.  If
 * another CPU wrote in between, nothing is committed and the whole
 * instruction runs again (a few times; then X86EMUL_CMPXCHG_FAILED asks
 * the caller to let the guest execute it again).
 */
#ifndef KVM_EMULATE_H
#define KVM_EMULATE_H

#include "kvm_portable.h"

enum x86emul_mode {
	X86EMUL_MODE_REAL,	/* CR0.PE = 0 */
	X86EMUL_MODE_VM86,	/* EFLAGS.VM = 1 */
	X86EMUL_MODE_PROT16,	/* protected, CS.D = 0 */
	X86EMUL_MODE_PROT32,	/* protected, CS.D = 1 */
	X86EMUL_MODE_PROT64,	/* long mode, CS.L = 1 */
};

enum x86emul_result {
	X86EMUL_CONTINUE = 0,	/* done: state in ctxt is the new state */
	X86EMUL_UNHANDLEABLE,	/* not an instruction we emulate, or bad */
	X86EMUL_PROPAGATE_FAULT, /* ctxt->exception holds the fault to inject */
	X86EMUL_IO_NEEDED,	/* an op needs userspace; retry later */
	X86EMUL_CMPXCHG_FAILED,	/* a locked write lost a race: nothing done */
};

/* Segment register numbers: the hardware encoding. */
enum x86emul_seg {
	X86EMUL_SEG_ES, X86EMUL_SEG_CS, X86EMUL_SEG_SS, X86EMUL_SEG_DS,
	X86EMUL_SEG_FS, X86EMUL_SEG_GS, X86EMUL_NR_SEGS
};

struct x86emul_segment {
	u64 base;
	u32 limit;	/* byte-granular, as in struct kvm_segment */
	u8 type;	/* descriptor type field (bit 3 code, bit 1 W/R...) */
	bool present;
	bool db;
};

struct x86emul_exception {
	u8 vector;
	bool error_code_valid;
	u32 error_code;
	u64 address;	/* for #PF: the faulting linear address (CR2) */
};

struct x86_emulate_ctxt;

/*
 * Each returns X86EMUL_CONTINUE, X86EMUL_PROPAGATE_FAULT (after filling
 * ctxt->exception, e.g. a #PF from the guest page tables),
 * X86EMUL_IO_NEEDED or X86EMUL_UNHANDLEABLE.  Addresses are linear
 * (segment base already added); the callee translates through paging.
 */
struct x86_emulate_ops {
	/* Instruction bytes at @linear (an instruction fetch). */
	int (*fetch)(struct x86_emulate_ctxt *ctxt, u64 linear, void *val,
		     unsigned int bytes);
	/* Data read of 1, 2, 4 or 8 bytes (may be MMIO). */
	int (*read)(struct x86_emulate_ctxt *ctxt, u64 linear, void *val,
		    unsigned int bytes);
	/* Data write of 1, 2, 4 or 8 bytes (may be MMIO). */
	int (*write)(struct x86_emulate_ctxt *ctxt, u64 linear,
		     const void *val, unsigned int bytes);
	/*
	 * System instructions (optional: NULL makes them unhandleable).
	 * get_cr/set_cr read and write CR0, CR2, CR3, CR4, CR8 as the guest
	 * sees them; set_cr does the architectural checks and fills
	 * ctxt->exception (#GP) when the value is refused.  invlpg drops
	 * the translations of one linear address.
	 */
	int (*get_cr)(struct x86_emulate_ctxt *ctxt, int cr, u64 *val);
	int (*set_cr)(struct x86_emulate_ctxt *ctxt, int cr, u64 val);
	int (*invlpg)(struct x86_emulate_ctxt *ctxt, u64 linear);
	/*
	 * Locked write of 1, 2, 4 or 8 bytes (optional: NULL makes locked
	 * instructions plain read-then-write): atomically, if memory at
	 * @linear holds @old_val, store @new_val and answer X86EMUL_CONTINUE; if
	 * it holds something else, store nothing and answer
	 * X86EMUL_CMPXCHG_FAILED.  Where atomicity is impossible (MMIO, an
	 * access split across pages) it may simply write @new_val.
	 */
	int (*cmpxchg)(struct x86_emulate_ctxt *ctxt, u64 linear, u64 old_val,
		       u64 new_val, unsigned int bytes);
	/* LGDT (idt false) / LIDT (idt true); optional. */
	int (*set_dtable)(struct x86_emulate_ctxt *ctxt, bool idt, u64 base,
			  u16 limit);
};

struct x86_emulate_ctxt {
	/* Set by the caller before x86_emulate_insn(); updated on success. */
	const struct x86_emulate_ops *ops;
	void *opaque;			/* for the ops */
	enum x86emul_mode mode;
	u64 regs[16];			/* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8.. */
	u64 rip;
	u64 rflags;
	int cpl;
	struct x86emul_segment seg[X86EMUL_NR_SEGS];

	/* Out: the fault to inject on X86EMUL_PROPAGATE_FAULT. */
	struct x86emul_exception exception;

	/* Out, for diagnostics: the instruction bytes fetched. */
	u8 insn[15];
	u8 insn_len;
};

/* Emulate the instruction at CS:RIP. */
int x86_emulate_insn(struct x86_emulate_ctxt *ctxt);

#endif /* KVM_EMULATE_H */
