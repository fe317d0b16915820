// SPDX-License-Identifier: GPL-2.0-only
/*
 * Common x86 vCPU code: backend selection, the run loop, register state
 * ioctls, exit helpers shared by the backends, guest FPU and debug
 * register switching.
 */
#include <linux/module.h>
#include <linux/cpuhotplug.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "x86.h"
#include "guest_mem.h"
#include "cpuid.h"
#include "irq.h"

struct kvm_x86_ops kvm_x86_ops __read_mostly;
static const struct kvm_x86_backend *kvm_backend;
static enum cpuhp_state kvm_cpuhp_state;

u64 kvm_host_xcr0 __read_mostly;
static unsigned int kvm_fpu_size __read_mostly;
/* MXCSR bits this CPU accepts (FXSAVE's MXCSR_MASK, 0xffbf if zero). */
static u32 kvm_mxcsr_mask __read_mostly;

/* ---- Backend selection ---------------------------------------------- */

static int kvm_check_ops(const struct kvm_x86_ops *ops)
{
	const char *backend = ops->name;

#define KVM_X86_OP(op)							\
	if (!ops->op) {							\
		pr_err("kvm: backend %s lacks required op " #op "\n",	\
		       backend);					\
		return -EINVAL;						\
	}
#define KVM_X86_OP_OPTIONAL(name)
#include "kvm_x86_ops.h"
	return 0;
}

/*
 * Preempt notifiers: only for a backend with vcpu_put.  The static key
 * behind them is taken for as long as the module is loaded.
 */
static void kvm_sched_in(struct preempt_notifier *pn, int cpu)
{
	/* The backend loads its per-CPU state lazily, in vcpu_run. */
}

static void kvm_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
	kvm_x86_ops.vcpu_put(container_of(pn, struct kvm_vcpu,
					  preempt_notifier));
}

static struct preempt_ops kvm_preempt_ops = {
	.sched_in = kvm_sched_in,
	.sched_out = kvm_sched_out,
};

static int kvm_cpu_online(unsigned int cpu)
{
	return kvm_x86_ops.hardware_enable();
}

static int kvm_cpu_offline(unsigned int cpu)
{
	kvm_x86_ops.hardware_disable();
	return 0;
}

int kvm_x86_init(void)
{
	const struct kvm_x86_backend *b;
	int r;

	switch (boot_cpu_data.x86_vendor) {
	case X86_VENDOR_AMD:
	case X86_VENDOR_HYGON:
		b = &svm_backend;
		break;
	case X86_VENDOR_INTEL:
		b = &vmx_backend;
		break;
	default:
		pr_err("kvm: no usable virtualization backend for this CPU vendor "
		       "(AMD SVM and Intel VMX are supported)\n");
		return -ENODEV;
	}

	r = b->probe();
	if (r)
		return r;
	r = kvm_check_ops(b->ops);
	if (r)
		return r;

	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		unsigned int eax, ebx, ecx, edx;

		kvm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx);
		kvm_fpu_size = ebx;	/* for the XCR0 now enabled */
	} else {
		kvm_fpu_size = 512;
	}

	{
		struct fxregs_state *fx = kzalloc(sizeof(*fx), GFP_KERNEL);

		if (!fx)
			return -ENOMEM;
		kernel_fpu_begin();
		asm volatile("fxsave64 %0" : "=m"(*fx));
		kernel_fpu_end();
		kvm_mxcsr_mask = fx->mxcsr_mask ?: 0xffbf;
		kfree(fx);
	}

	r = b->setup();
	if (r)
		return r;
	kvm_x86_ops = *b->ops;
	kvm_backend = b;

	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvm:online",
			      kvm_cpu_online, kvm_cpu_offline);
	if (r < 0) {
		pr_err("kvm: enabling %s on the CPUs failed: %d\n", b->name, r);
		goto out_unsetup;
	}
	kvm_cpuhp_state = r;
	if (kvm_x86_ops.vcpu_put)
		preempt_notifier_inc();
	pr_info("kvm: %s backend enabled on %u CPUs\n", b->name,
		num_online_cpus());
	return 0;

out_unsetup:
	b->unsetup();
	return r;
}

void kvm_x86_exit(void)
{
	if (kvm_x86_ops.vcpu_put)
		preempt_notifier_dec();
	cpuhp_remove_state(kvm_cpuhp_state);
	kvm_backend->unsetup();
}

/* ---- vCPU lifetime -------------------------------------------------- */

static void kvm_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct fxregs_state *fx = vcpu->guest_fpu;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	/* RDX holds the CPU signature at reset; 0x600 without a CPUID table. */
	vcpu->regs[VCPU_REGS_RDX] = 0x600;
	vcpu->regs[VCPU_REGS_RIP] = 0xfff0;
	vcpu->efer = 0;
	vcpu->xcr0 = 1;	/* x87 only */
	vcpu->apic_base = 0xfee00000ULL | (1ULL << 11) |
			  (vcpu->vcpu_id == 0 ? (1ULL << 8) : 0);
	memset(vcpu->db, 0, sizeof(vcpu->db));
	memset(&vcpu->pio, 0, sizeof(vcpu->pio));
	vcpu->mmio.read_pending = false;
	vcpu->mmio.nr_reads = 0;
	vcpu->irq.pending = false;
	memset(&vcpu->nmi, 0, sizeof(vcpu->nmi));
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	kvm_msr_reset(vcpu);
	set_bit(KVM_REQ_MMU_RELOAD, &vcpu->requests);
	memset(vcpu->guest_fpu, 0, kvm_fpu_size);
	fx->cwd = 0x37f;
	fx->mxcsr = 0x1f80;
	kvm_x86_ops.vcpu_reset(vcpu);
}

int kvm_arch_vcpu_init(struct kvm_vcpu *vcpu)
{
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->mmio_ring = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	/* XSAVE needs 64-byte alignment, which kmalloc of >= 64 gives. */
	vcpu->guest_fpu = kzalloc(max(kvm_fpu_size, 576u), GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data || !vcpu->mmio_ring || !vcpu->guest_fpu)
		goto fail;
	if (kvm_lapic_create(vcpu))
		goto fail;
	kvm_vcpu_reset(vcpu);
	if (vcpu->apic)
		vcpu->apic_base = vcpu->apic->apic_base;
	return 0;
fail:
	kfree(vcpu->guest_fpu);
	free_page((unsigned long)vcpu->mmio_ring);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	return -ENOMEM;
}

void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_lapic_destroy(vcpu);
	kvm_cpuid_free(vcpu);
	kvm_shadow_vcpu_destroy(vcpu);
	kfree(vcpu->guest_fpu);
	/* The pages may still be mapped by userspace; they hold a ref. */
	free_page((unsigned long)vcpu->mmio_ring);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kvm_x86_ops.vcpu_free(vcpu);
}

/* ---- Exit helpers ------------------------------------------------------- */

int kvm_exit_internal_error(struct kvm_vcpu *vcpu, u32 suberror,
			    const char *why, u64 d0, u64 d1)
{
	struct kvm_run *run = vcpu->run;

	kvm_pr_guest("vcpu %u: internal error at rip 0x%lx: %s (0x%llx 0x%llx)\n",
		     vcpu->vcpu_id, kvm_rip(vcpu), why, d0, d1);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 3;
	run->internal.data[0] = d0;
	run->internal.data[1] = d1;
	run->internal.data[2] = kvm_rip(vcpu);
	return 0;
}

int kvm_exit_fail_entry(struct kvm_vcpu *vcpu, u64 reason)
{
	vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	vcpu->run->fail_entry.hardware_entry_failure_reason = reason;
	vcpu->run->fail_entry.cpu = vcpu->cpu;
	return 0;
}

int kvm_exit_shutdown(struct kvm_vcpu *vcpu)
{
	/* A guest that triple faults in a loop gets one walk dump a minute. */
	static DEFINE_RATELIMIT_STATE(walk_rs, 60 * HZ, 1);
	struct kvm_segment cs;
	struct kvm_dtable idt;

	kvm_pr_guest("vcpu %u: triple fault (shutdown) at rip 0x%lx\n",
		     vcpu->vcpu_id, kvm_rip(vcpu));
	if (__ratelimit(&walk_rs)) {
		kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
		kvm_x86_ops.get_dtable(vcpu, &idt, VCPU_DTABLE_IDT);
		kvm_dump_guest_walk(vcpu, cs.base + kvm_rip(vcpu), "rip");
		kvm_dump_guest_walk(vcpu, idt.base, "idt");
	}
	/*
	 * The guest state is undefined after a shutdown (APM 15.11); like
	 * upstream, leave the vCPU in its INIT state for userspace.
	 */
	kvm_vcpu_reset(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

void kvm_queue_ud(struct kvm_vcpu *vcpu)
{
	kvm_x86_ops.queue_exception(vcpu, UD_VECTOR, false, 0);
}

void kvm_queue_gp(struct kvm_vcpu *vcpu, u32 error_code)
{
	kvm_x86_ops.queue_exception(vcpu, GP_VECTOR, true, error_code);
}

void kvm_queue_pf(struct kvm_vcpu *vcpu, u64 address, u32 error_code)
{
	kvm_x86_ops.set_cr(vcpu, 2, address);
	kvm_x86_ops.queue_exception(vcpu, PF_VECTOR, true, error_code);
}

int kvm_emulate_halt(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	/* With an in-kernel LAPIC the vCPU sleeps here until woken. */
	if (vcpu->apic) {
		if (!kvm_lapic_vcpu_has_events(vcpu))
			vcpu->mp_state = KVM_MP_STATE_HALTED;
		return 1;
	}
	/* Otherwise userspace waits for the interrupt. */
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/*
 * An INIT signal: the architectural INIT state, except what INIT leaves
 * alone (SDM vol. 3A 9.1.1): MSRs (APIC_BASE, MTRRs...), x87/SSE state,
 * the CPUID table.
 */
void kvm_vcpu_init_event(struct kvm_vcpu *vcpu)
{
	u64 apic_base = vcpu->apic_base;
	typeof(vcpu->msr) msr = vcpu->msr;
	void *fpu = kmemdup(vcpu->guest_fpu, kvm_fpu_size, GFP_KERNEL);

	kvm_vcpu_reset(vcpu);
	vcpu->apic_base = apic_base;
	vcpu->msr = msr;
	if (fpu) {
		memcpy(vcpu->guest_fpu, fpu, kvm_fpu_size);
		kfree(fpu);
	}
}

/*
 * SDM vol. 1 13.3: only XCR0 (index 0) exists, x87 must stay set, AVX
 * needs SSE, and only features we support may be enabled.
 */
static int kvm_set_xcr(struct kvm_vcpu *vcpu, u32 index, u64 xcr0)
{
	u64 allowed = kvm_host_xcr0 & kvm_supported_xcr0();

	if (index != 0 || !(xcr0 & 1) || (xcr0 & ~allowed) ||
	    ((xcr0 & 4) && !(xcr0 & 2)))
		return 1;
	vcpu->xcr0 = xcr0;
	return 0;
}

int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u64 xcr0 = (u32)vcpu->regs[VCPU_REGS_RAX] |
		   ((u64)(u32)vcpu->regs[VCPU_REGS_RDX] << 32);

	if (kvm_x86_ops.get_cpl(vcpu) ||
	    kvm_set_xcr(vcpu, vcpu->regs[VCPU_REGS_RCX], xcr0)) {
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	vcpu->regs[VCPU_REGS_RIP] = next_rip;
	return 1;
}

/* ---- Guest FPU and debug registers ------------------------------------ */

void kvm_load_guest_fpu(struct kvm_vcpu *vcpu)
{
	if (kvm_host_xcr0) {
		u32 lo = kvm_host_xcr0, hi = kvm_host_xcr0 >> 32;

		asm volatile("xrstor64 %0" : : "m"(*(u8 *)vcpu->guest_fpu),
			     "a"(lo), "d"(hi) : "memory");
		if (vcpu->xcr0 != kvm_host_xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	} else {
		asm volatile("fxrstor64 %0" : : "m"(*(u8 *)vcpu->guest_fpu));
	}
	set_debugreg(vcpu->db[0], 0);
	set_debugreg(vcpu->db[1], 1);
	set_debugreg(vcpu->db[2], 2);
	set_debugreg(vcpu->db[3], 3);
}

void kvm_put_guest_fpu(struct kvm_vcpu *vcpu)
{
	get_debugreg(vcpu->db[0], 0);
	get_debugreg(vcpu->db[1], 1);
	get_debugreg(vcpu->db[2], 2);
	get_debugreg(vcpu->db[3], 3);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	if (kvm_host_xcr0) {
		u32 lo = kvm_host_xcr0, hi = kvm_host_xcr0 >> 32;

		if (vcpu->xcr0 != kvm_host_xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, kvm_host_xcr0);
		asm volatile("xsave64 %0" : "+m"(*(u8 *)vcpu->guest_fpu)
			     : "a"(lo), "d"(hi) : "memory");
	} else {
		asm volatile("fxsave64 %0" : "=m"(*(u8 *)vcpu->guest_fpu));
	}
}

static void kvm_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *f)
{
	struct fxregs_state *fx = vcpu->guest_fpu;

	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, fx->st_space, sizeof(f->fpr));
	f->fcw = fx->cwd;
	f->fsw = fx->swd;
	f->ftwx = fx->twd;
	f->last_opcode = fx->fop;
	f->last_ip = fx->rip;
	f->last_dp = fx->rdp;
	memcpy(f->xmm, fx->xmm_space, sizeof(f->xmm));
	f->mxcsr = fx->mxcsr;
}

static int kvm_set_fpu(struct kvm_vcpu *vcpu, const struct kvm_fpu *f)
{
	struct fxregs_state *fx = vcpu->guest_fpu;

	/* A reserved MXCSR bit would make the restore fault: refuse it. */
	if (f->mxcsr & ~kvm_mxcsr_mask)
		return -EINVAL;
	memcpy(fx->st_space, f->fpr, sizeof(f->fpr));
	fx->cwd = f->fcw;
	fx->swd = f->fsw;
	fx->twd = f->ftwx;
	fx->fop = f->last_opcode;
	fx->rip = f->last_ip;
	fx->rdp = f->last_dp;
	memcpy(fx->xmm_space, f->xmm, sizeof(f->xmm));
	fx->mxcsr = f->mxcsr;
	/* XSAVE format: mark x87 and SSE state as present (XSTATE_BV). */
	if (kvm_host_xcr0)
		*(u64 *)(vcpu->guest_fpu + 512) |= 3;
	return 0;
}

#define XSAVE_HDR_OFFSET	512
#define XSAVE_HDR_SIZE		64

/* KVM_GET_XSAVE: the guest's state in standard XSAVE format. */
static void kvm_get_xsave(struct kvm_vcpu *vcpu, struct kvm_xsave *x)
{
	u8 *buf = (u8 *)x->region;
	u64 *xstate_bv = (u64 *)(buf + XSAVE_HDR_OFFSET);

	memset(x, 0, sizeof(*x));
	if (!kvm_host_xcr0) {
		memcpy(buf, vcpu->guest_fpu, 512);
		*xstate_bv = 3;	/* x87 and SSE */
		return;
	}
	memcpy(buf, vcpu->guest_fpu, min_t(unsigned int, kvm_fpu_size,
					   sizeof(*x)));
	/* Only what the guest may use; the rest stays private. */
	*xstate_bv &= kvm_supported_xcr0();
	memset(buf + XSAVE_HDR_OFFSET + 8, 0, XSAVE_HDR_SIZE - 8);
}

/*
 * KVM_SET_XSAVE.  XRSTOR faults on a malformed header or MXCSR, so those
 * are refused here rather than met at the next entry.
 */
static int kvm_set_xsave(struct kvm_vcpu *vcpu, const struct kvm_xsave *x)
{
	const u8 *buf = (const u8 *)x->region;
	const struct fxregs_state *fx = (const void *)buf;
	u64 xstate_bv = *(const u64 *)(buf + XSAVE_HDR_OFFSET);
	unsigned int i;

	if (fx->mxcsr & ~kvm_mxcsr_mask)
		return -EINVAL;
	if (!kvm_host_xcr0) {
		memcpy(vcpu->guest_fpu, buf, 512);
		return 0;
	}
	if (xstate_bv & ~kvm_supported_xcr0())
		return -EINVAL;
	for (i = 8; i < XSAVE_HDR_SIZE; i++)	/* XCOMP_BV, reserved */
		if (buf[XSAVE_HDR_OFFSET + i])
			return -EINVAL;
	memcpy(vcpu->guest_fpu, buf, min_t(unsigned int, kvm_fpu_size,
					   sizeof(*x)));
	return 0;
}

static void kvm_get_xcrs(struct kvm_vcpu *vcpu, struct kvm_xcrs *x)
{
	memset(x, 0, sizeof(*x));
	if (!kvm_host_xcr0)
		return;
	x->nr_xcrs = 1;
	x->xcrs[0].xcr = 0;
	x->xcrs[0].value = vcpu->xcr0;
}

static int kvm_set_xcrs(struct kvm_vcpu *vcpu, const struct kvm_xcrs *x)
{
	u32 i;

	if (!kvm_host_xcr0 || x->nr_xcrs > KVM_MAX_XCRS || x->flags)
		return -EINVAL;
	for (i = 0; i < x->nr_xcrs; i++)
		if (x->xcrs[i].xcr == 0 &&
		    kvm_set_xcr(vcpu, 0, x->xcrs[i].value))
			return -EINVAL;
	return 0;
}

static void kvm_get_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->db, sizeof(d->db));
	d->dr6 = kvm_x86_ops.get_dr(vcpu, 6);
	d->dr7 = kvm_x86_ops.get_dr(vcpu, 7);
}

static int kvm_set_debugregs(struct kvm_vcpu *vcpu,
			     const struct kvm_debugregs *d)
{
	if (d->flags || d->dr6 >> 32 || d->dr7 >> 32)
		return -EINVAL;
	memcpy(vcpu->db, d->db, sizeof(vcpu->db));
	kvm_x86_ops.set_dr(vcpu, 6, d->dr6);
	kvm_x86_ops.set_dr(vcpu, 7, d->dr7);
	return 0;
}

/* ---- The run loop ------------------------------------------------------ */

static int kvm_process_requests(struct kvm_vcpu *vcpu)
{
	/* Injection is re-evaluated on every entry anyway. */
	clear_bit(KVM_REQ_EVENT, &vcpu->requests);
	if (test_and_clear_bit(KVM_REQ_MMU_RELOAD, &vcpu->requests) &&
	    kvm_shadow_paging) {
		int r = kvm_mmu_reload(vcpu);

		if (r) {
			set_bit(KVM_REQ_MMU_RELOAD, &vcpu->requests);
			return r;
		}
	}
	if (test_and_clear_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests) &&
	    kvm_x86_ops.flush_guest_tlb)
		kvm_x86_ops.flush_guest_tlb(vcpu);
	return 0;
}

/*
 * The instruction at @rip, where the guest exited, has been emulated or
 * skipped when RIP moved on: an interrupt shadow (STI, MOV SS) it sat in
 * is over, as upstream clears it on every skip.  Left set, it would hold
 * off the next interrupt for one more instruction: after "STI; HLT" the
 * interrupt that ends the HLT went through an interrupt window instead
 * of being injected at once.
 */
static void kvm_end_shadow_if_moved(struct kvm_vcpu *vcpu, unsigned long rip)
{
	if (kvm_rip(vcpu) != rip && kvm_x86_ops.get_interrupt_shadow(vcpu))
		kvm_x86_ops.set_interrupt_shadow(vcpu, false);
}

/* Enter the guest once; returns handle_exit's verdict. */
static int kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	unsigned long exit_rip;
	bool exit_shadow;
	int r = kvm_process_requests(vcpu);

	if (r)
		return r;
	kvm_lapic_vapic_sync(vcpu, true);
	kvm_inject_pending_events(vcpu);
	if (vcpu->apic)
		kvm_lapic_inject(vcpu);
	if (vcpu->run->request_interrupt_window &&
	    !kvm_ready_for_interrupt_injection(vcpu))
		kvm_x86_ops.enable_irq_window(vcpu);
	if (kvm_x86_ops.prepare_guest_entry) {
		r = kvm_x86_ops.prepare_guest_entry(vcpu);
		if (r <= 0)
			return r;
	}

	preempt_disable();
	kernel_fpu_begin();
	local_irq_disable();

	/* cpu before mode: a kicker that sees the mode IPIs this CPU. */
	vcpu->cpu = smp_processor_id();
	smp_wmb();
	vcpu->mode = IN_GUEST_MODE;
	/* Pairs with the barrier after setting a request bit. */
	smp_mb();
	if (READ_ONCE(vcpu->requests) || need_resched() ||
	    signal_pending(current)) {
		vcpu->mode = OUTSIDE_GUEST_MODE;
		local_irq_enable();
		kernel_fpu_end();
		preempt_enable();
		return 1;
	}

	/*
	 * An exit right after the injected event's delivery: a reschedule
	 * IPI to this CPU stays pending until the guest runs (host IF=0, then
	 * GIF=0 up to VMRUN), and the INTR intercept turns it into an exit;
	 * the host takes it once interrupts are on again.
	 */
	if (vcpu->immediate_exit)
		smp_send_reschedule(vcpu->cpu);

	kvm_load_guest_fpu(vcpu);
	kvm_x86_ops.vcpu_run(vcpu);
	kvm_put_guest_fpu(vcpu);
	kvm_nmi_after_exit(vcpu);
	kvm_lapic_sync_from_guest(vcpu);
	vcpu->mode = OUTSIDE_GUEST_MODE;
	vcpu->stat.exits++;

	local_irq_enable();
	kernel_fpu_end();
	preempt_enable();

	kvm_lapic_vapic_sync(vcpu, false);
	exit_rip = kvm_rip(vcpu);
	exit_shadow = kvm_x86_ops.get_interrupt_shadow(vcpu);
	r = kvm_x86_ops.handle_exit(vcpu);
	/*
	 * Only a shadow the guest exited in ends here: one the handler set
	 * (VMX's real-mode STI done for a vm86 guest) covers the next
	 * instruction.
	 */
	if (exit_shadow)
		kvm_end_shadow_if_moved(vcpu, exit_rip);
	return r;
}

int kvm_arch_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	/* Upstream sizes its MMU from the slots: nothing runs before one. */
	if (!READ_ONCE(vcpu->kvm->had_memslot))
		return -ENOSPC;

	/* KVM_CAP_SYNC_REGS is not offered: no register set may be named. */
	if (run->kvm_valid_regs || run->kvm_dirty_regs)
		return -EINVAL;

	/* Without an in-kernel APIC userspace owns CR8 through kvm_run. */
	if (!vcpu->apic) {
		if (run->cr8 > 15)
			return -EINVAL;
		kvm_x86_ops.set_cr(vcpu, 8, run->cr8);
	}

	/* Finish the exit userspace just handled before anything else. */
	if (vcpu->pio.pending) {
		unsigned long rip = kvm_rip(vcpu);

		r = kvm_complete_pio(vcpu);
		kvm_end_shadow_if_moved(vcpu, rip);
		if (r <= 0)
			goto out;
	}
	if (vcpu->mmio.read_pending) {
		unsigned long rip = kvm_rip(vcpu);

		r = kvm_complete_mmio_read(vcpu);
		kvm_end_shadow_if_moved(vcpu, rip);
		if (r <= 0)
			goto out;
	}

	/* Like upstream, this leaves exit_reason as it was. */
	if (run->immediate_exit) {
		r = -EINTR;
		goto out;
	}

	WRITE_ONCE(vcpu->task, current);
	if (kvm_x86_ops.vcpu_put) {
		preempt_notifier_init(&vcpu->preempt_notifier, &kvm_preempt_ops);
		preempt_disable();
		preempt_notifier_register(&vcpu->preempt_notifier);
		preempt_enable();
	}
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();
		/* In-kernel LAPIC: INIT/SIPI/NMI, and sleeping while halted. */
		if (vcpu->apic && !kvm_lapic_accept_events(vcpu)) {
			r = kvm_lapic_block(vcpu);
			if (r < 0) {
				run->exit_reason = KVM_EXIT_INTR;
				break;
			}
			continue;
		}
		r = kvm_vcpu_enter_guest(vcpu);
		if (r <= 0)
			break;
		if (run->request_interrupt_window &&
		    kvm_ready_for_interrupt_injection(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
	}
	if (kvm_x86_ops.vcpu_put) {
		preempt_disable();
		preempt_notifier_unregister(&vcpu->preempt_notifier);
		kvm_x86_ops.vcpu_put(vcpu);
		preempt_enable();
	}
	WRITE_ONCE(vcpu->task, NULL);
out:
	run->if_flag = !!(kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_IF);
	run->cr8 = kvm_x86_ops.get_cr(vcpu, 8);
	run->apic_base = vcpu->apic_base;
	run->ready_for_interrupt_injection =
		kvm_ready_for_interrupt_injection(vcpu);
	return r;
}

/* ---- Register state ioctls -------------------------------------------- */

static void kvm_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *r)
{
	unsigned long *g = vcpu->regs;

	r->rax = g[VCPU_REGS_RAX]; r->rbx = g[VCPU_REGS_RBX];
	r->rcx = g[VCPU_REGS_RCX]; r->rdx = g[VCPU_REGS_RDX];
	r->rsi = g[VCPU_REGS_RSI]; r->rdi = g[VCPU_REGS_RDI];
	r->rsp = g[VCPU_REGS_RSP]; r->rbp = g[VCPU_REGS_RBP];
	r->r8 = g[VCPU_REGS_R8];   r->r9 = g[VCPU_REGS_R9];
	r->r10 = g[VCPU_REGS_R10]; r->r11 = g[VCPU_REGS_R11];
	r->r12 = g[VCPU_REGS_R12]; r->r13 = g[VCPU_REGS_R13];
	r->r14 = g[VCPU_REGS_R14]; r->r15 = g[VCPU_REGS_R15];
	r->rip = g[VCPU_REGS_RIP];
	r->rflags = kvm_x86_ops.get_rflags(vcpu);
}

static void kvm_set_regs(struct kvm_vcpu *vcpu, const struct kvm_regs *r)
{
	unsigned long *g = vcpu->regs;

	g[VCPU_REGS_RAX] = r->rax; g[VCPU_REGS_RBX] = r->rbx;
	g[VCPU_REGS_RCX] = r->rcx; g[VCPU_REGS_RDX] = r->rdx;
	g[VCPU_REGS_RSI] = r->rsi; g[VCPU_REGS_RDI] = r->rdi;
	g[VCPU_REGS_RSP] = r->rsp; g[VCPU_REGS_RBP] = r->rbp;
	g[VCPU_REGS_R8] = r->r8;   g[VCPU_REGS_R9] = r->r9;
	g[VCPU_REGS_R10] = r->r10; g[VCPU_REGS_R11] = r->r11;
	g[VCPU_REGS_R12] = r->r12; g[VCPU_REGS_R13] = r->r13;
	g[VCPU_REGS_R14] = r->r14; g[VCPU_REGS_R15] = r->r15;
	g[VCPU_REGS_RIP] = r->rip;
	kvm_x86_ops.set_rflags(vcpu, r->rflags | X86_EFLAGS_FIXED_BIT_VALUE);
}

static void kvm_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	kvm_x86_ops.get_segment(vcpu, &s->cs, VCPU_SREG_CS);
	kvm_x86_ops.get_segment(vcpu, &s->ds, VCPU_SREG_DS);
	kvm_x86_ops.get_segment(vcpu, &s->es, VCPU_SREG_ES);
	kvm_x86_ops.get_segment(vcpu, &s->fs, VCPU_SREG_FS);
	kvm_x86_ops.get_segment(vcpu, &s->gs, VCPU_SREG_GS);
	kvm_x86_ops.get_segment(vcpu, &s->ss, VCPU_SREG_SS);
	kvm_x86_ops.get_segment(vcpu, &s->tr, VCPU_SREG_TR);
	kvm_x86_ops.get_segment(vcpu, &s->ldt, VCPU_SREG_LDTR);
	kvm_x86_ops.get_dtable(vcpu, &s->gdt, VCPU_DTABLE_GDT);
	kvm_x86_ops.get_dtable(vcpu, &s->idt, VCPU_DTABLE_IDT);
	s->cr0 = kvm_x86_ops.get_cr(vcpu, 0);
	s->cr2 = kvm_x86_ops.get_cr(vcpu, 2);
	s->cr3 = kvm_x86_ops.get_cr(vcpu, 3);
	s->cr4 = kvm_x86_ops.get_cr(vcpu, 4);
	s->cr8 = kvm_x86_ops.get_cr(vcpu, 8);
	s->efer = vcpu->efer;
	s->apic_base = vcpu->apic_base;
	/* An external interrupt queued but not yet delivered. */
	if (vcpu->irq.pending) {
		__set_bit(vcpu->irq.vector, (unsigned long *)s->interrupt_bitmap);
	} else {
		u32 err, info = kvm_x86_ops.get_injected_event(vcpu, &err);

		if ((info & KVM_EVENT_VALID) &&
		    (info & KVM_EVENT_TYPE_MASK) == KVM_EVENT_TYPE_INTR)
			__set_bit(info & KVM_EVENT_VECTOR_MASK,
				  (unsigned long *)s->interrupt_bitmap);
	}
}

/* The consistency rules upstream enforces before accepting new sregs. */
static bool kvm_valid_sregs(struct kvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if (s->cr0 >> 32 || s->cr4 & KVM_CR4_RESERVED_BITS || s->cr8 > 15)
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> boot_cpu_data.x86_phys_bits)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	return kvm_efer_is_valid(vcpu, s->efer);
}

static int kvm_set_sregs(struct kvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if (!kvm_valid_sregs(vcpu, s))
		return -EINVAL;
	if (s->apic_base & 0x2ffULL ||
	    s->apic_base >> boot_cpu_data.x86_phys_bits)
		return -EINVAL;
	/*
	 * With an in-kernel LAPIC the base goes to it, as a host write of
	 * IA32_APIC_BASE (upstream): QEMU's reset puts a fresh xAPIC base
	 * this way, which must take a LAPIC out of x2APIC mode.
	 */
	if (vcpu->apic &&
	    kvm_lapic_set_msr(vcpu, MSR_IA32_APICBASE, s->apic_base, true))
		return -EINVAL;

	vcpu->apic_base = s->apic_base;
	vcpu->efer = s->efer;
	kvm_x86_ops.set_efer(vcpu, s->efer);
	kvm_x86_ops.set_cr(vcpu, 0, s->cr0);
	kvm_x86_ops.set_cr(vcpu, 2, s->cr2);
	kvm_x86_ops.set_cr(vcpu, 3, s->cr3);
	kvm_x86_ops.set_cr(vcpu, 4, s->cr4);
	kvm_x86_ops.set_cr(vcpu, 8, s->cr8);
	kvm_x86_ops.set_segment(vcpu, &s->cs, VCPU_SREG_CS);
	kvm_x86_ops.set_segment(vcpu, &s->ds, VCPU_SREG_DS);
	kvm_x86_ops.set_segment(vcpu, &s->es, VCPU_SREG_ES);
	kvm_x86_ops.set_segment(vcpu, &s->fs, VCPU_SREG_FS);
	kvm_x86_ops.set_segment(vcpu, &s->gs, VCPU_SREG_GS);
	kvm_x86_ops.set_segment(vcpu, &s->ss, VCPU_SREG_SS);
	kvm_x86_ops.set_segment(vcpu, &s->tr, VCPU_SREG_TR);
	kvm_x86_ops.set_segment(vcpu, &s->ldt, VCPU_SREG_LDTR);
	kvm_x86_ops.set_dtable(vcpu, &s->gdt, VCPU_DTABLE_GDT);
	kvm_x86_ops.set_dtable(vcpu, &s->idt, VCPU_DTABLE_IDT);
	/* interrupt_bitmap names an interrupt to deliver (upstream: the first). */
	{
		unsigned long v = find_first_bit((unsigned long *)s->interrupt_bitmap,
						 KVM_NR_INTERRUPTS);
		u32 err, info = kvm_x86_ops.get_injected_event(vcpu, &err);

		if ((info & KVM_EVENT_VALID) &&
		    (info & KVM_EVENT_TYPE_MASK) == KVM_EVENT_TYPE_INTR)
			kvm_x86_ops.set_injected_event(vcpu, 0, 0);
		vcpu->irq.pending = v < KVM_NR_INTERRUPTS;
		vcpu->irq.vector = v < KVM_NR_INTERRUPTS ? v : 0;
	}
	/* Paging mode or CR3 may have changed under the guest's feet. */
	kvm_mmu_reset_context(vcpu);
	return 0;
}

long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	long r;

	switch (ioctl) {
	case KVM_RUN:
		if (argp)
			return -EINVAL;
		return kvm_arch_vcpu_run(vcpu);
	case KVM_GET_REGS: {
		struct kvm_regs regs;

		kvm_get_regs(vcpu, &regs);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	}
	case KVM_SET_REGS: {
		struct kvm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		kvm_set_regs(vcpu, &regs);
		return 0;
	}
	case KVM_GET_SREGS: {
		struct kvm_sregs *s = kmalloc(sizeof(*s), GFP_KERNEL);

		if (!s)
			return -ENOMEM;
		kvm_get_sregs(vcpu, s);
		r = copy_to_user(argp, s, sizeof(*s)) ? -EFAULT : 0;
		kfree(s);
		return r;
	}
	case KVM_SET_SREGS: {
		struct kvm_sregs *s = memdup_user(argp, sizeof(*s));

		if (IS_ERR(s))
			return PTR_ERR(s);
		r = kvm_set_sregs(vcpu, s);
		kfree(s);
		return r;
	}
	case KVM_GET_FPU: {
		struct kvm_fpu *f = kmalloc(sizeof(*f), GFP_KERNEL);

		if (!f)
			return -ENOMEM;
		kvm_get_fpu(vcpu, f);
		r = copy_to_user(argp, f, sizeof(*f)) ? -EFAULT : 0;
		kfree(f);
		return r;
	}
	case KVM_SET_FPU: {
		struct kvm_fpu *f = memdup_user(argp, sizeof(*f));

		if (IS_ERR(f))
			return PTR_ERR(f);
		r = kvm_set_fpu(vcpu, f);
		kfree(f);
		return r;
	}
	case KVM_NMI:
		return kvm_vcpu_ioctl_nmi(vcpu);
	case KVM_INTERRUPT: {
		struct kvm_interrupt irq;

		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		return kvm_vcpu_ioctl_interrupt(vcpu, &irq);
	}
	case KVM_GET_VCPU_EVENTS: {
		struct kvm_vcpu_events ev;

		kvm_get_vcpu_events(vcpu, &ev);
		return copy_to_user(argp, &ev, sizeof(ev)) ? -EFAULT : 0;
	}
	case KVM_SET_VCPU_EVENTS: {
		struct kvm_vcpu_events ev;

		if (copy_from_user(&ev, argp, sizeof(ev)))
			return -EFAULT;
		return kvm_set_vcpu_events(vcpu, &ev);
	}
	case KVM_GET_MP_STATE: {
		struct kvm_mp_state mp = { .mp_state = vcpu->mp_state };

		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	case KVM_SET_MP_STATE: {
		struct kvm_mp_state mp;

		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		/* Without an in-kernel APIC only RUNNABLE exists (upstream). */
		if (!vcpu->apic) {
			if (mp.mp_state != KVM_MP_STATE_RUNNABLE)
				return -EINVAL;
		} else if (mp.mp_state > KVM_MP_STATE_SIPI_RECEIVED) {
			return -EINVAL;
		}
		/* SIPI_RECEIVED is INIT_RECEIVED with the SIPI about to run. */
		if (mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
			mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
			vcpu->apic->sipi_pending = true;
		}
		vcpu->mp_state = mp.mp_state;
		if (vcpu->apic)
			kvm_vcpu_kick(vcpu);
		return 0;
	}
	case KVM_GET_XSAVE: {
		struct kvm_xsave *x = kmalloc(sizeof(*x), GFP_KERNEL);

		if (!x)
			return -ENOMEM;
		kvm_get_xsave(vcpu, x);
		r = copy_to_user(argp, x, sizeof(*x)) ? -EFAULT : 0;
		kfree(x);
		return r;
	}
	case KVM_SET_XSAVE: {
		struct kvm_xsave *x = memdup_user(argp, sizeof(*x));

		if (IS_ERR(x))
			return PTR_ERR(x);
		r = kvm_set_xsave(vcpu, x);
		kfree(x);
		return r;
	}
	case KVM_GET_XCRS: {
		struct kvm_xcrs x;

		kvm_get_xcrs(vcpu, &x);
		return copy_to_user(argp, &x, sizeof(x)) ? -EFAULT : 0;
	}
	case KVM_SET_XCRS: {
		struct kvm_xcrs x;

		if (copy_from_user(&x, argp, sizeof(x)))
			return -EFAULT;
		return kvm_set_xcrs(vcpu, &x);
	}
	case KVM_GET_DEBUGREGS: {
		struct kvm_debugregs d;

		kvm_get_debugregs(vcpu, &d);
		return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
	}
	case KVM_SET_DEBUGREGS: {
		struct kvm_debugregs d;

		if (copy_from_user(&d, argp, sizeof(d)))
			return -EFAULT;
		return kvm_set_debugregs(vcpu, &d);
	}
	case KVM_GET_TSC_KHZ:
		return tsc_khz;
	case KVM_SET_TSC_KHZ:
		/* No TSC scaling: only the host's own rate can be had. */
		return (unsigned long)argp == tsc_khz ? 0 : -EINVAL;
	case KVM_GET_MSRS:
		return kvm_vcpu_ioctl_msrs(vcpu, argp, false);
	case KVM_SET_MSRS:
		return kvm_vcpu_ioctl_msrs(vcpu, argp, true);
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
	case KVM_SET_VAPIC_ADDR:
		return kvm_lapic_vcpu_ioctl(vcpu, ioctl, argp);
	case KVM_SET_CPUID2:
		return kvm_vcpu_set_cpuid2(vcpu, argp);
	case KVM_GET_CPUID2:
		return kvm_vcpu_get_cpuid2(vcpu, argp);
	default:
		return -EINVAL;
	}
}
