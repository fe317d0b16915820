// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend: per-CPU enablement, the VMCB, guest entry, exit
 * decoding.  Guest memory is mapped by nested paging (NPT) when the CPU
 * has it, or by the shadow MMU (kernel/mmu/shadow.c) with npt=0 or
 * without NPT.  In shadow mode the CPU's CR0, CR3, CR4 and EFER are not
 * the guest's: CR3 is the shadow root, paging is always on (PAE at
 * least) with CR0.WP set, and EFER.NXE is always on; so reads and writes
 * of CR0/CR3/CR4, INVLPG and #PF are intercepted.
 *
 * References: AMD64 Architecture Programmer's Manual vol. 2, chapter 15
 * ("Secure Virtual Machine") and appendix B/C (VMCB layout, exit codes).
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ratelimit.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "../x86/x86.h"
#include "../x86/cpuid.h"
#include "vmcb.h"

/* VM_CR MSR (0xc0010114) bit 4: SVM disabled by firmware */
#define VM_CR_SVMDIS	(1ULL << 4)

#define SVM_IOPM_ORDER	2	/* 12 KiB used of 16 */
#define SVM_MSRPM_ORDER	1	/* 8 KiB */

/* Per-CPU SVM state.  Only touched on its own CPU. */
struct svm_cpu_data {
	struct page *hsave;	/* VM_HSAVE_PA: VMRUN's host state area */
	struct page *host_save;	/* VMSAVE/VMLOAD area for host state */
	u32 max_asid;
	u32 next_asid;
	u32 asid_generation;
};

static DEFINE_PER_CPU(struct svm_cpu_data, svm_cpu);

static bool npt = true;
module_param(npt, bool, 0444);
MODULE_PARM_DESC(npt, "Use nested paging (NPT) when the CPU has it; 0 selects shadow paging");

/*
 * QEMU's TCG SVM (our L0 in the rig; 7.2 and later) delivers an external
 * interrupt that VMRUN injects (EVENTINJ type 0) at once but leaves its
 * vector as a pending exception of the CPU loop.  The next time that loop
 * is left by a plain exit request (its round-robin time slice, an event
 * for another vCPU, I/O) rather than by an exception, interrupt or
 * #VMEXIT, the guest takes the vector a second time, wherever it is and
 * whatever its IF: a second timer interrupt inside the first handler's
 * locked section (a Linux guest deadlocks on the IRQ descriptor's lock), a
 * second int 08h inside a BIOS's non-reentrant mode switch.  A #VMEXIT
 * right after the delivery clears that state: such an entry is made with
 * a self-IPI pending (the INTR intercept then exits before the guest's
 * first instruction).  intr_exit: -1 (default) does so when the CPU says
 * it is QEMU's TCG (CPUID 0x40000000 "TCGTCGTCGTCG"), 1 always, 0 never.
 */
static int intr_exit = -1;
module_param(intr_exit, int, 0444);
MODULE_PARM_DESC(intr_exit, "Exit right after delivering an injected external interrupt (-1: under QEMU's TCG only, 0: never, 1: always)");
static bool svm_intr_exit;

static struct page *iopm_pages, *msrpm_pages;
static bool svm_has_nrips;

struct vcpu_svm {
	struct kvm_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;

	/* ASID in use: valid on asid_cpu while asid_generation matches. */
	u32 asid;
	u32 asid_generation;
	int asid_cpu;
	bool need_new_asid;
	/*
	 * The CPU takes a TPR-respecting virtual interrupt when V_INTR_PRIO
	 * >= V_TPR, not > (learnt from a VINTR exit; see
	 * svm_enable_tpr_window).  Only this vCPU's thread touches it.
	 */
	bool vintr_prio_ge;

	/*
	 * Shadow paging: the guest's view of CR0, CR3, CR4 (the VMCB holds
	 * the values the CPU runs with, see svm_shadow_sync_hw()).
	 */
	unsigned long guest_cr0, guest_cr3, guest_cr4;

	/*
	 * Nested paging: CR0.CD/NW the guest has set but the CPU runs
	 * without (caching stays on, as upstream KVM's CD/NW quirk does;
	 * firmware such as SeaBIOS never clears CD).  While nonzero, CR0
	 * reads and writes are intercepted so the guest sees its own value.
	 * Only this vCPU's thread touches it.
	 */
	unsigned long cr0_hidden;

	/*
	 * The last few guest entries and their exits, reported when the
	 * guest shuts down or VMRUN fails.  Only this vCPU's thread touches
	 * them.
	 */
	struct svm_exit_trace {
		u64 entry_rip, exit_rip, exit_code, info1, info2;
		u32 entry_inj, exit_int_info, int_ctl, cpu;
	} trace[16];
	unsigned int trace_next;
};

static inline struct vcpu_svm *to_svm(struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vcpu_svm, vcpu);
}

void svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa);
/* The host's RIP after VMRUN (in vmenter.S); never a guest RIP. */
extern const char svm_vmrun_resume[];

static inline void clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* ---- Enabling SVM ----------------------------------------------------- */

static int svm_probe(void)
{
	u64 vm_cr;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("kvm: this AMD CPU has no SVM (CPUID 0x80000001:ECX[2])\n");
		return -ENODEV;
	}
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & VM_CR_SVMDIS) {
		pr_err("kvm: SVM is disabled by the firmware (VM_CR.SVMDIS); "
		       "enable virtualization in the BIOS setup\n");
		return -EOPNOTSUPP;
	}
	kvm_shadow_paging = !npt || !boot_cpu_has(X86_FEATURE_NPT);
	if (kvm_shadow_paging)
		pr_info("kvm: %s: shadow paging\n", npt ?
			"this CPU lacks nested paging (NPT)" :
			"nested paging disabled (npt=0)");
	svm_has_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	return 0;
}

static void svm_free_cpu_data(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu_data *sd = per_cpu_ptr(&svm_cpu, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = sd->host_save = NULL;
	}
}

/*
 * MSRs whose guest values live in the VMCB save area, moved by VMRUN,
 * #VMEXIT and our VMLOAD/VMSAVE of the guest VMCB (svm_vmrun): the guest
 * reads and writes them without an exit, as upstream lets it.  Linux
 * writes FS_BASE (or KERNEL_GS_BASE) on every switch between processes
 * with thread-local storage, so intercepting them cost an exit per
 * context switch.  The CPU checks the written values itself (#GP on a
 * non-canonical base).  SYSENTER_* stay intercepted: AMD keeps only 32
 * bits of ESP/EIP, and they are written once at boot.
 */
static const u32 svm_guest_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
};

/*
 * Let the guest read and write @msr: in the permission map (APM vol. 2,
 * 15.11) each of the three 2K-MSR ranges has 2 KiB, 2 bits per MSR (read
 * low, write high).
 */
static void svm_msrpm_allow(u8 *msrpm, u32 msr)
{
	static const u32 base[] = { 0, 0xc0000000, 0xc0010000 };
	unsigned int i, bit;

	for (i = 0; i < ARRAY_SIZE(base); i++) {
		if (msr - base[i] >= 0x2000)
			continue;
		bit = i * 0x800 * 8 + (msr - base[i]) * 2;
		msrpm[bit / 8] &= ~(3 << (bit % 8));
		return;
	}
	WARN_ON_ONCE(1);
}

static int svm_setup(void)
{
	u32 nasids = cpuid_ebx(0x8000000a);
	unsigned int i;
	int cpu;

	if (nasids < 2) {
		pr_err("kvm: CPU reports %u ASIDs; need at least 2\n", nasids);
		return -EOPNOTSUPP;
	}
	if (intr_exit < -1 || intr_exit > 1) {
		pr_err("kvm: intr_exit=%d: use -1 (under QEMU's TCG only), 0 or 1\n",
		       intr_exit);
		return -EINVAL;
	}
	for_each_possible_cpu(cpu) {
		struct svm_cpu_data *sd = per_cpu_ptr(&svm_cpu, cpu);

		sd->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(cpu_to_node(cpu),
						 GFP_KERNEL | __GFP_ZERO, 0);
		if (!sd->hsave || !sd->host_save)
			goto out_free;
		sd->max_asid = nasids - 1;
		/* Start past the end: the first entry opens a generation. */
		sd->next_asid = sd->max_asid + 1;
		sd->asid_generation = 1;
	}

	svm_intr_exit = intr_exit > 0 ||
			(intr_exit < 0 && hypervisor_cpuid_base("TCGTCGTCGTCG", 0));
	if (svm_intr_exit)
		pr_info("kvm: an entry that injects an external interrupt exits right after delivering it (intr_exit%s)\n",
			intr_exit < 0 ? ": L0 is QEMU's TCG" : "=1");

	/*
	 * Intercept every port and every MSR but those the guest owns in
	 * the VMCB; exits decide what is allowed.
	 */
	iopm_pages = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	msrpm_pages = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!iopm_pages || !msrpm_pages)
		goto out_free;
	memset(page_address(iopm_pages), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(msrpm_pages), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_guest_msrs); i++)
		svm_msrpm_allow(page_address(msrpm_pages), svm_guest_msrs[i]);
	return 0;

out_free:
	if (iopm_pages)
		__free_pages(iopm_pages, SVM_IOPM_ORDER);
	if (msrpm_pages)
		__free_pages(msrpm_pages, SVM_MSRPM_ORDER);
	iopm_pages = msrpm_pages = NULL;
	svm_free_cpu_data();
	return -ENOMEM;
}

static void svm_unsetup(void)
{
	__free_pages(iopm_pages, SVM_IOPM_ORDER);
	__free_pages(msrpm_pages, SVM_MSRPM_ORDER);
	iopm_pages = msrpm_pages = NULL;
	svm_free_cpu_data();
}

/* Runs on the CPU being enabled (CPU hotplug "online" callback). */
static int svm_hardware_enable(void)
{
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("kvm: SVM already in use on CPU %d (another hypervisor?)\n",
		       smp_processor_id());
		return -EBUSY;
	}
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	/* ASIDs used before on this CPU are stale: open a new generation. */
	sd->next_asid = sd->max_asid + 1;
	return 0;
}

static void svm_hardware_disable(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, 0);
}

/* ---- vCPU state ------------------------------------------------------- */

static struct vmcb_seg *svm_seg(struct vcpu_svm *svm, int seg)
{
	struct vmcb_save *s = &svm->vmcb->save;

	switch (seg) {
	case VCPU_SREG_CS: return &s->cs;
	case VCPU_SREG_DS: return &s->ds;
	case VCPU_SREG_ES: return &s->es;
	case VCPU_SREG_FS: return &s->fs;
	case VCPU_SREG_GS: return &s->gs;
	case VCPU_SREG_SS: return &s->ss;
	case VCPU_SREG_TR: return &s->tr;
	default:	   return &s->ldtr;
	}
}

static void svm_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);
	u16 a = s->attrib;

	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a & 0xf;
	var->s = (a >> 4) & 1;
	var->dpl = (a >> 5) & 3;
	var->present = (a >> 7) & 1;
	var->avl = (a >> 8) & 1;
	var->l = (a >> 9) & 1;
	var->db = (a >> 10) & 1;
	var->g = (a >> 11) & 1;
	var->unusable = !var->present;
	var->padding = 0;

	switch (seg) {
	case VCPU_SREG_TR:
		/* SVM does not keep the busy bit; a loaded TSS is busy. */
		var->type |= 0x2;
		break;
	case VCPU_SREG_DS:
	case VCPU_SREG_ES:
	case VCPU_SREG_FS:
	case VCPU_SREG_GS:
		if (!var->unusable)
			var->type |= 0x1;	/* accessed */
		break;
	case VCPU_SREG_SS:
		/* The CPL is the authority for SS.DPL. */
		if (var->unusable)
			var->db = 0;
		var->dpl = svm->vmcb->save.cpl;
		break;
	}
}

static void svm_set_segment(struct kvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	s->attrib = (var->type & 0xf) | (var->s & 1) << 4 |
		    (var->dpl & 3) << 5 | (var->present & 1) << 7 |
		    (var->avl & 1) << 8 | (var->l & 1) << 9 |
		    (var->db & 1) << 10 | (var->g & 1) << 11;
	if (var->unusable)
		s->attrib = 0;
	if (seg == VCPU_SREG_SS)
		svm->vmcb->save.cpl = var->dpl & 3;
}

static void svm_get_dtable(struct kvm_vcpu *vcpu, struct kvm_dtable *dt,
			   int which)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	struct vmcb_seg *d = which == VCPU_DTABLE_GDT ? &s->gdtr : &s->idtr;

	memset(dt, 0, sizeof(*dt));
	dt->base = d->base;
	dt->limit = d->limit;
}

static void svm_set_dtable(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt,
			   int which)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	struct vmcb_seg *d = which == VCPU_DTABLE_GDT ? &s->gdtr : &s->idtr;

	d->base = dt->base;
	d->limit = dt->limit;
}

static unsigned long svm_get_cr(struct kvm_vcpu *vcpu, int cr)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	if (kvm_shadow_paging) {
		switch (cr) {
		case 0: return svm->guest_cr0;
		case 3: return svm->guest_cr3;
		case 4: return svm->guest_cr4;
		}
	}
	switch (cr) {
	case 0: return vmcb->save.cr0 | svm->cr0_hidden;
	case 2: return vmcb->save.cr2;
	case 3: return vmcb->save.cr3;
	case 4: return vmcb->save.cr4;
	case 8: return vmcb->control.int_ctl & V_TPR_MASK;
	default: return 0;
	}
}

/*
 * Shadow paging: the CR0, CR4 and EFER the CPU runs the guest with.
 * Paging is always on, with CR0.WP (the shadow MMU handles the guest's
 * WP=0) and at least PAE; long mode only once the guest is in it (LME
 * alone with paging would enter it); NXE on so that shadow entries can
 * forbid execution whatever the guest's EFER.  SMEP/SMAP stay off while
 * the guest has paging off (its identity map is user-accessible).
 */
static void svm_shadow_sync_hw(struct vcpu_svm *svm)
{
	struct vmcb_save *s = &svm->vmcb->save;
	u64 efer = svm->vcpu.efer;
	unsigned long cr4 = svm->guest_cr4 | X86_CR4_PAE;

	s->cr0 = (svm->guest_cr0 | X86_CR0_PG | X86_CR0_WP) &
		 ~(X86_CR0_CD | X86_CR0_NW);	/* as cr0_hidden */
	if (!(svm->guest_cr0 & X86_CR0_PG))
		cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PSE);
	s->cr4 = cr4;
	if (!(efer & EFER_LMA))
		efer &= ~EFER_LME;
	s->efer = efer | EFER_NX | EFER_SVME;
}

static void svm_set_cr(struct kvm_vcpu *vcpu, int cr, unsigned long val)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	if (kvm_shadow_paging && (cr == 0 || cr == 3 || cr == 4)) {
		if (cr == 0)
			svm->guest_cr0 = val;
		else if (cr == 3)
			svm->guest_cr3 = val;
		else
			svm->guest_cr4 = val;
		svm_shadow_sync_hw(svm);
		return;
	}
	switch (cr) {
	case 0:
		/* Caching stays on for the CPU; see cr0_hidden. */
		svm->cr0_hidden = val & (X86_CR0_CD | X86_CR0_NW);
		vmcb->save.cr0 = val & ~(X86_CR0_CD | X86_CR0_NW);
		if (svm->cr0_hidden)
			vmcb->control.intercept_cr |= INTERCEPT_CR0_RW;
		else
			vmcb->control.intercept_cr &= ~INTERCEPT_CR0_RW;
		break;
	case 2:
		vmcb->save.cr2 = val;
		break;
	case 3:
		vmcb->save.cr3 = val;
		break;
	case 4:
		vmcb->save.cr4 = val;
		break;
	case 8:
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
					(val & 0xf);
		break;
	}
}

static void svm_set_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	/* VMRUN requires EFER.SVME in the guest state; the guest never sees it. */
	if (kvm_shadow_paging) {
		/* Callers set vcpu->efer first. */
		svm_shadow_sync_hw(to_svm(vcpu));
		return;
	}
	to_svm(vcpu)->vmcb->save.efer = efer | EFER_SVME;
}

static int svm_get_cpl(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl;
}

static unsigned long svm_get_dr(struct kvm_vcpu *vcpu, int dr)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	return dr == 6 ? s->dr6 : s->dr7;
}

static void svm_set_dr(struct kvm_vcpu *vcpu, int dr, unsigned long val)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	if (dr == 6)
		s->dr6 = val;
	else
		s->dr7 = val;
}

static unsigned long svm_get_rflags(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.rflags;
}

static void svm_set_rflags(struct kvm_vcpu *vcpu, unsigned long rflags)
{
	to_svm(vcpu)->vmcb->save.rflags = rflags;
}

static bool svm_get_interrupt_shadow(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.int_state & SVM_INTERRUPT_SHADOW;
}

static void svm_set_interrupt_shadow(struct kvm_vcpu *vcpu, bool shadow)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	if (shadow)
		c->int_state |= SVM_INTERRUPT_SHADOW;
	else
		c->int_state &= ~SVM_INTERRUPT_SHADOW;
}

/* EVENTINJ already has the common event encoding (see x86.h). */
static u32 svm_get_injected_event(struct kvm_vcpu *vcpu, u32 *error_code)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	*error_code = c->event_inj_err;
	return c->event_inj;
}

static void svm_set_injected_event(struct kvm_vcpu *vcpu, u32 info,
				   u32 error_code)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = info;
	c->event_inj_err = error_code;
}

/*
 * Ask for an exit when the guest can take an interrupt: a virtual
 * interrupt that ignores the TPR, with its delivery intercepted (VINTR).
 */
static void svm_enable_irq_window(struct kvm_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl |= V_IRQ | V_IGN_TPR | (0xfU << V_INTR_PRIO_SHIFT);
	c->intercept_misc1 |= INTERCEPT_VINTR;
}

/*
 * A virtual interrupt of priority class @prio that respects V_TPR: the
 * CPU takes it (and the VINTR intercept exits) once the guest lowers its
 * TPR below @prio with interrupts enabled.
 */
static void svm_enable_tpr_window(struct kvm_vcpu *vcpu, int prio)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;

	/*
	 * The interrupt must be taken once TPR < prio.  A CPU that compares
	 * V_INTR_PRIO >= V_TPR (QEMU's TCG SVM does, in ctl_has_irq()) would
	 * exit at once for TPR == prio, where nothing is deliverable, and
	 * we would re-arm the same window forever: a livelock with the guest
	 * making no progress.  Such a CPU gets prio - 1, which it takes
	 * exactly when TPR < prio.  (prio >= 1: vectors below 16 never
	 * reach the IRR.)
	 */
	if (svm->vintr_prio_ge && prio > 0)
		prio--;
	c->int_ctl &= ~(V_IGN_TPR | V_INTR_PRIO_MASK);
	c->int_ctl |= V_IRQ | ((prio & 0xf) << V_INTR_PRIO_SHIFT);
	c->intercept_misc1 |= INTERCEPT_VINTR;
}

static void svm_set_iret_intercept(struct kvm_vcpu *vcpu, bool on)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	if (on)
		c->intercept_misc1 |= INTERCEPT_IRET;
	else
		c->intercept_misc1 &= ~INTERCEPT_IRET;
}

static void svm_clear_irq_window(struct vcpu_svm *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	c->int_ctl &= ~(V_IRQ | V_IGN_TPR | V_INTR_PRIO_MASK);
	c->intercept_misc1 &= ~INTERCEPT_VINTR;
}

static void svm_queue_exception(struct kvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID |
		       (has_error ? SVM_EVTINJ_VALID_ERR : 0);
	c->event_inj_err = error_code;
}

static int svm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	switch (index) {
	case MSR_STAR:		*data = vmcb->save.star; break;
	case MSR_LSTAR:		*data = vmcb->save.lstar; break;
	case MSR_CSTAR:		*data = vmcb->save.cstar; break;
	case MSR_SYSCALL_MASK:	*data = vmcb->save.sfmask; break;
	case MSR_KERNEL_GS_BASE: *data = vmcb->save.kernel_gs_base; break;
	case MSR_FS_BASE:	*data = vmcb->save.fs.base; break;
	case MSR_GS_BASE:	*data = vmcb->save.gs.base; break;
	case MSR_IA32_SYSENTER_CS:  *data = vmcb->save.sysenter_cs; break;
	case MSR_IA32_SYSENTER_ESP: *data = vmcb->save.sysenter_esp; break;
	case MSR_IA32_SYSENTER_EIP: *data = vmcb->save.sysenter_eip; break;
	case MSR_IA32_CR_PAT:	*data = vmcb->save.g_pat; break;
	case MSR_IA32_TSC:	*data = rdtsc() + vmcb->control.tsc_offset; break;
	default:
		return 1;
	}
	return 0;
}

static int svm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	switch (index) {
	case MSR_STAR:		vmcb->save.star = data; break;
	case MSR_SYSCALL_MASK:	vmcb->save.sfmask = data; break;
	case MSR_IA32_SYSENTER_CS:  vmcb->save.sysenter_cs = data; break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!kvm_is_canonical(data))
			return 1;
		switch (index) {
		case MSR_LSTAR:	vmcb->save.lstar = data; break;
		case MSR_CSTAR:	vmcb->save.cstar = data; break;
		case MSR_KERNEL_GS_BASE: vmcb->save.kernel_gs_base = data; break;
		case MSR_FS_BASE: vmcb->save.fs.base = data; break;
		case MSR_GS_BASE: vmcb->save.gs.base = data; break;
		case MSR_IA32_SYSENTER_ESP: vmcb->save.sysenter_esp = data; break;
		default:	vmcb->save.sysenter_eip = data; break;
		}
		break;
	case MSR_IA32_CR_PAT:
		if (!kvm_pat_valid(data))
			return 1;
		vmcb->save.g_pat = data;
		break;
	case MSR_IA32_TSC:
		vmcb->control.tsc_offset = data - rdtsc();
		break;
	default:
		return 1;
	}
	return 0;
}

/* The nested table's root, or with shadow paging the CR3 the CPU uses. */
static void svm_load_mmu_root(struct kvm_vcpu *vcpu, phys_addr_t root)
{
	if (kvm_shadow_paging)
		to_svm(vcpu)->vmcb->save.cr3 = root;
	else
		to_svm(vcpu)->vmcb->control.nested_cr3 = root;
}

static void svm_flush_guest_tlb(struct kvm_vcpu *vcpu)
{
	/* A fresh ASID has no TLB entries; cheaper than a flush command. */
	to_svm(vcpu)->need_new_asid = true;
}

static void svm_init_segment(struct vmcb_seg *s, u16 sel, u16 attrib, u64 base)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = 0xffff;
	s->base = base;
}

/* The whole VMCB, control and state, as after power-on or INIT. */
static void svm_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control *c = &vmcb->control;
	struct vmcb_save *s = &vmcb->save;

	clear_page(vmcb);

	c->intercept_cr = INTERCEPT_CR4_WRITE;
	c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_SMI |
			     INTERCEPT_INIT | INTERCEPT_CPUID |
			     INTERCEPT_INVD | INTERCEPT_HLT |
			     INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT |
			     INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL |
			     INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
			     INTERCEPT_STGI | INTERCEPT_CLGI |
			     INTERCEPT_SKINIT | INTERCEPT_MONITOR |
			     INTERCEPT_MWAIT | INTERCEPT_XSETBV;
	c->iopm_base_pa = page_to_phys(iopm_pages);
	c->msrpm_base_pa = page_to_phys(msrpm_pages);
	/* Guest TSC counts from zero at reset. */
	c->tsc_offset = -rdtsc();
	/* Guest RFLAGS.IF masks only virtual interrupts; host IF the rest. */
	c->int_ctl = V_INTR_MASKING;
	if (kvm_shadow_paging) {
		c->intercept_cr |= INTERCEPT_CR_SHADOW;
		c->intercept_exceptions |= INTERCEPT_EXCP_PF;
		c->intercept_misc1 |= INTERCEPT_INVLPG;
	} else {
		c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
		c->nested_cr3 = __pa(vcpu->kvm->tdp.root);
		/* A guest setting CD or NW must exit: see cr0_hidden. */
		c->intercept_misc1 |= INTERCEPT_SEL_CR0;
	}
	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;

	svm_init_segment(&s->cs, 0xf000, 0x9b, 0xffff0000);
	svm_init_segment(&s->ds, 0, 0x93, 0);
	svm_init_segment(&s->es, 0, 0x93, 0);
	svm_init_segment(&s->fs, 0, 0x93, 0);
	svm_init_segment(&s->gs, 0, 0x93, 0);
	svm_init_segment(&s->ss, 0, 0x93, 0);
	svm_init_segment(&s->ldtr, 0, 0x82, 0);
	svm_init_segment(&s->tr, 0, 0x8b, 0);
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	svm->cr0_hidden = 0;
	svm_set_cr(vcpu, 0, X86_CR0_CD | X86_CR0_NW | X86_CR0_ET);
	s->efer = EFER_SVME;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->rflags = X86_EFLAGS_FIXED_BIT_VALUE;
	s->rip = 0xfff0;
	s->g_pat = 0x0007040600070406ULL;
	if (kvm_shadow_paging) {
		/* vcpu->efer is already 0; the root comes at the next entry. */
		svm->guest_cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
		svm->guest_cr3 = 0;
		svm->guest_cr4 = 0;
		svm_shadow_sync_hw(svm);
	}

	svm->need_new_asid = true;
}

static int svm_vcpu_create(struct kvm_vcpu **out, struct kvm *kvm)
{
	struct vcpu_svm *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->asid_cpu = -1;
	svm->vcpu.kvm = kvm;
	*out = &svm->vcpu;
	return 0;
}

static void svm_vcpu_free(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	__free_page(virt_to_page(svm->vmcb));
	kfree(svm);
}

/* ---- Guest entry ------------------------------------------------------ */

/* Interrupts off: pick an ASID valid on this CPU. */
static void svm_prepare_asid(struct vcpu_svm *svm, int cpu)
{
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_cpu);

	if (svm->asid_cpu == cpu && svm->asid_generation == sd->asid_generation &&
	    !svm->need_new_asid)
		return;
	if (sd->next_asid > sd->max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		svm->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	svm->asid = sd->next_asid++;
	svm->asid_generation = sd->asid_generation;
	svm->asid_cpu = cpu;
	svm->need_new_asid = false;
	svm->vmcb->control.asid = svm->asid;
}

static void svm_dump(struct vcpu_svm *svm, const char *why);

static void svm_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_cpu);
	struct svm_exit_trace *t;

	svm_prepare_asid(svm, smp_processor_id());

	vmcb->save.rax = vcpu->regs[VCPU_REGS_RAX];
	vmcb->save.rsp = vcpu->regs[VCPU_REGS_RSP];
	vmcb->save.rip = vcpu->regs[VCPU_REGS_RIP];
	t = &svm->trace[svm->trace_next++ % ARRAY_SIZE(svm->trace)];
	t->entry_rip = vmcb->save.rip;
	t->entry_inj = vmcb->control.event_inj;
	t->cpu = smp_processor_id();
	/*
	 * An external interrupt goes in only where the guest can take one:
	 * userspace queues it when ready_for_interrupt_injection said so, and
	 * a re-injected one was accepted at a point where it could.  One
	 * going in with IF clear or in an interrupt shadow would run its
	 * handler where the guest has interrupts off: leave the evidence.
	 */
	if ((vmcb->control.event_inj & (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_MASK)) ==
	    (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR)) {
		if (!(vmcb->save.rflags & X86_EFLAGS_IF) ||
		    (vmcb->control.int_state & SVM_INTERRUPT_SHADOW))
			svm_dump(svm, "interrupt injected while the guest cannot take one");
		/*
		 * See intr_exit; interrupts are off, GIF is still set.  The
		 * run loop's immediate exit (an NMI waiting behind this
		 * event) has sent the same IPI already.
		 */
		if (svm_intr_exit && !vcpu->immediate_exit)
			smp_send_reschedule(smp_processor_id());
	}

	/*
	 * GIF=0 holds off every host interrupt and NMI; with host IF=1 a
	 * physical interrupt arriving in the guest becomes an INTR exit, and
	 * is taken by the host once GIF and IF are set again below.
	 */
	clgi();
	local_irq_enable();
	svm_vmrun(svm->vmcb_pa, vcpu->regs, page_to_phys(sd->host_save));
	local_irq_disable();
	stgi();

	t->exit_rip = vmcb->save.rip;
	t->exit_code = vmcb->control.exit_code;
	t->info1 = vmcb->control.exit_info_1;
	t->info2 = vmcb->control.exit_info_2;
	t->exit_int_info = vmcb->control.exit_int_info;
	t->int_ctl = vmcb->control.int_ctl;

	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vcpu->regs[VCPU_REGS_RAX] = vmcb->save.rax;
	vcpu->regs[VCPU_REGS_RSP] = vmcb->save.rsp;
	vcpu->regs[VCPU_REGS_RIP] = vmcb->save.rip;
	/*
	 * The CPU sets EFER.LMA itself when the guest turns paging on (with
	 * shadow paging CR0 writes are intercepted and vcpu->efer is ours).
	 */
	if (!kvm_shadow_paging)
		vcpu->efer = vmcb->save.efer & ~EFER_SVME;
}

/* ---- Exit handling ------------------------------------------------------ */

static unsigned long svm_next_rip(struct vcpu_svm *svm, int len)
{
	if (svm_has_nrips && svm->vmcb->control.next_rip)
		return svm->vmcb->control.next_rip;
	return svm->vcpu.regs[VCPU_REGS_RIP] + len;
}

/*
 * An exit that interrupted the delivery of an event (say a nested page
 * fault on the guest's IDT) leaves it in EXITINTINFO: deliver it again on
 * the next entry.  Software interrupts are not re-injected: RIP still
 * points at the INTn, which simply executes again.
 */
static void svm_reinject_event(struct vcpu_svm *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;

	c->event_inj = 0;
	if (!(info & SVM_EVTINJ_VALID))
		return;
	if ((info & (7U << SVM_EVTINJ_TYPE_SHIFT)) == SVM_EVTINJ_TYPE_SOFT)
		return;
	c->event_inj = info;
	c->event_inj_err = c->exit_int_info_err;
}

static int svm_handle_ioio(struct vcpu_svm *svm)
{
	u64 info = svm->vmcb->control.exit_info_1;
	int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	u16 port = info >> SVM_IOIO_PORT_SHIFT;

	if (info & SVM_IOIO_STR) {
		struct kvm_string_pio p = {
			.in = info & SVM_IOIO_TYPE_IN,
			.rep = info & SVM_IOIO_REP,
			.size = size,
			/* Real CPUs always set one A* bit; QEMU's TCG none. */
			.addr_size = (info & SVM_IOIO_A64) ? 8 :
				     (info & SVM_IOIO_A32) ? 4 :
				     (info & SVM_IOIO_A16) ? 2 : 0,
			/* SEG (bits 12:10) is only filled with decode assists. */
			.seg = boot_cpu_has(X86_FEATURE_DECODEASSISTS) ?
			       (info >> SVM_IOIO_SEG_SHIFT) & 7 : -1,
			.port = port,
			.next_rip = svm->vmcb->control.exit_info_2,
		};

		return kvm_emulate_string_pio(&svm->vcpu, &p);
	}
	/* exit_info_2 holds the RIP of the next instruction for IOIO. */
	return kvm_emulate_pio(&svm->vcpu, info & SVM_IOIO_TYPE_IN, size, port,
			       svm->vmcb->control.exit_info_2);
}

static int svm_handle_cr4_write(struct vcpu_svm *svm)
{
	struct kvm_vcpu *vcpu = &svm->vcpu;
	u64 info = svm->vmcb->control.exit_info_1;
	int cr, gpr, len;

	/* With decode assists the exit names the register (APM 15.33). */
	if (info & SVM_CR_INFO_VALID) {
		gpr = info & SVM_CR_INFO_GPR_MASK;
		len = 3;	/* only used without NRIPS, which implies it */
	} else {
		len = kvm_decode_mov_to_cr(vcpu, &cr, &gpr);
		if (!len || cr != 4)
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"CR4 write by an instruction other than MOV",
				kvm_rip(vcpu), info);
	}
	/* RSP lives in the VMCB while the guest runs; regs[] has it now. */
	return kvm_emulate_cr4_write(vcpu, gpr, svm_next_rip(svm, len));
}

/* The guest state and the last exits, for a shutdown or a failed VMRUN. */
static void svm_dump(struct vcpu_svm *svm, const char *why)
{
	static DEFINE_RATELIMIT_STATE(rs, 10 * HZ, 1);
	struct vmcb_save *s = &svm->vmcb->save;
	struct vmcb_control *c = &svm->vmcb->control;
	unsigned int i, n = ARRAY_SIZE(svm->trace);

	if (!__ratelimit(&rs))
		return;
	pr_info("kvm: vcpu %u: %s: cs %04x/%04x base %llx rip %llx rsp %llx rflags %llx cpl %u\n",
		svm->vcpu.vcpu_id, why, s->cs.selector, s->cs.attrib,
		s->cs.base, s->rip, s->rsp, s->rflags, s->cpl);
	pr_info("kvm:   cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx idtr %llx/%x gdtr %llx/%x\n",
		s->cr0, s->cr2, s->cr3, s->cr4, s->efer, s->idtr.base,
		s->idtr.limit, s->gdtr.base, s->gdtr.limit);
	pr_info("kvm:   exit %llx info %llx %llx exitintinfo %x/%x event_inj %x int_ctl %x int_state %x asid %u vmcb %llx\n",
		c->exit_code, c->exit_info_1, c->exit_info_2, c->exit_int_info,
		c->exit_int_info_err, c->event_inj, c->int_ctl, c->int_state,
		c->asid, svm->vmcb_pa);
	for (i = 0; i < n; i++) {
		struct svm_exit_trace *t =
			&svm->trace[(svm->trace_next + i) % n];

		pr_info("kvm:   [-%u] cpu %u rip %llx inj %x -> exit %llx (%llx %llx) rip %llx intinfo %x int_ctl %x\n",
			n - i, t->cpu, t->entry_rip, t->entry_inj,
			t->exit_code, t->info1, t->info2, t->exit_rip,
			t->exit_int_info, t->int_ctl);
	}
}

/* Whether a saved RSP points into the current thread's kernel stack. */
static bool svm_rsp_on_host_stack(u64 rsp)
{
	unsigned long base = (unsigned long)task_stack_page(current);

	return rsp >= base && rsp < base + THREAD_SIZE;
}

static int svm_handle_exit(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;
	u64 code = c->exit_code;

	/*
	 * VMRUN refused the state.  The APM's code is -1 in 64 bits; QEMU's
	 * TCG stores it as a 32-bit -1.
	 */
	if (code == SVM_EXIT_ERR || code == (u32)SVM_EXIT_ERR) {
		svm_dump(svm, "VMRUN failed");
		return kvm_exit_fail_entry(vcpu, SVM_EXIT_ERR);
	}

	/*
	 * The save area holds the host's own state (RIP right after our
	 * VMRUN, our CR3): seen under QEMU 7.2's TCG SVM with 4 busy vCPUs.
	 * There a second #VMEXIT (an NPF, exit_info_1 GPT|W|U, on the host's
	 * own top-level page-table entry) is taken after the real one has
	 * already restored the host, so the guest's state is overwritten and
	 * lost.  Running the host state as the guest used to end in a triple
	 * fault at a host RIP; stop with the evidence instead.  The upstream
	 * KVM meets the same exit under the same L0 (multi-threaded TCG
	 * only; see tests/rig/scenarios/irq-stress.sh).  The saved RIP is
	 * either right after our VMRUN or, when the stray NPF hit a few
	 * instructions later, somewhere on our exit path: then RSP still lies
	 * on this thread's kernel stack.
	 */
	if (unlikely((svm->vmcb->save.cr3 & CR3_ADDR_MASK) ==
		     (__read_cr3() & CR3_ADDR_MASK) &&
		     (svm->vmcb->save.rip == (unsigned long)svm_vmrun_resume ||
		      svm_rsp_on_host_stack(svm->vmcb->save.rsp)))) {
		svm_dump(svm, "host state in the guest save area");
		return kvm_exit_internal_error(vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			"VMCB save area holds the host's state after #VMEXIT",
			code, c->exit_info_1);
	}

	kvm_count_exit(vcpu->stat.exit_hist, code, code == SVM_EXIT_NPF);
	svm_reinject_event(svm);

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* The host takes it once interrupts are on; just go back. */
		return 1;
	case SVM_EXIT_VINTR:
		/*
		 * A TPR window taken with V_TPR >= V_INTR_PRIO: this CPU
		 * compares with >=; see svm_enable_tpr_window().
		 */
		if (!(svm->vmcb->control.int_ctl & V_IGN_TPR) &&
		    ((svm->vmcb->control.int_ctl & V_INTR_PRIO_MASK) >> V_INTR_PRIO_SHIFT) <=
		    (svm->vmcb->control.int_ctl & 0xf))
			svm->vintr_prio_ge = true;
		/* The window is open; the run loop tells userspace. */
		svm_clear_irq_window(svm);
		return 1;
	case SVM_EXIT_WRITE_CR4:
		if (kvm_shadow_paging)
			return kvm_emulate_instruction(vcpu);
		return svm_handle_cr4_write(svm);
	case SVM_EXIT_READ_CR0:
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_CR0_SEL_WRITE:
		/*
		 * Shadow paging, or nested paging with CD/NW hidden or being
		 * set (cr0_hidden): emulate, no decode assists needed.
		 */
		return kvm_emulate_instruction(vcpu);
	case SVM_EXIT_READ_CR3:
	case SVM_EXIT_READ_CR4:
	case SVM_EXIT_WRITE_CR3:
	case SVM_EXIT_INVLPG:
		/* Shadow paging only; no decode assists needed: emulate. */
		return kvm_emulate_instruction(vcpu);
	case SVM_EXIT_EXCP_PF:
		/* exit_info_1: the error code; exit_info_2: the address. */
		return kvm_shadow_page_fault(vcpu, c->exit_info_2,
					     c->exit_info_1);
	case SVM_EXIT_IRET:
		/* Intercepted before it runs: see kvm_nmi_iret_exit(). */
		kvm_nmi_iret_exit(vcpu);
		return 1;
	case SVM_EXIT_CPUID:
		return kvm_emulate_cpuid(vcpu, svm_next_rip(svm, 2));
	case SVM_EXIT_HLT:
		return kvm_emulate_halt(vcpu, svm_next_rip(svm, 1));
	case SVM_EXIT_IOIO:
		return svm_handle_ioio(svm);
	case SVM_EXIT_MSR:
		if (c->exit_info_1)
			return kvm_emulate_wrmsr(vcpu, svm_next_rip(svm, 2));
		return kvm_emulate_rdmsr(vcpu, svm_next_rip(svm, 2));
	case SVM_EXIT_XSETBV:
		return kvm_emulate_xsetbv(vcpu, svm_next_rip(svm, 3));
	case SVM_EXIT_INVD:
		/* INVD would drop dirty host cache lines: treat it as a no-op. */
		vcpu->regs[VCPU_REGS_RIP] = svm_next_rip(svm, 2);
		return 1;
	case SVM_EXIT_NPF:
		return kvm_tdp_page_fault(vcpu, c->exit_info_2,
					  c->exit_info_1 & NPF_WRITE,
					  c->exit_info_1 & NPF_FETCH);
	case SVM_EXIT_SHUTDOWN:
		/* The VMCB is undefined after a shutdown (APM 15.11). */
		svm_dump(svm, "shutdown");
		return kvm_exit_shutdown(vcpu);
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
		/* Not offered to the guest (no SVM, no MONITOR in CPUID). */
		kvm_queue_ud(vcpu);
		return 1;
	default:
		return kvm_exit_internal_error(vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			"unhandled SVM exit code", code, c->exit_info_1);
	}
}

/*
 * NPT entries are host long-mode page-table entries (APM vol. 2, 15.25.5):
 * present, writable, user (nested walks are user accesses), accessed and
 * dirty preset.  The walk is as deep as the host's paging at VMRUN.
 */
static const struct kvm_tdp_format svm_npt_format = {
	.present = _PAGE_PRESENT,
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED,
	.leaf = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY,
	.writable = _PAGE_RW,
	.levels = 0,
};

static const struct kvm_x86_ops svm_x86_ops = {
	.name = "svm",
	.tdp_format = &svm_npt_format,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_run = svm_vcpu_run,
	.handle_exit = svm_handle_exit,
	.get_segment = svm_get_segment,
	.set_segment = svm_set_segment,
	.get_dtable = svm_get_dtable,
	.set_dtable = svm_set_dtable,
	.get_cr = svm_get_cr,
	.set_cr = svm_set_cr,
	.set_efer = svm_set_efer,
	.get_dr = svm_get_dr,
	.set_dr = svm_set_dr,
	.get_cpl = svm_get_cpl,
	.get_rflags = svm_get_rflags,
	.set_rflags = svm_set_rflags,
	.get_interrupt_shadow = svm_get_interrupt_shadow,
	.set_interrupt_shadow = svm_set_interrupt_shadow,
	.get_injected_event = svm_get_injected_event,
	.set_injected_event = svm_set_injected_event,
	.enable_irq_window = svm_enable_irq_window,
	.enable_tpr_window = svm_enable_tpr_window,
	.set_iret_intercept = svm_set_iret_intercept,
	.queue_exception = svm_queue_exception,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.load_mmu_root = svm_load_mmu_root,
	.flush_guest_tlb = svm_flush_guest_tlb,
};

const struct kvm_x86_backend svm_backend = {
	.name = "AMD SVM",
	.probe = svm_probe,
	.setup = svm_setup,
	.unsetup = svm_unsetup,
	.ops = &svm_x86_ops,
};
