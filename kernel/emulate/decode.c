// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decoder: prefixes, opcode tables, ModRM/SIB/displacement in 16-,
 * 32- and 64-bit addressing, immediates, operand and address sizes.
 * Encodings from the Intel SDM vol. 2, chapter 2 (instruction format)
 * and appendix A (opcode map).  Portable (see kvm_portable.h).
 */
#include "emulate_internal.h"

/* One row of the classic ALU block: op r/m,r / r,r/m / acc,imm. */
#define ALU_ROW(base)							\
	[(base) + 0] = { K_ALU, F_MODRM | F_BYTE, O_RM, O_REG },	\
	[(base) + 1] = { K_ALU, F_MODRM, O_RM, O_REG },			\
	[(base) + 2] = { K_ALU, F_MODRM | F_BYTE, O_REG, O_RM },	\
	[(base) + 3] = { K_ALU, F_MODRM, O_REG, O_RM },			\
	[(base) + 4] = { K_ALU, F_BYTE, O_ACC, O_IMM },			\
	[(base) + 5] = { K_ALU, 0, O_ACC, O_IMM }

/* Everything not listed is K_NONE: not emulated. */
static const struct opcode_desc onebyte_table[256] = {
	ALU_ROW(0x00), ALU_ROW(0x08), ALU_ROW(0x10), ALU_ROW(0x18),
	ALU_ROW(0x20), ALU_ROW(0x28), ALU_ROW(0x30), ALU_ROW(0x38),
	/* movsxd in 64-bit mode; ARPL elsewhere (not emulated). */
	[0x63] = { K_MOVSX, F_MODRM | F_ONLY64, O_REG, O_RM },
	[0x80] = { K_ALU, F_MODRM | F_BYTE | F_GROUP, O_RM, O_IMM },
	[0x81] = { K_ALU, F_MODRM | F_GROUP, O_RM, O_IMM },
	[0x83] = { K_ALU, F_MODRM | F_GROUP, O_RM, O_IMM8 },
	[0x84] = { K_TEST, F_MODRM | F_BYTE, O_RM, O_REG },
	[0x85] = { K_TEST, F_MODRM, O_RM, O_REG },
	[0x86] = { K_XCHG, F_MODRM | F_BYTE, O_RM, O_REG },
	[0x87] = { K_XCHG, F_MODRM, O_RM, O_REG },
	[0x88] = { K_MOV, F_MODRM | F_BYTE, O_RM, O_REG },
	[0x89] = { K_MOV, F_MODRM, O_RM, O_REG },
	[0x8a] = { K_MOV, F_MODRM | F_BYTE, O_REG, O_RM },
	[0x8b] = { K_MOV, F_MODRM, O_REG, O_RM },
	[0xa0] = { K_MOV, F_BYTE, O_ACC, O_MOFFS },
	[0xa1] = { K_MOV, 0, O_ACC, O_MOFFS },
	[0xa2] = { K_MOV, F_BYTE, O_MOFFS, O_ACC },
	[0xa3] = { K_MOV, 0, O_MOFFS, O_ACC },
	[0xa4] = { K_MOVS, F_BYTE, O_DI, O_SI },
	[0xa5] = { K_MOVS, 0, O_DI, O_SI },
	[0xa8] = { K_TEST, F_BYTE, O_ACC, O_IMM },
	[0xa9] = { K_TEST, 0, O_ACC, O_IMM },
	[0xaa] = { K_STOS, F_BYTE, O_DI, O_ACC },
	[0xab] = { K_STOS, 0, O_DI, O_ACC },
	[0xc6] = { K_MOV, F_MODRM | F_BYTE | F_GROUP, O_RM, O_IMM },
	[0xc7] = { K_MOV, F_MODRM | F_GROUP, O_RM, O_IMM },
	[0xf6] = { K_GRP3, F_MODRM | F_BYTE | F_GROUP, O_RM, O_IMM },
	[0xf7] = { K_GRP3, F_MODRM | F_GROUP, O_RM, O_IMM },
	[0xfe] = { K_INCDEC, F_MODRM | F_BYTE | F_GROUP, O_RM, O_NONE },
	[0xff] = { K_INCDEC, F_MODRM | F_GROUP, O_RM, O_NONE },
};

/* 0F xx */
static const struct opcode_desc twobyte_table[256] = {
	[0x01] = { K_SYS01, F_MODRM | F_GROUP, O_RM, O_NONE },
	[0x06] = { K_CLTS, 0, O_NONE, O_NONE },
	[0x20] = { K_MOVCR, F_MODRM, O_NONE, O_NONE },
	[0x22] = { K_MOVCR, F_MODRM, O_NONE, O_NONE },
	[0xa3] = { K_BT, F_MODRM, O_RM, O_REG },
	[0xab] = { K_BT, F_MODRM, O_RM, O_REG },
	[0xb0] = { K_CMPXCHG, F_MODRM | F_BYTE, O_RM, O_REG },
	[0xb1] = { K_CMPXCHG, F_MODRM, O_RM, O_REG },
	[0xb3] = { K_BT, F_MODRM, O_RM, O_REG },
	[0xb6] = { K_MOVZX, F_MODRM | F_SRC8, O_REG, O_RM },
	[0xb7] = { K_MOVZX, F_MODRM | F_SRC16, O_REG, O_RM },
	[0xba] = { K_BT, F_MODRM | F_GROUP, O_RM, O_IMM8 },
	[0xbb] = { K_BT, F_MODRM, O_RM, O_REG },
	[0xbe] = { K_MOVSX, F_MODRM | F_SRC8, O_REG, O_RM },
	[0xbf] = { K_MOVSX, F_MODRM | F_SRC16, O_REG, O_RM },
};

/*
 * Fetch more instruction bytes into ctxt->insn: as many as may still
 * belong to the instruction without crossing a page (the next page may
 * not be mapped, and touching it could fault where the CPU would not),
 * the CS limit or the 64 KiB IP wrap of 16-bit code.
 */
static int fetch_more(struct emul *e)
{
	struct x86_emulate_ctxt *c = e->ctxt;
	const struct x86emul_segment *cs = &c->seg[X86EMUL_SEG_CS];
	unsigned int chunk = EMUL_MAX_INSN_LEN - e->fetched;
	u64 off, linear, room;
	int rc;

	switch (c->mode) {
	case X86EMUL_MODE_PROT64:
		linear = c->rip + e->fetched;
		break;
	case X86EMUL_MODE_PROT32:
		off = (u32)(c->rip + e->fetched);
		goto segmented;
	default:
		off = (u16)(c->rip + e->fetched);
		room = 0x10000 - off;
		if (chunk > room)
			chunk = room;
segmented:
		if (c->mode == X86EMUL_MODE_PROT16 ||
		    c->mode == X86EMUL_MODE_PROT32) {
			if (off > cs->limit)
				return emul_fault(e, EMUL_GP_VECTOR, true, 0);
			room = (u64)cs->limit - off + 1;
			if (chunk > room)
				chunk = room;
		}
		linear = (u32)(cs->base + off);
		break;
	}
	room = 0x1000 - (linear & 0xfff);
	if (chunk > room)
		chunk = room;
	rc = c->ops->fetch(c, linear, c->insn + e->fetched, chunk);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	e->fetched += chunk;
	return X86EMUL_CONTINUE;
}

/* Next @bytes instruction bytes, little-endian; #GP(0) past 15 bytes. */
static int fetch(struct emul *e, unsigned int bytes, u64 *out)
{
	u64 v = 0;
	unsigned int i;
	int rc;

	for (i = 0; i < bytes; i++) {
		if (e->len >= EMUL_MAX_INSN_LEN)
			return emul_fault(e, EMUL_GP_VECTOR, true, 0);
		if (e->len == e->fetched) {
			rc = fetch_more(e);
			if (rc != X86EMUL_CONTINUE)
				return rc;
		}
		v |= (u64)e->ctxt->insn[e->len++] << (8 * i);
	}
	*out = v;
	return X86EMUL_CONTINUE;
}

static int fetch_disp(struct emul *e, unsigned int bytes, u64 *ea)
{
	u64 disp;
	int rc = fetch(e, bytes, &disp);

	if (rc == X86EMUL_CONTINUE)
		*ea += emul_sext(disp, bytes);
	return rc;
}

/* SDM vol. 2 table 2-1: 16-bit addressing forms. */
static int decode_ea16(struct emul *e, u64 *ea, u8 *seg)
{
	const u64 *r = e->regs;
	int rc = X86EMUL_CONTINUE;

	*ea = 0;
	*seg = X86EMUL_SEG_DS;
	switch (e->modrm & 7) {
	case 0: *ea = r[3] + r[6]; break;		/* BX+SI */
	case 1: *ea = r[3] + r[7]; break;		/* BX+DI */
	case 2: *ea = r[5] + r[6]; *seg = X86EMUL_SEG_SS; break; /* BP+SI */
	case 3: *ea = r[5] + r[7]; *seg = X86EMUL_SEG_SS; break; /* BP+DI */
	case 4: *ea = r[6]; break;			/* SI */
	case 5: *ea = r[7]; break;			/* DI */
	case 6:
		if (e->mod == 0) {
			rc = fetch_disp(e, 2, ea);	/* disp16 */
		} else {
			*ea = r[5];			/* BP */
			*seg = X86EMUL_SEG_SS;
		}
		break;
	case 7: *ea = r[3]; break;			/* BX */
	}
	if (rc == X86EMUL_CONTINUE && e->mod == 1)
		rc = fetch_disp(e, 1, ea);
	else if (rc == X86EMUL_CONTINUE && e->mod == 2)
		rc = fetch_disp(e, 2, ea);
	return rc;
}

/* SDM vol. 2 tables 2-2 and 2-3, section 2.2.1 for REX and RIP-relative. */
static int decode_ea32(struct emul *e, u64 *ea, u8 *seg)
{
	unsigned int base, index;
	u64 sib;
	int rc;

	*ea = 0;
	*seg = X86EMUL_SEG_DS;
	if ((e->modrm & 7) == 4) {
		rc = fetch(e, 1, &sib);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		index = ((sib >> 3) & 7) | ((e->rex & 2) << 2);
		base = (sib & 7) | ((e->rex & 1) << 3);
		if (index != 4)		/* 100b without REX.X: no index */
			*ea += e->regs[index] << (sib >> 6);
		if ((sib & 7) == 5 && e->mod == 0) {
			rc = fetch_disp(e, 4, ea);	/* disp32, no base */
			if (rc != X86EMUL_CONTINUE)
				return rc;
		} else {
			*ea += e->regs[base];
			if (base == 4 || base == 5)	/* rSP, rBP */
				*seg = X86EMUL_SEG_SS;
		}
	} else if ((e->modrm & 7) == 5 && e->mod == 0) {
		rc = fetch_disp(e, 4, ea);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		/* The next RIP is added once the length is known. */
		e->rip_rel = emul_64bit(e);
	} else {
		*ea = e->regs[e->rm];
		if (e->rm == 5)
			*seg = X86EMUL_SEG_SS;
	}
	if (e->mod == 1)
		return fetch_disp(e, 1, ea);
	if (e->mod == 2)
		return fetch_disp(e, 4, ea);
	return X86EMUL_CONTINUE;
}

static void set_reg_operand(struct emul *e, struct emul_operand *op,
			    unsigned int reg, unsigned int bytes)
{
	op->type = OPND_REG;
	op->bytes = bytes;
	op->reg = reg;
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	if (bytes == 1 && !e->rex && reg >= 4 && reg < 8) {
		op->reg = reg - 4;
		op->high8 = true;
	}
}

static void set_mem_operand(struct emul *e, struct emul_operand *op,
			    u8 default_seg, u64 ea, unsigned int bytes)
{
	op->type = OPND_MEM;
	op->bytes = bytes;
	op->seg = e->seg_override >= 0 ? e->seg_override : default_seg;
	op->ea = ea & emul_mask(e->ad_bytes);
}

static int decode_operand(struct emul *e, struct emul_operand *op, u8 src,
			  unsigned int bytes, u64 ea, u8 ea_seg)
{
	unsigned int imm_bytes;
	u64 v;
	int rc;

	switch (src) {
	case O_NONE:
		op->type = OPND_NONE;
		break;
	case O_RM:
		if (e->mod == 3)
			set_reg_operand(e, op, e->rm, bytes);
		else
			set_mem_operand(e, op, ea_seg, ea, bytes);
		break;
	case O_REG:
		set_reg_operand(e, op, e->reg, bytes);
		break;
	case O_ACC:
		set_reg_operand(e, op, 0, bytes);
		break;
	case O_IMM:
	case O_IMM8:
		/* imm32 at most: 64-bit operations sign-extend it. */
		imm_bytes = src == O_IMM8 ? 1 : bytes > 4 ? 4 : bytes;
		rc = fetch(e, imm_bytes, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		op->type = OPND_IMM;
		op->bytes = bytes;
		op->val = emul_sext(v, imm_bytes) & emul_mask(bytes);
		break;
	case O_MOFFS:
		rc = fetch(e, e->ad_bytes, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		set_mem_operand(e, op, X86EMUL_SEG_DS, v, bytes);
		break;
	case O_SI:
		set_mem_operand(e, op, X86EMUL_SEG_DS, e->regs[6], bytes);
		break;
	case O_DI:
		/* ES:rDI cannot be overridden. */
		set_mem_operand(e, op, X86EMUL_SEG_DS, e->regs[7], bytes);
		op->seg = X86EMUL_SEG_ES;
		break;
	}
	return X86EMUL_CONTINUE;
}

/* Which members of a ModRM.reg-selected group we emulate. */
static bool group_member_ok(const struct emul *e)
{
	unsigned int sel = (e->modrm >> 3) & 7;

	switch (e->d->kind) {
	case K_MOV:		/* C6/C7 /0 */
		return sel == 0;
	case K_GRP3:		/* test, not, neg */
		return sel == 0 || sel == 2 || sel == 3;
	case K_INCDEC:
		return sel <= 1;
	case K_BT:		/* 0F BA /4../7 */
		return sel >= 4;
	case K_SYS01:		/* SMSW, LMSW; LGDT/LIDT/INVLPG: memory */
		return sel == 4 || sel == 6 ||
		       ((sel == 2 || sel == 3 || sel == 7) && e->mod != 3);
	default:		/* 80/81/83: all eight ALU ops */
		return true;
	}
}

int emul_decode(struct emul *e)
{
	struct x86_emulate_ctxt *c = e->ctxt;
	bool op16 = false, ad_override = false;
	unsigned int dst_bytes, src_bytes;
	u64 b, ea = 0, next_rip;
	u8 ea_seg = X86EMUL_SEG_DS, src;
	int rc;

	/* Legacy prefixes, then REX (64-bit mode, last before the opcode). */
	for (;;) {
		rc = fetch(e, 1, &b);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		switch (b) {
		case 0x66:
			op16 = true;
			break;
		case 0x67:
			ad_override = true;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			e->seg_override = (b >> 3) & 3;
			break;
		case 0x64:
			e->seg_override = X86EMUL_SEG_FS;
			break;
		case 0x65:
			e->seg_override = X86EMUL_SEG_GS;
			break;
		case 0xf0:
			e->lock = true;
			break;
		case 0xf2: case 0xf3:
			e->rep = true;
			break;
		default:
			if (emul_64bit(e) && (b & 0xf0) == 0x40) {
				e->rex = b;
				continue;
			}
			goto opcode;
		}
		/* A REX followed by a legacy prefix is ignored. */
		e->rex = 0;
	}

opcode:
	e->opcode = b;
	e->d = &onebyte_table[b];
	if (b == 0x0f) {
		rc = fetch(e, 1, &b);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		e->twobyte = true;
		e->opcode = b;
		e->d = &twobyte_table[b];
	}
	if (e->d->kind == K_NONE)
		return X86EMUL_UNHANDLEABLE;
	if ((e->d->flags & F_ONLY64) && !emul_64bit(e))
		return X86EMUL_UNHANDLEABLE;
	if ((e->d->flags & F_NO64) && emul_64bit(e))
		return X86EMUL_UNHANDLEABLE;

	switch (c->mode) {
	case X86EMUL_MODE_PROT64:
		e->op_bytes = (e->rex & 8) ? 8 : op16 ? 2 : 4;
		e->ad_bytes = ad_override ? 4 : 8;
		break;
	case X86EMUL_MODE_PROT32:
		e->op_bytes = op16 ? 2 : 4;
		e->ad_bytes = ad_override ? 2 : 4;
		break;
	default:
		e->op_bytes = op16 ? 4 : 2;
		e->ad_bytes = ad_override ? 4 : 2;
		break;
	}

	if (e->d->flags & F_MODRM) {
		rc = fetch(e, 1, &b);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		e->modrm = b;
		e->mod = b >> 6;
		e->reg = ((b >> 3) & 7) | ((e->rex & 4) << 1);
		e->rm = (b & 7) | ((e->rex & 1) << 3);
		/* MOV CR: always the register form, mod is ignored (SDM). */
		if (e->d->kind == K_MOVCR)
			e->mod = 3;
		if ((e->d->flags & F_GROUP) && !group_member_ok(e))
			return X86EMUL_UNHANDLEABLE;
		if (e->mod != 3) {
			rc = e->ad_bytes == 2 ? decode_ea16(e, &ea, &ea_seg) :
						decode_ea32(e, &ea, &ea_seg);
			if (rc != X86EMUL_CONTINUE)
				return rc;
		}
	}

	dst_bytes = (e->d->flags & F_BYTE) ? 1 : e->op_bytes;
	src_bytes = dst_bytes;
	if (e->d->flags & F_SRC8)
		src_bytes = 1;
	else if (e->d->flags & F_SRC16)
		src_bytes = 2;
	else if (e->d->kind == K_MOVSX && !e->twobyte && src_bytes == 8)
		src_bytes = 4;		/* movsxd r64, r/m32 */
	/* SMSW/LMSW move 16 bits, except SMSW to a register. */
	if (e->d->kind == K_SYS01 && (e->mod != 3 || ((e->modrm >> 3) & 7) != 4))
		dst_bytes = src_bytes = 2;

	src = e->d->src;
	/* F6/F7: only test (/0) has an immediate. */
	if (e->d->kind == K_GRP3 && ((e->modrm >> 3) & 7) != 0)
		src = O_NONE;

	rc = decode_operand(e, &e->dst, e->d->dst, dst_bytes, ea, ea_seg);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = decode_operand(e, &e->src, src, src_bytes, ea, ea_seg);
	if (rc != X86EMUL_CONTINUE)
		return rc;

	if (e->rip_rel) {
		/* RIP-relative: relative to the next instruction. */
		next_rip = c->rip + e->len;
		if (e->dst.type == OPND_MEM)
			e->dst.ea = (e->dst.ea + next_rip) & emul_mask(e->ad_bytes);
		if (e->src.type == OPND_MEM)
			e->src.ea = (e->src.ea + next_rip) & emul_mask(e->ad_bytes);
	}
	return X86EMUL_CONTINUE;
}
