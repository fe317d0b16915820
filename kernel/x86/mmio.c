// SPDX-License-Identifier: GPL-2.0-only
/*
 * MMIO: a guest access to guest-physical memory that no slot backs is
 * finished by emulating the instruction (kernel/emulate/).  RAM operands
 * are read and written directly; device operands leave the kernel as
 * KVM_EXIT_MMIO:
 *  - a write: the instruction is complete, the exit carries the data;
 *  - a read: the instruction has not happened yet.  Userspace fills
 *    kvm_run.mmio.data, and the next KVM_RUN emulates the same
 *    instruction again with that data (kept in vcpu->mmio.reads).
 */
#include <linux/mm.h>

#include "x86.h"
#include "guest_mem.h"
#include "irq.h"
#include "../emulate/emulate.h"

static struct kvm_vcpu *emul_vcpu(struct x86_emulate_ctxt *ctxt)
{
	return ctxt->opaque;
}

/* Linear to guest-physical for a data access; a #PF goes to ctxt. */
static int emul_translate(struct x86_emulate_ctxt *ctxt, u64 linear,
			  u32 access, gpa_t *gpa)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);
	struct gpt_walker w;
	u32 error_code;
	u64 out;

	kvm_vcpu_init_walker(vcpu, &w);
	if (ctxt->mode != X86EMUL_MODE_PROT64)
		linear = (u32)linear;
	if (ctxt->cpl == 3)
		access |= PFERR_USER;
	switch (gpt_translate(&w, linear, access, &out, &error_code)) {
	case GPT_OK:
		*gpa = out;
		return X86EMUL_CONTINUE;
	case GPT_FAULT:
		ctxt->exception.vector = PF_VECTOR;
		ctxt->exception.error_code_valid = true;
		ctxt->exception.error_code = error_code;
		ctxt->exception.address = linear;
		return X86EMUL_PROPAGATE_FAULT;
	default:
		return X86EMUL_UNHANDLEABLE;
	}
}

/* RAM for this access?  A read-only slot is RAM for reads only. */
static bool gpa_is_ram(struct kvm *kvm, gpa_t gpa, bool write)
{
	struct kvm_memory_slot *slot;
	bool ram;

	mutex_lock(&kvm->slots_lock);
	slot = kvm_gfn_to_slot(kvm, gpa >> PAGE_SHIFT);
	ram = slot && !(write && (slot->flags & KVM_MEM_READONLY));
	mutex_unlock(&kvm->slots_lock);
	return ram;
}

/*
 * Resolve a data access of @bytes at @linear.  It may not straddle RAM
 * and MMIO, nor two MMIO pages (no device register does).
 */
static int emul_access(struct x86_emulate_ctxt *ctxt, u64 linear,
		       unsigned int bytes, u32 access, gpa_t *gpa, bool *ram)
{
	unsigned int first = min_t(unsigned int, bytes,
				   PAGE_SIZE - offset_in_page(linear));
	gpa_t gpa2;
	int r;

	r = emul_translate(ctxt, linear, access, gpa);
	if (r != X86EMUL_CONTINUE)
		return r;
	*ram = gpa_is_ram(emul_vcpu(ctxt)->kvm, *gpa, access & PFERR_WRITE);
	if (first == bytes)
		return X86EMUL_CONTINUE;
	r = emul_translate(ctxt, linear + first, access, &gpa2);
	if (r != X86EMUL_CONTINUE)
		return r;
	if (!*ram || !gpa_is_ram(emul_vcpu(ctxt)->kvm, gpa2,
				 access & PFERR_WRITE))
		return X86EMUL_UNHANDLEABLE;
	return X86EMUL_CONTINUE;
}

static int emul_fetch(struct x86_emulate_ctxt *ctxt, u64 linear, void *val,
		      unsigned int bytes)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);

	if (ctxt->mode != X86EMUL_MODE_PROT64)
		linear = (u32)linear;
	switch (kvm_read_guest_virt(vcpu, linear, val, bytes, PFERR_FETCH)) {
	case KVM_GVA_OK:
		return X86EMUL_CONTINUE;
	case KVM_GVA_FAULT:
		/* kvm_read_guest_virt queued the #PF already. */
		ctxt->exception.vector = 0xff;
		return X86EMUL_PROPAGATE_FAULT;
	default:
		return X86EMUL_UNHANDLEABLE;	/* code in MMIO: not supported */
	}
}

static int emul_read(struct x86_emulate_ctxt *ctxt, u64 linear, void *val,
		     unsigned int bytes)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);
	gpa_t gpa;
	bool ram;
	int i, r;

	r = emul_access(ctxt, linear, bytes, 0, &gpa, &ram);
	if (r != X86EMUL_CONTINUE)
		return r;
	if (ram && offset_in_page(gpa) + bytes <= PAGE_SIZE)
		/* Translated already (the common case: one page). */
		return kvm_read_guest(vcpu->kvm, gpa, val, bytes) ?
		       X86EMUL_UNHANDLEABLE : X86EMUL_CONTINUE;
	if (ram) {
		if (ctxt->mode != X86EMUL_MODE_PROT64)
			linear = (u32)linear;
		return kvm_read_guest_virt(vcpu, linear, val, bytes, 0) ==
		       KVM_GVA_OK ? X86EMUL_CONTINUE : X86EMUL_UNHANDLEABLE;
	}

	/* An in-kernel device (LAPIC, IOAPIC) answers without leaving. */
	if (!kvm_lapic_mmio(vcpu, gpa, val, bytes, false) ||
	    !kvm_io_bus_read(vcpu, KVM_MMIO_BUS, gpa, val, bytes))
		return X86EMUL_CONTINUE;

	/* A device read: answered already, or ask userspace. */
	for (i = 0; i < vcpu->mmio.nr_reads; i++) {
		if (vcpu->mmio.reads[i].gpa == gpa &&
		    vcpu->mmio.reads[i].len == bytes) {
			memcpy(val, vcpu->mmio.reads[i].data, bytes);
			return X86EMUL_CONTINUE;
		}
	}
	if (vcpu->mmio.nr_reads == ARRAY_SIZE(vcpu->mmio.reads) || bytes > 8)
		return X86EMUL_UNHANDLEABLE;
	vcpu->mmio.read_gpa = gpa;
	vcpu->mmio.read_len = bytes;
	return X86EMUL_IO_NEEDED;
}

static int emul_write(struct x86_emulate_ctxt *ctxt, u64 linear,
		      const void *val, unsigned int bytes)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);
	gpa_t gpa;
	bool ram;
	int r;

	r = emul_access(ctxt, linear, bytes, PFERR_WRITE, &gpa, &ram);
	if (r != X86EMUL_CONTINUE)
		return r;
	if (ram && offset_in_page(gpa) + bytes <= PAGE_SIZE)
		return kvm_write_guest(vcpu->kvm, gpa, val, bytes) ?
		       X86EMUL_UNHANDLEABLE : X86EMUL_CONTINUE;
	if (ram) {
		if (ctxt->mode != X86EMUL_MODE_PROT64)
			linear = (u32)linear;
		return kvm_write_guest_virt(vcpu, linear, val, bytes, 0) ==
		       KVM_GVA_OK ? X86EMUL_CONTINUE : X86EMUL_UNHANDLEABLE;
	}
	if (!kvm_lapic_mmio(vcpu, gpa, (void *)val, bytes, true) ||
	    !kvm_io_bus_write(vcpu, KVM_MMIO_BUS, gpa, val, bytes))
		return X86EMUL_CONTINUE;

	/* One device write per instruction: it leaves as the exit. */
	if (vcpu->mmio.write_pending || bytes > 8)
		return X86EMUL_UNHANDLEABLE;
	vcpu->mmio.write_pending = true;
	vcpu->mmio.write_gpa = gpa;
	vcpu->mmio.write_len = bytes;
	memcpy(vcpu->mmio.write_data, val, bytes);
	return X86EMUL_CONTINUE;
}

/*
 * The write of a locked instruction (LOCK prefix, XCHG): atomic on guest
 * RAM, against the other vCPUs too, which run natively on the same host
 * page (the page may be a write-protected guest page table: the shadow
 * MMU sees the write through kvm_cmpxchg_guest).  A device register or an
 * access split across two pages cannot be made atomic: written plainly,
 * as a bus lock would not help a device model either.
 */
static int emul_cmpxchg(struct x86_emulate_ctxt *ctxt, u64 linear, u64 old,
			u64 new, unsigned int bytes)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);
	gpa_t gpa;
	bool ram;
	int r;

	r = emul_access(ctxt, linear, bytes, PFERR_WRITE, &gpa, &ram);
	if (r != X86EMUL_CONTINUE)
		return r;
	if (!ram || offset_in_page(gpa) + bytes > PAGE_SIZE)
		return emul_write(ctxt, linear, &new, bytes);
	switch (kvm_cmpxchg_guest(vcpu->kvm, gpa, old, new, bytes, true)) {
	case 0:
		return X86EMUL_CONTINUE;
	case 1:
		return X86EMUL_CMPXCHG_FAILED;
	default:
		return X86EMUL_UNHANDLEABLE;
	}
}

static int emul_get_cr(struct x86_emulate_ctxt *ctxt, int cr, u64 *val)
{
	*val = kvm_x86_ops.get_cr(emul_vcpu(ctxt), cr);
	return X86EMUL_CONTINUE;
}

static int emul_set_cr(struct x86_emulate_ctxt *ctxt, int cr, u64 val)
{
	struct kvm_vcpu *vcpu = emul_vcpu(ctxt);

	/* Outside 64-bit mode MOV CR takes 32 bits. */
	if (ctxt->mode != X86EMUL_MODE_PROT64)
		val = (u32)val;
	if (kvm_set_cr(vcpu, cr, val)) {
		ctxt->exception.vector = GP_VECTOR;
		ctxt->exception.error_code_valid = true;
		ctxt->exception.error_code = 0;
		return X86EMUL_PROPAGATE_FAULT;
	}
	return X86EMUL_CONTINUE;
}

static int emul_invlpg(struct x86_emulate_ctxt *ctxt, u64 linear)
{
	kvm_mmu_invlpg(emul_vcpu(ctxt), linear);
	return X86EMUL_CONTINUE;
}

static int emul_set_dtable(struct x86_emulate_ctxt *ctxt, bool idt, u64 base,
			   u16 limit)
{
	struct kvm_dtable dt = { .base = base, .limit = limit };

	if (ctxt->mode == X86EMUL_MODE_PROT64 && !kvm_is_canonical(base)) {
		ctxt->exception.vector = GP_VECTOR;
		ctxt->exception.error_code_valid = true;
		ctxt->exception.error_code = 0;
		return X86EMUL_PROPAGATE_FAULT;
	}
	kvm_x86_ops.set_dtable(emul_vcpu(ctxt), &dt,
			       idt ? VCPU_DTABLE_IDT : VCPU_DTABLE_GDT);
	return X86EMUL_CONTINUE;
}

static const struct x86_emulate_ops kvm_emulate_ops = {
	.fetch = emul_fetch,
	.read = emul_read,
	.write = emul_write,
	.get_cr = emul_get_cr,
	.set_cr = emul_set_cr,
	.invlpg = emul_invlpg,
	.cmpxchg = emul_cmpxchg,
	.set_dtable = emul_set_dtable,
};

static int kvm_emulate_mmio_finish(struct kvm_vcpu *vcpu, int r);

static void kvm_init_emulate_ctxt(struct kvm_vcpu *vcpu,
				  struct x86_emulate_ctxt *ctxt)
{
	unsigned long cr0 = kvm_x86_ops.get_cr(vcpu, 0);
	struct kvm_segment s;
	int i;

	memset(ctxt, 0, sizeof(*ctxt));
	ctxt->ops = &kvm_emulate_ops;
	ctxt->opaque = vcpu;
	for (i = 0; i < 16; i++)
		ctxt->regs[i] = vcpu->regs[i];
	ctxt->rip = kvm_rip(vcpu);
	ctxt->rflags = kvm_x86_ops.get_rflags(vcpu);
	ctxt->cpl = kvm_x86_ops.get_cpl(vcpu);
	for (i = 0; i < X86EMUL_NR_SEGS; i++) {
		kvm_x86_ops.get_segment(vcpu, &s, i);
		ctxt->seg[i].base = s.base;
		ctxt->seg[i].limit = s.limit;
		ctxt->seg[i].type = s.type;
		ctxt->seg[i].present = s.present;
		ctxt->seg[i].db = s.db;
		if (i == X86EMUL_SEG_CS && (vcpu->efer & EFER_LMA) && s.l)
			ctxt->mode = X86EMUL_MODE_PROT64;
		else if (i == X86EMUL_SEG_CS)
			ctxt->mode = s.db ? X86EMUL_MODE_PROT32 :
					    X86EMUL_MODE_PROT16;
	}
	if (!(cr0 & X86_CR0_PE))
		ctxt->mode = X86EMUL_MODE_REAL;
	else if (ctxt->rflags & X86_EFLAGS_VM)
		ctxt->mode = X86EMUL_MODE_VM86;
}

/*
 * Emulate the instruction at RIP, which touched MMIO at @gpa (or is being
 * retried with the data of an MMIO read).  Returns 1 to re-enter the
 * guest, 0 to exit to userspace.
 */
int kvm_emulate_mmio(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = &vcpu->mmio.ctxt;
	int r;

	vcpu->mmio.write_pending = false;
	kvm_init_emulate_ctxt(vcpu, ctxt);
	r = x86_emulate_insn(ctxt);
	return kvm_emulate_mmio_finish(vcpu, r);
}

/* Commit (or report) the outcome @r of emulating the instruction at RIP. */
static int kvm_emulate_mmio_finish(struct kvm_vcpu *vcpu, int r)
{
	struct x86_emulate_ctxt *ctxt = &vcpu->mmio.ctxt;
	struct kvm_run *run = vcpu->run;
	int i;

	switch (r) {
	case X86EMUL_CONTINUE:
		for (i = 0; i < 16; i++)
			vcpu->regs[i] = ctxt->regs[i];
		vcpu->regs[VCPU_REGS_RIP] = ctxt->rip;
		kvm_x86_ops.set_rflags(vcpu, ctxt->rflags);
		vcpu->mmio.nr_reads = 0;
		if (!vcpu->mmio.write_pending)
			return 1;
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = vcpu->mmio.write_gpa;
		run->mmio.len = vcpu->mmio.write_len;
		run->mmio.is_write = 1;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		memcpy(run->mmio.data, vcpu->mmio.write_data,
		       vcpu->mmio.write_len);
		vcpu->mmio.write_pending = false;
		return 0;
	case X86EMUL_IO_NEEDED:
		vcpu->mmio.rip = kvm_rip(vcpu);
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = vcpu->mmio.read_gpa;
		run->mmio.len = vcpu->mmio.read_len;
		run->mmio.is_write = 0;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		vcpu->mmio.read_pending = true;
		return 0;
	case X86EMUL_PROPAGATE_FAULT:
		vcpu->mmio.nr_reads = 0;
		if (ctxt->exception.vector == PF_VECTOR)
			kvm_queue_pf(vcpu, ctxt->exception.address,
				     ctxt->exception.error_code);
		else if (ctxt->exception.vector != 0xff)
			kvm_x86_ops.queue_exception(vcpu,
				ctxt->exception.vector,
				ctxt->exception.error_code_valid,
				ctxt->exception.error_code);
		return 1;
	case X86EMUL_CMPXCHG_FAILED:
		/*
		 * A locked write kept losing to other vCPUs: nothing was
		 * done; the guest executes the instruction again.
		 */
		vcpu->mmio.nr_reads = 0;
		return 1;
	default: {
		u64 bytes[2] = { 0, 0 };

		vcpu->mmio.nr_reads = 0;
		memcpy(bytes, ctxt->insn, min_t(int, ctxt->insn_len, 15));
		return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
			"instruction cannot be emulated (MMIO, control register "
			"or INVLPG)", bytes[0], bytes[1]);
	}
	}
}

/*
 * Iterations of a REP MOVS/STOS that kvm_emulate_pt_write() does in one
 * exit, at most (the guest's interrupts wait that long; upstream's
 * emulator goes back to the guest every 1024 too).
 */
#define KVM_PT_WRITE_REP_BATCH	1024

/*
 * A write to a guest page table the shadow MMU protects: emulate it (the
 * write reaches the shadow through kvm_write_guest).  -EAGAIN when the
 * emulator cannot do the instruction: the caller unprotects the page and
 * lets the guest run it natively.
 *
 * A REP MOVS/STOS over the table at @gfn goes on here, iteration after
 * iteration, while the guest's next write there would fault again
 * (kvm_mmu_write_traps).  A memset of a table stops being emulated once
 * write flooding has unshadowed the page; but Linux clearing its live
 * early top-level table would otherwise take an exit per entry: its root
 * is shadowed again at each entry.
 */
int kvm_emulate_pt_write(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	struct x86_emulate_ctxt *ctxt = &vcpu->mmio.ctxt;
	unsigned long rip = kvm_rip(vcpu);
	int r, n;

	for (n = 0;; n++) {
		vcpu->mmio.nr_reads = 0;
		vcpu->mmio.write_pending = false;
		kvm_init_emulate_ctxt(vcpu, ctxt);
		r = x86_emulate_insn(ctxt);
		if (r == X86EMUL_UNHANDLEABLE || r == X86EMUL_IO_NEEDED ||
		    vcpu->mmio.write_pending) {
			/* Nothing committed (an MMIO write would be: refuse). */
			vcpu->mmio.write_pending = false;
			/* Later iterations: the guest does the rest itself. */
			if (n)
				return 1;
			if (r == X86EMUL_CONTINUE)
				return kvm_exit_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION,
					"instruction writes a page table and MMIO",
					kvm_rip(vcpu), 0);
			return -EAGAIN;
		}
		if (r != X86EMUL_CONTINUE)	/* a fault for the guest */
			return kvm_emulate_mmio_finish(vcpu, r);
		r = kvm_emulate_mmio_finish(vcpu, r);
		/* Only a REP iteration with more to do leaves RIP there. */
		if (r != 1 || kvm_rip(vcpu) != rip ||
		    n + 1 >= KVM_PT_WRITE_REP_BATCH ||
		    !kvm_mmu_write_traps(vcpu, gfn))
			return r;
	}
}

int kvm_emulate_instruction(struct kvm_vcpu *vcpu)
{
	vcpu->mmio.nr_reads = 0;
	return kvm_emulate_mmio(vcpu);
}

/* KVM_RUN after an MMIO read exit: the data is in kvm_run.mmio. */
int kvm_complete_mmio_read(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int n = vcpu->mmio.nr_reads;

	vcpu->mmio.read_pending = false;
	/* Userspace set new registers meanwhile: forget the instruction. */
	if (kvm_rip(vcpu) != vcpu->mmio.rip) {
		vcpu->mmio.nr_reads = 0;
		return 1;
	}
	vcpu->mmio.reads[n].gpa = vcpu->mmio.read_gpa;
	vcpu->mmio.reads[n].len = vcpu->mmio.read_len;
	memcpy(vcpu->mmio.reads[n].data, run->mmio.data, vcpu->mmio.read_len);
	vcpu->mmio.nr_reads = n + 1;
	return kvm_emulate_mmio(vcpu);
}
