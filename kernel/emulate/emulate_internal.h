/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to kernel/emulate/: the decoded form of one instruction and the
 * working copy of the registers it may change.  decode.c fills it,
 * execute.c runs it.  It lives on x86_emulate_insn()'s stack (a few
 * hundred bytes) and is thrown away after every instruction, so nothing
 * here survives an X86EMUL_IO_NEEDED restart.
 */
#ifndef KVM_EMULATE_INTERNAL_H
#define KVM_EMULATE_INTERNAL_H

#include "emulate.h"

/* RFLAGS bits the emulator reads or writes. */
#define EFL_CF	(1ull << 0)
#define EFL_PF	(1ull << 2)
#define EFL_AF	(1ull << 4)
#define EFL_ZF	(1ull << 6)
#define EFL_SF	(1ull << 7)
#define EFL_DF	(1ull << 10)
#define EFL_OF	(1ull << 11)
#define EFL_ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

/* Exception vectors. */
#define EMUL_UD_VECTOR	6
#define EMUL_SS_VECTOR	12
#define EMUL_GP_VECTOR	13

#define EMUL_MAX_INSN_LEN 15

/* What an instruction does; the executor switches on it. */
enum emul_kind {
	K_NONE = 0,	/* not emulated: X86EMUL_UNHANDLEABLE */
	K_ALU,		/* add/or/adc/sbb/and/sub/xor/cmp */
	K_TEST,
	K_MOV,
	K_MOVZX,
	K_MOVSX,	/* 0F BE/BF and 63 (movsxd) */
	K_XCHG,
	K_GRP3,		/* F6/F7: test, not, neg */
	K_INCDEC,	/* FE/FF /0 /1 */
	K_BT,		/* bt/bts/btr/btc, register or imm8 bit offset */
	K_CMPXCHG,
	K_MOVS,
	K_STOS,
	K_MOVCR,	/* 0F 20 / 0F 22: MOV from / to a control register */
	K_CLTS,		/* 0F 06 */
	K_SYS01,	/* 0F 01 /4 SMSW, /6 LMSW, /7 INVLPG */
};

/* Where an operand comes from (table encoding). */
enum emul_opnd_src {
	O_NONE = 0,
	O_RM,		/* ModRM r/m: register or memory */
	O_REG,		/* ModRM reg */
	O_ACC,		/* AL/AX/EAX/RAX */
	O_IMM,		/* imm8 for byte ops, else imm16/imm32 (sign-extended) */
	O_IMM8,		/* imm8 sign-extended to the operand size */
	O_MOFFS,	/* A0-A3: absolute offset of address size */
	O_SI,		/* seg:rSI (DS unless overridden) */
	O_DI,		/* ES:rDI (no override) */
};

/* Table flags. */
#define F_MODRM		0x01	/* has a ModRM byte */
#define F_BYTE		0x02	/* 8-bit operands */
#define F_GROUP		0x04	/* ModRM.reg selects the operation */
#define F_SRC8		0x08	/* source is 8 bits whatever the operand size */
#define F_SRC16		0x10	/* source is 16 bits */
#define F_NO64		0x20	/* invalid (or something else) in 64-bit mode */
#define F_ONLY64	0x40	/* only emulated in 64-bit mode */

struct opcode_desc {
	u8 kind;	/* enum emul_kind */
	u8 flags;	/* F_* */
	u8 dst;		/* enum emul_opnd_src */
	u8 src;
};

enum emul_opnd_type { OPND_NONE, OPND_REG, OPND_MEM, OPND_IMM };

struct emul_operand {
	u8 type;	/* enum emul_opnd_type */
	u8 bytes;	/* 1, 2, 4 or 8 */
	u8 reg;		/* OPND_REG: 0..15 */
	bool high8;	/* OPND_REG: AH/CH/DH/BH */
	u8 seg;		/* OPND_MEM: enum x86emul_seg */
	u64 ea;		/* OPND_MEM: effective address (truncated) */
	u64 val;	/* OPND_IMM: the value */
};

struct emul {
	struct x86_emulate_ctxt *ctxt;

	/* Working copies, committed to ctxt only on X86EMUL_CONTINUE. */
	u64 regs[16];
	u64 rflags;

	/* Decode state. */
	const struct opcode_desc *d;
	u8 opcode;
	bool twobyte;
	u8 op_bytes;		/* operand size before F_BYTE: 2, 4 or 8 */
	u8 ad_bytes;		/* address size: 2, 4 or 8 */
	s8 seg_override;	/* -1: none */
	bool lock;
	bool atomic;		/* locked RMW: its memory write is a cmpxchg */
	u64 dst_read;		/* memory destination as read (for atomic) */
	bool rep;		/* F2 or F3 */
	u8 rex;			/* 0 or 0x40..0x4f */
	u8 modrm, mod, reg, rm;	/* reg and rm include REX.R / REX.B */
	u8 fetched;		/* bytes in ctxt->insn */
	u8 len;			/* bytes consumed */
	bool rip_rel;		/* ea still needs the next RIP added */
	struct emul_operand dst, src;
};

static inline bool emul_64bit(const struct emul *e)
{
	return e->ctxt->mode == X86EMUL_MODE_PROT64;
}

static inline u64 emul_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

static inline u64 emul_sext(u64 v, unsigned int bytes)
{
	unsigned int shift = 64 - bytes * 8;

	return bytes >= 8 ? v : (u64)(((s64)(v << shift)) >> shift);
}

int emul_fault(struct emul *e, u8 vector, bool has_error, u32 error_code);

/* decode.c */
int emul_decode(struct emul *e);

/* execute.c */
u64 emul_reg_read(const struct emul *e, unsigned int reg, unsigned int bytes,
		  bool high8);
void emul_reg_write(struct emul *e, unsigned int reg, unsigned int bytes,
		    bool high8, u64 val);
int emul_execute(struct emul *e, bool *rip_stays);

#endif /* KVM_EMULATE_INTERNAL_H */
