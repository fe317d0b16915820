// SPDX-License-Identifier: GPL-2.0-only
/*
 * The executor: segmentation checks, operand access and the semantics of
 * each emulated instruction, with flags as the Intel SDM vol. 2 defines
 * them per instruction (and vol. 1 section 3.4.3 for their meaning).
 *
 * Restartability: register results go to the working copy in struct emul
 * and every instruction does its memory reads before its one memory
 * write, so an op answering X86EMUL_IO_NEEDED (or a fault) leaves no
 * trace.  The same makes locked instructions atomic: their one memory
 * write is a compare-exchange against the value read, and when another
 * CPU changed it meanwhile the instruction is thrown away and run again
 * (emulate.c).  Portable (see kvm_portable.h).
 */
#include "emulate_internal.h"

#define REG_RCX 1
#define REG_RSI 6
#define REG_RDI 7

u64 emul_reg_read(const struct emul *e, unsigned int reg, unsigned int bytes,
		  bool high8)
{
	if (high8)
		return (e->regs[reg] >> 8) & 0xff;
	return e->regs[reg] & emul_mask(bytes);
}

/* 8/16-bit writes merge; 32-bit writes zero-extend in 64-bit mode. */
void emul_reg_write(struct emul *e, unsigned int reg, unsigned int bytes,
		    bool high8, u64 val)
{
	u64 *r = &e->regs[reg];

	if (high8) {
		*r = (*r & ~0xff00ull) | ((val & 0xff) << 8);
		return;
	}
	if (bytes == 4 && emul_64bit(e)) {
		*r = (u32)val;
		return;
	}
	*r = (*r & ~emul_mask(bytes)) | (val & emul_mask(bytes));
}

static bool is_canonical(u64 linear)
{
	return (u64)(((s64)(linear << 16)) >> 16) == linear;
}

/*
 * Segmentation (SDM vol. 3A 5.3 limit checking, 5.4 type checking; 3.3.7.1
 * canonical addressing): the linear address of @bytes at @seg:@ea, or the
 * fault: #SS(0) for SS, #GP(0) otherwise.  Real and virtual-8086 mode are
 * not limit-checked here (their caches are loaded with 64 KiB limits the
 * caller may not fill in).
 */
static int linearize(struct emul *e, u8 seg, u64 ea, unsigned int bytes,
		     bool write, u64 *linear)
{
	struct x86_emulate_ctxt *c = e->ctxt;
	const struct x86emul_segment *s = &c->seg[seg];
	u8 vector = seg == X86EMUL_SEG_SS ? EMUL_SS_VECTOR : EMUL_GP_VECTOR;
	u64 last = ea + bytes - 1, upper, lin;

	switch (c->mode) {
	case X86EMUL_MODE_PROT64:
		/* Only FS and GS have bases; nothing has limits. */
		lin = ea;
		if (seg == X86EMUL_SEG_FS || seg == X86EMUL_SEG_GS)
			lin += s->base;
		if (!is_canonical(lin) || !is_canonical(lin + bytes - 1))
			return emul_fault(e, vector, true, 0);
		*linear = lin;
		return X86EMUL_CONTINUE;
	case X86EMUL_MODE_PROT16:
	case X86EMUL_MODE_PROT32:
		if (!s->present)	/* also a null selector */
			return emul_fault(e, vector, true, 0);
		if (s->type & 8) {
			/* Code: never writable, readable if R. */
			if (write || !(s->type & 2))
				return emul_fault(e, vector, true, 0);
		} else if (write && !(s->type & 2)) {
			return emul_fault(e, vector, true, 0);
		}
		if (!(s->type & 8) && (s->type & 4)) {
			/* Expand-down: offsets above the limit are valid. */
			upper = s->db ? 0xffffffffull : 0xffffull;
			if (ea <= s->limit || last > upper)
				return emul_fault(e, vector, true, 0);
		} else if (last > s->limit) {
			return emul_fault(e, vector, true, 0);
		}
		break;
	default:
		break;
	}
	/* Outside long mode linear addresses wrap at 4 GiB. */
	*linear = (u32)(s->base + ea);
	return X86EMUL_CONTINUE;
}

static int mem_read(struct emul *e, u8 seg, u64 ea, unsigned int bytes,
		    u64 *val)
{
	u64 linear, v = 0;
	int rc;

	rc = linearize(e, seg, ea, bytes, false, &linear);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = e->ctxt->ops->read(e->ctxt, linear, &v, bytes);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	*val = v & emul_mask(bytes);	/* little-endian host */
	return X86EMUL_CONTINUE;
}

static int mem_write(struct emul *e, u8 seg, u64 ea, unsigned int bytes,
		     u64 val)
{
	u64 linear;
	int rc;

	rc = linearize(e, seg, ea, bytes, true, &linear);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	return e->ctxt->ops->write(e->ctxt, linear, &val, bytes);
}

/* The write of a locked RMW: only if memory still holds @old. */
static int mem_cmpxchg(struct emul *e, u8 seg, u64 ea, unsigned int bytes,
		       u64 old, u64 val)
{
	u64 linear;
	int rc;

	rc = linearize(e, seg, ea, bytes, true, &linear);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	return e->ctxt->ops->cmpxchg(e->ctxt, linear, old, val, bytes);
}

static int opnd_read(struct emul *e, const struct emul_operand *op, u64 *val)
{
	switch (op->type) {
	case OPND_REG:
		*val = emul_reg_read(e, op->reg, op->bytes, op->high8);
		return X86EMUL_CONTINUE;
	case OPND_MEM: {
		int rc = mem_read(e, op->seg, op->ea, op->bytes, val);

		if (op == &e->dst)
			e->dst_read = *val;
		return rc;
	}
	case OPND_IMM:
		*val = op->val;
		return X86EMUL_CONTINUE;
	default:
		*val = 0;
		return X86EMUL_CONTINUE;
	}
}

/* Must be the instruction's last memory access. */
static int opnd_write(struct emul *e, const struct emul_operand *op, u64 val)
{
	switch (op->type) {
	case OPND_REG:
		emul_reg_write(e, op->reg, op->bytes, op->high8, val);
		return X86EMUL_CONTINUE;
	case OPND_MEM:
		if (e->atomic && op == &e->dst)
			return mem_cmpxchg(e, op->seg, op->ea, op->bytes,
					   e->dst_read, val & emul_mask(op->bytes));
		return mem_write(e, op->seg, op->ea, op->bytes,
				 val & emul_mask(op->bytes));
	default:
		return X86EMUL_UNHANDLEABLE;
	}
}

/* PF: set when the low byte of the result has an even number of ones. */
static bool parity_even(u64 res)
{
	u8 p = res & 0xff;

	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	return !(p & 1);
}

static void set_flags(struct emul *e, u64 res, unsigned int bytes, bool cf,
		      bool of, bool af)
{
	u64 f = e->rflags & ~EFL_ARITH;

	res &= emul_mask(bytes);
	if (cf)
		f |= EFL_CF;
	if (of)
		f |= EFL_OF;
	if (af)
		f |= EFL_AF;
	if (!res)
		f |= EFL_ZF;
	if (res >> (bytes * 8 - 1))
		f |= EFL_SF;
	if (parity_even(res))
		f |= EFL_PF;
	e->rflags = f;
}

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/*
 * One ALU operation at @bytes; sets CF, PF, AF, ZF, SF, OF.  Carry out of
 * the top bit is derived from the operands' and the result's top bits, so
 * it works for every width, carry/borrow in included.  Logic operations
 * clear CF and OF; their AF is undefined and we clear it.
 */
static u64 alu(struct emul *e, unsigned int op, u64 a, u64 b,
	       unsigned int bytes)
{
	u64 m = emul_mask(bytes), sign = 1ull << (bytes * 8 - 1);
	u64 res, carry_in;
	bool cf = false, of = false, af = false;

	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		carry_in = op == ALU_ADC && (e->rflags & EFL_CF);
		res = (a + b + carry_in) & m;
		cf = ((a & b) | ((a | b) & ~res)) & sign;
		of = (a ^ res) & (b ^ res) & sign;
		af = (a ^ b ^ res) & 0x10;
		break;
	case ALU_SUB:
	case ALU_SBB:
	case ALU_CMP:
		carry_in = op == ALU_SBB && (e->rflags & EFL_CF);
		res = (a - b - carry_in) & m;
		cf = ((~a & b) | ((~a | b) & res)) & sign;
		of = (a ^ b) & (a ^ res) & sign;
		af = (a ^ b ^ res) & 0x10;
		break;
	case ALU_OR:
		res = a | b;
		break;
	case ALU_AND:
		res = a & b;
		break;
	default:		/* ALU_XOR */
		res = a ^ b;
		break;
	}
	set_flags(e, res, bytes, cf, of, af);
	return res;
}

static unsigned int group_sel(const struct emul *e)
{
	return (e->modrm >> 3) & 7;
}

/* bt=0, bts=1, btr=2, btc=3 */
static unsigned int bt_op(const struct emul *e)
{
	if (e->opcode == 0xba)
		return group_sel(e) - 4;
	return (e->opcode >> 3) & 3;	/* A3, AB, B3, BB */
}

/*
 * SDM vol. 2 "LOCK": only these, and only with a memory destination;
 * anything else is #UD.
 */
static bool lock_allowed(const struct emul *e)
{
	if (e->dst.type != OPND_MEM)
		return false;
	switch (e->d->kind) {
	case K_ALU:
		return ((e->d->flags & F_GROUP) ? group_sel(e) :
			(e->opcode >> 3) & 7) != ALU_CMP;
	case K_GRP3:
		return group_sel(e) == 2 || group_sel(e) == 3;
	case K_BT:
		return bt_op(e) != 0;
	case K_INCDEC:
	case K_XCHG:
	case K_CMPXCHG:
		return true;
	default:
		return false;
	}
}

static int exec_bt(struct emul *e)
{
	unsigned int bits = e->dst.bytes * 8, shift, op = bt_op(e);
	u64 off = e->src.val, val, mask;
	int rc;

	if (e->src.type == OPND_REG) {
		off = emul_reg_read(e, e->src.reg, e->src.bytes, false);
		if (e->dst.type == OPND_MEM) {
			/*
			 * A register bit offset is signed and may reach
			 * outside the operand: the operand-sized word
			 * holding the bit is at ea + (offset >> log2(bits))
			 * words (SDM vol. 2 "BT", operation with a
			 * memory bit base).
			 */
			shift = bits == 16 ? 4 : bits == 32 ? 5 : 6;
			e->dst.ea += (u64)(((s64)emul_sext(off, e->dst.bytes) >>
					   shift) * e->dst.bytes);
			e->dst.ea &= emul_mask(e->ad_bytes);
		}
	}
	mask = 1ull << (off & (bits - 1));

	rc = opnd_read(e, &e->dst, &val);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	/* CF is the bit; ZF unchanged; OF, SF, AF, PF undefined: unchanged. */
	if (val & mask)
		e->rflags |= EFL_CF;
	else
		e->rflags &= ~EFL_CF;
	switch (op) {
	case 1:
		return opnd_write(e, &e->dst, val | mask);
	case 2:
		return opnd_write(e, &e->dst, val & ~mask);
	case 3:
		return opnd_write(e, &e->dst, val ^ mask);
	default:
		return X86EMUL_CONTINUE;
	}
}

static int exec_cmpxchg(struct emul *e)
{
	unsigned int bytes = e->dst.bytes;
	u64 acc = emul_reg_read(e, 0, bytes, false), dst, src;
	int rc;

	rc = opnd_read(e, &e->dst, &dst);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = opnd_read(e, &e->src, &src);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	alu(e, ALU_CMP, acc, dst, bytes);
	if (e->rflags & EFL_ZF)
		return opnd_write(e, &e->dst, src);
	/* Mismatch: the accumulator gets the destination, which (in memory)
	 * the processor writes back unchanged. */
	emul_reg_write(e, 0, bytes, false, dst);
	if (e->dst.type == OPND_MEM)
		return opnd_write(e, &e->dst, dst);
	return X86EMUL_CONTINUE;
}

/*
 * movs/stos.  With REP we do one iteration per call and leave RIP on the
 * instruction until the count reaches zero: the guest re-executes it,
 * exactly as after an interrupt between iterations.
 */
static int exec_string(struct emul *e, bool *rip_stays)
{
	unsigned int bytes = e->dst.bytes, ad = e->ad_bytes;
	u64 count = 0, val, delta;
	int rc;

	if (e->rep) {
		count = emul_reg_read(e, REG_RCX, ad, false);
		if (!count)
			return X86EMUL_CONTINUE;
	}
	/* movs: seg:rSI; stos: the accumulator */
	rc = opnd_read(e, &e->src, &val);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = opnd_write(e, &e->dst, val);
	if (rc != X86EMUL_CONTINUE)
		return rc;

	delta = (e->rflags & EFL_DF) ? -(u64)bytes : bytes;
	if (e->d->kind == K_MOVS)
		emul_reg_write(e, REG_RSI, ad, false, e->regs[REG_RSI] + delta);
	emul_reg_write(e, REG_RDI, ad, false, e->regs[REG_RDI] + delta);
	if (e->rep) {
		emul_reg_write(e, REG_RCX, ad, false, count - 1);
		*rip_stays = count - 1 != 0;
	}
	return X86EMUL_CONTINUE;
}

/*
 * MOV CR, CLTS, LMSW, SMSW, INVLPG: the instructions a hypervisor sees
 * when it intercepts control-register accesses and TLB invalidation
 * (shadow paging), without decode assists.  SDM vol. 2 for each.
 */
static int exec_system(struct emul *e)
{
	const struct x86_emulate_ops *ops = e->ctxt->ops;
	unsigned int sel = group_sel(e);
	u64 val, cr0;
	int rc, cr;

	if (!ops->get_cr || !ops->set_cr || !ops->invlpg)
		return X86EMUL_UNHANDLEABLE;
	/* SMSW is the only one allowed above CPL 0 (no UMIP offered). */
	if (!(e->d->kind == K_SYS01 && sel == 4) && e->ctxt->cpl)
		return emul_fault(e, EMUL_GP_VECTOR, true, 0);

	switch (e->d->kind) {
	case K_MOVCR:
		cr = e->reg;
		if (cr != 0 && cr != 2 && cr != 3 && cr != 4 &&
		    !(cr == 8 && emul_64bit(e)))
			return emul_fault(e, EMUL_UD_VECTOR, false, 0);
		if (e->opcode == 0x20) {
			rc = ops->get_cr(e->ctxt, cr, &val);
			if (rc != X86EMUL_CONTINUE)
				return rc;
			emul_reg_write(e, e->rm, emul_64bit(e) ? 8 : 4, false, val);
			return X86EMUL_CONTINUE;
		}
		val = emul_reg_read(e, e->rm, emul_64bit(e) ? 8 : 4, false);
		return ops->set_cr(e->ctxt, cr, val);
	case K_CLTS:
		rc = ops->get_cr(e->ctxt, 0, &cr0);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		return ops->set_cr(e->ctxt, 0, cr0 & ~8ull);
	case K_SYS01:
		if (sel == 2 || sel == 3) {
			/*
			 * LGDT/LIDT m16&32 (m16&64 in 64-bit mode): a 16-bit
			 * limit, then the base; with a 16-bit operand size
			 * only 24 bits of it (SDM vol. 2 LGDT/LIDT).  The
			 * register forms are other instructions (VMCALL,
			 * MONITOR...).
			 */
			u64 limit, base;

			if (e->dst.type != OPND_MEM || !ops->set_dtable)
				return X86EMUL_UNHANDLEABLE;
			rc = mem_read(e, e->dst.seg, e->dst.ea, 2, &limit);
			if (rc != X86EMUL_CONTINUE)
				return rc;
			rc = mem_read(e, e->dst.seg,
				      (e->dst.ea + 2) & emul_mask(e->ad_bytes),
				      emul_64bit(e) ? 8 : 4, &base);
			if (rc != X86EMUL_CONTINUE)
				return rc;
			if (e->op_bytes == 2)
				base &= 0xffffff;
			return ops->set_dtable(e->ctxt, sel == 3, base, limit);
		}
		if (sel == 7) {
			u64 lin = e->dst.ea;

			if (emul_64bit(e)) {
				if (e->dst.seg == X86EMUL_SEG_FS ||
				    e->dst.seg == X86EMUL_SEG_GS)
					lin += e->ctxt->seg[e->dst.seg].base;
			} else {
				lin = (u32)(lin + e->ctxt->seg[e->dst.seg].base);
			}
			return ops->invlpg(e->ctxt, lin);
		}
		rc = ops->get_cr(e->ctxt, 0, &cr0);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		if (sel == 4)		/* SMSW */
			return opnd_write(e, &e->dst, cr0);
		rc = opnd_read(e, &e->dst, &val);	/* LMSW: PE sticks */
		if (rc != X86EMUL_CONTINUE)
			return rc;
		return ops->set_cr(e->ctxt, 0,
				   (cr0 & ~0xeull) | (val & 0xf));
	default:
		return X86EMUL_UNHANDLEABLE;
	}
}

int emul_execute(struct emul *e, bool *rip_stays)
{
	unsigned int bytes = e->dst.bytes, sel = group_sel(e);
	u64 dst = 0, src = 0, res, cf;
	int rc;

	*rip_stays = false;
	if (e->lock && !lock_allowed(e))
		return emul_fault(e, EMUL_UD_VECTOR, false, 0);
	/* XCHG with memory is locked with or without the prefix. */
	e->atomic = (e->lock || (e->d->kind == K_XCHG &&
				 e->dst.type == OPND_MEM)) &&
		    e->ctxt->ops->cmpxchg;

	switch (e->d->kind) {
	case K_ALU:
		rc = opnd_read(e, &e->dst, &dst);
		if (rc == X86EMUL_CONTINUE)
			rc = opnd_read(e, &e->src, &src);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		if (!(e->d->flags & F_GROUP))
			sel = (e->opcode >> 3) & 7;
		res = alu(e, sel, dst, src, bytes);
		if (sel == ALU_CMP)
			return X86EMUL_CONTINUE;
		return opnd_write(e, &e->dst, res);

	case K_TEST:
		rc = opnd_read(e, &e->dst, &dst);
		if (rc == X86EMUL_CONTINUE)
			rc = opnd_read(e, &e->src, &src);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		alu(e, ALU_AND, dst, src, bytes);
		return X86EMUL_CONTINUE;

	case K_MOV:
	case K_MOVZX:
	case K_MOVSX:
		rc = opnd_read(e, &e->src, &src);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		if (e->d->kind == K_MOVSX)
			src = emul_sext(src, e->src.bytes);
		return opnd_write(e, &e->dst, src);

	case K_XCHG:
		rc = opnd_read(e, &e->dst, &dst);
		if (rc == X86EMUL_CONTINUE)
			rc = opnd_read(e, &e->src, &src);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		rc = opnd_write(e, &e->src, dst);	/* a register */
		if (rc != X86EMUL_CONTINUE)
			return rc;
		return opnd_write(e, &e->dst, src);

	case K_GRP3:
		rc = opnd_read(e, &e->dst, &dst);
		if (rc == X86EMUL_CONTINUE)
			rc = opnd_read(e, &e->src, &src);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		if (sel == 0) {		/* test */
			alu(e, ALU_AND, dst, src, bytes);
			return X86EMUL_CONTINUE;
		}
		if (sel == 2)		/* not: flags unaffected */
			return opnd_write(e, &e->dst, ~dst);
		/* neg: 0 - dst; CF = (dst != 0) falls out of the borrow. */
		return opnd_write(e, &e->dst, alu(e, ALU_SUB, 0, dst, bytes));

	case K_INCDEC:
		rc = opnd_read(e, &e->dst, &dst);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		cf = e->rflags & EFL_CF;	/* inc/dec keep CF */
		res = alu(e, sel == 0 ? ALU_ADD : ALU_SUB, dst, 1, bytes);
		e->rflags = (e->rflags & ~EFL_CF) | cf;
		return opnd_write(e, &e->dst, res);

	case K_BT:
		return exec_bt(e);

	case K_CMPXCHG:
		return exec_cmpxchg(e);

	case K_MOVS:
	case K_STOS:
		return exec_string(e, rip_stays);

	case K_MOVCR:
	case K_CLTS:
	case K_SYS01:
		return exec_system(e);

	default:
		return X86EMUL_UNHANDLEABLE;
	}
}
