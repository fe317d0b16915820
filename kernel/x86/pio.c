// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port I/O exits: IN/OUT, and the string forms INS/OUTS with or without
 * REP.  Each exit to userspace carries up to a page of data (the PIO page
 * of the vCPU mapping, KVM_PIO_PAGE_OFFSET) and never crosses a guest
 * page, so a REP string instruction is done in chunks: RSI/RDI/RCX move
 * on after each chunk and RIP stays on the instruction until RCX reaches
 * zero, exactly as if it had been interrupted between iterations.
 *
 * As upstream does, the instruction completes (registers, RIP) only when
 * userspace calls KVM_RUN again, so KVM_GET_REGS in between shows the
 * state before it.
 */
#include <linux/mm.h>

#include "x86.h"
#include "guest_mem.h"

#define X86_SEG_ES	0
#define X86_SEG_CS	1
#define X86_SEG_SS	2
#define X86_SEG_DS	3
#define X86_SEG_FS	4
#define X86_SEG_GS	5

/* Our segment numbering (enum kvm_seg_reg) is the hardware encoding. */
static_assert(VCPU_SREG_ES == X86_SEG_ES && VCPU_SREG_GS == X86_SEG_GS);

static void kvm_pio_exit(struct kvm_vcpu *vcpu, bool in, int size, u16 port,
			 u32 count)
{
	struct kvm_run *run = vcpu->run;

	vcpu->stat.io_exits++;
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
}

/* Remember what completes the access at the next KVM_RUN. */
static void kvm_pio_pending(struct kvm_vcpu *vcpu, bool in, int size,
			    u16 port, unsigned long next_rip)
{
	memset(&vcpu->pio, 0, sizeof(vcpu->pio));
	vcpu->pio.pending = true;
	vcpu->pio.in = in;
	vcpu->pio.size = size;
	vcpu->pio.port = port;
	vcpu->pio.rip = kvm_rip(vcpu);
	vcpu->pio.next_rip = next_rip;
	vcpu->pio.addr_reg = -1;
}

int kvm_emulate_pio(struct kvm_vcpu *vcpu, bool in, int size, u16 port,
		    unsigned long next_rip)
{
	unsigned long *rax = &vcpu->regs[VCPU_REGS_RAX];
	u32 val = 0;

	/* An in-kernel device (PIC, PIT...) answers without leaving. */
	if (in && !kvm_io_bus_read(vcpu, KVM_PIO_BUS, port, &val, size)) {
		if (size == 1)
			*rax = (*rax & ~0xffUL) | (u8)val;
		else if (size == 2)
			*rax = (*rax & ~0xffffUL) | (u16)val;
		else
			*rax = val;
		vcpu->regs[VCPU_REGS_RIP] = next_rip;
		return 1;
	}
	if (!in && !kvm_io_bus_write(vcpu, KVM_PIO_BUS, port, rax, size)) {
		vcpu->regs[VCPU_REGS_RIP] = next_rip;
		return 1;
	}

	kvm_pio_exit(vcpu, in, size, port, 1);
	if (!in)
		memcpy(vcpu->pio_data, &vcpu->regs[VCPU_REGS_RAX], size);
	kvm_pio_pending(vcpu, in, size, port, next_rip);
	return 0;
}

static bool kvm_long_mode_code(struct kvm_vcpu *vcpu)
{
	struct kvm_segment cs;

	kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
	return (vcpu->efer & EFER_LMA) && cs.l;
}

/*
 * Decode what the exit did not tell: the segment an OUTS reads from (DS
 * unless a prefix overrides it) and the address size (the mode's default,
 * flipped by a 0x67 prefix).  Reads the instruction's prefixes.
 */
static int kvm_string_pio_decode(struct kvm_vcpu *vcpu, bool long_mode,
				 int *seg, u8 *addr_size)
{
	struct kvm_segment cs;
	u8 insn[15];
	unsigned int i, n;
	bool addr_override = false, lm;

	n = kvm_fetch_insn(vcpu, insn, &lm);
	if (!n)
		return -1;
	kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
	*seg = X86_SEG_DS;
	for (i = 0; i < n; i++) {
		switch (insn[i]) {
		case 0x26: *seg = X86_SEG_ES; continue;
		case 0x2e: *seg = X86_SEG_CS; continue;
		case 0x36: *seg = X86_SEG_SS; continue;
		case 0x3e: *seg = X86_SEG_DS; continue;
		case 0x64: *seg = X86_SEG_FS; continue;
		case 0x65: *seg = X86_SEG_GS; continue;
		case 0x67: addr_override = true; continue;
		case 0x66: case 0xf0: case 0xf2: case 0xf3:
			continue;
		}
		if (long_mode && (insn[i] & 0xf0) == 0x40)
			continue;	/* REX */
		break;
	}
	/* In 64-bit mode only FS and GS overrides mean anything. */
	if (long_mode && *seg != X86_SEG_FS && *seg != X86_SEG_GS)
		*seg = X86_SEG_DS;
	if (long_mode)
		*addr_size = addr_override ? 4 : 8;
	else if (cs.db)
		*addr_size = addr_override ? 2 : 4;
	else
		*addr_size = addr_override ? 4 : 2;
	return 0;
}

static unsigned long kvm_addr_mask(int addr_size)
{
	return addr_size == 8 ? ~0UL : addr_size == 4 ? 0xffffffffUL : 0xffffUL;
}

/* @reg's value after an instruction of @addr_size writes @val to it. */
static unsigned long kvm_addr_reg_value(struct kvm_vcpu *vcpu, int reg,
					unsigned long val, int addr_size)
{
	if (addr_size == 2)
		return (vcpu->regs[reg] & ~0xffffUL) | (val & 0xffff);
	return val & kvm_addr_mask(addr_size);
}

/* Reverse the order of @n elements of @size bytes. */
static void kvm_pio_reverse(u8 *buf, unsigned int n, unsigned int size)
{
	unsigned int i, j, k;

	for (i = 0, j = n - 1; i < j; i++, j--)
		for (k = 0; k < size; k++)
			swap(buf[i * size + k], buf[j * size + k]);
}

int kvm_emulate_string_pio(struct kvm_vcpu *vcpu,
			   const struct kvm_string_pio *info)
{
	struct kvm_string_pio dec = *info, *p = &dec;
	bool long_mode = kvm_long_mode_code(vcpu);
	bool down = kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_DF;
	int reg = p->in ? VCPU_REGS_RDI : VCPU_REGS_RSI;
	unsigned long count, room, n, off, mask;
	struct kvm_segment seg;
	u64 addr, start;
	int segno;

	if (!p->addr_size || p->seg < 0) {
		int s;
		u8 as;

		if (kvm_string_pio_decode(vcpu, long_mode, &s, &as))
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"cannot fetch the INS/OUTS instruction",
				kvm_rip(vcpu), 0);
		if (!p->addr_size)
			p->addr_size = as;
		if (p->seg < 0)
			p->seg = s;
	}
	mask = kvm_addr_mask(p->addr_size);

	count = p->rep ? (vcpu->regs[VCPU_REGS_RCX] & mask) : 1;
	if (!count) {
		vcpu->regs[VCPU_REGS_RIP] = p->next_rip;
		return 1;
	}

	segno = p->in ? X86_SEG_ES : p->seg;
	kvm_x86_ops.get_segment(vcpu, &seg, segno);
	if (long_mode && segno != X86_SEG_FS && segno != X86_SEG_GS)
		seg.base = 0;
	addr = seg.base + (vcpu->regs[reg] & mask);
	if (!long_mode)
		addr = (u32)addr;

	/* This exit's share: within one guest page and the PIO page. */
	off = offset_in_page(addr);
	room = down ? off / p->size + 1 : (PAGE_SIZE - off) / p->size;
	n = min3(count, max(room, 1UL), PAGE_SIZE / p->size);
	start = down ? addr - (n - 1) * p->size : addr;

	if (p->in) {
		gpa_t gpa;
		enum kvm_gva_result r;

		/* Fault before doing the I/O, so nothing is lost. */
		r = kvm_gva_to_gpa(vcpu, start, PFERR_WRITE, &gpa);
		if (r == KVM_GVA_OK)
			r = kvm_gva_to_gpa(vcpu, start + n * p->size - 1,
					   PFERR_WRITE, &gpa);
		if (r == KVM_GVA_FAULT)
			return 1;
		if (r != KVM_GVA_OK)
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"INS into memory that is not RAM", start, p->port);
	} else {
		switch (kvm_read_guest_virt(vcpu, start, vcpu->pio_data,
					    n * p->size, 0)) {
		case KVM_GVA_OK:
			break;
		case KVM_GVA_FAULT:
			return 1;
		default:
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"OUTS from memory that is not RAM", start,
				p->port);
		}
		if (down)
			kvm_pio_reverse(vcpu->pio_data, n, p->size);
	}

	/* RIP moves on only once the last chunk is done. */
	kvm_pio_pending(vcpu, p->in, p->size, p->port,
			(!p->rep || count == n) ? p->next_rip : kvm_rip(vcpu));
	vcpu->pio.string = true;
	vcpu->pio.down = down;
	vcpu->pio.count = n;
	vcpu->pio.string_gva = start;
	vcpu->pio.addr_reg = reg;
	vcpu->pio.addr_reg_after = kvm_addr_reg_value(vcpu, reg,
			vcpu->regs[reg] + (down ? -(n * p->size) : n * p->size),
			p->addr_size);
	if (p->rep) {
		vcpu->pio.rcx_update = true;
		vcpu->pio.rcx_after = kvm_addr_reg_value(vcpu, VCPU_REGS_RCX,
							 count - n, p->addr_size);
	}
	kvm_pio_exit(vcpu, p->in, p->size, p->port, n);
	return 0;
}

/*
 * Userspace handled the exit: finish the instruction (data of an IN/INS,
 * registers, RIP).  Dropped if userspace has moved RIP meanwhile (it set
 * new registers), like upstream's completion check.
 */
int kvm_complete_pio(struct kvm_vcpu *vcpu)
{
	unsigned long *rax = &vcpu->regs[VCPU_REGS_RAX];
	u32 val = 0;

	vcpu->pio.pending = false;
	if (kvm_rip(vcpu) != vcpu->pio.rip)
		return 1;

	if (vcpu->pio.in && vcpu->pio.string) {
		unsigned int len = vcpu->pio.count * vcpu->pio.size;

		if (vcpu->pio.down)
			kvm_pio_reverse(vcpu->pio_data, vcpu->pio.count,
					vcpu->pio.size);
		if (kvm_write_guest_virt(vcpu, vcpu->pio.string_gva,
					 vcpu->pio_data, len, 0) != KVM_GVA_OK)
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"INS destination vanished", vcpu->pio.string_gva,
				vcpu->pio.port);
	} else if (vcpu->pio.in) {
		memcpy(&val, vcpu->pio_data, vcpu->pio.size);
		switch (vcpu->pio.size) {
		case 1:
			*rax = (*rax & ~0xffUL) | (u8)val;
			break;
		case 2:
			*rax = (*rax & ~0xffffUL) | (u16)val;
			break;
		default:
			*rax = val;	/* 32-bit writes zero-extend */
			break;
		}
	}
	if (vcpu->pio.addr_reg >= 0)
		vcpu->regs[vcpu->pio.addr_reg] = vcpu->pio.addr_reg_after;
	if (vcpu->pio.rcx_update)
		vcpu->regs[VCPU_REGS_RCX] = vcpu->pio.rcx_after;
	vcpu->regs[VCPU_REGS_RIP] = vcpu->pio.next_rip;
	return 1;
}
