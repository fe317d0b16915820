// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX backend: detection, VMXON per CPU, the VMCS, guest entry and
 * exit decoding.  Guest memory is mapped by EPT (with unrestricted guest
 * for real mode) when the CPU has both, or by the shadow MMU
 * (kernel/mmu/shadow.c) with ept=0 or without them.  In shadow mode the
 * CPU's CR0, CR3, CR4 and EFER are not the guest's: CR3 is the shadow
 * root, paging is always on (PAE at least) with CR0.WP set, EFER.NXE is
 * on; so CR0/CR4 are host-owned (guest/host masks all ones: reads see
 * the read shadows, writes exit), MOV to/from CR3 and INVLPG exit, and
 * so does every #PF.
 *
 * == Real mode without unrestricted guest ==
 * VM entry then needs CR0.PE = 1 (always the case with shadow paging
 * here): real mode runs as virtual-8086 mode, as upstream KVM does, with
 * the translation in vmx_logic.c (vmx_rmode_hw_state/merge; g keeps the
 * guest's real-mode state, vcpu_run enters with the vm86 form).  Every
 * exception exits.  What vm86 cannot do natively #GPs and is done here
 * (vmx_rmode_gp): port I/O, INT n, CLI/STI/PUSHF/POPF/IRET (vm86 runs
 * with IOPL 0), HLT, LGDT/LIDT, MOV CR, RDMSR/WRMSR, and accesses beyond
 * 64 KiB of an "unreal" segment (emulated with the real limit).
 * Events (interrupts, exceptions) are delivered the real-mode way in
 * software, through the IVT (vmx_rmode_deliver, from
 * prepare_guest_entry, which may touch guest memory).  A segment base
 * vm86 cannot express (loaded in protected mode above 1 MiB or not
 * 16-byte aligned: big real mode) stops the vCPU with an internal error.
 *
 * References: Intel SDM vol. 3C chapters 24-31 (2023 numbering: 25 VMCS,
 * 26 VMX non-root operation, 27 VM entries, 28 VM exits, 29 EPT/VPID).
 * Constants live in vmcs_defs.h; the hardware-independent logic (control
 * derivation, entry checks, exit decoding) in vmx_logic.c, unit-tested in
 * tests/unit/vmx_*_test.cc against a simulated VMCS.
 *
 * Status: compiled on every build; runs under Bochs-VMX (tests/rig/rig.py
 * --bochs), where the payloads give the same results as kvm_intel.
 *
 * == How the VMCS follows the vCPU thread ==
 * A VMCS may be active on one CPU only, and moving it to another needs
 * VMCLEAR on the old one first.  The common run loop calls vcpu_run with
 * preemption and interrupts off, but every other op (get_segment, set_cr,
 * handle_exit, ...) runs preemptible, and an IPI to the old CPU cannot be
 * waited for with interrupts off.  So:
 *   - all guest state and the per-entry controls live in software
 *     (struct vmx_guest_state / vmx_entry_controls); the ops only touch
 *     those, never the VMCS;
 *   - vcpu_run loads the VMCS if needed (VMPTRLD), writes what changed,
 *     enters (VMRESUME once launched on this CPU), and reads the exit
 *     information and guest state back;
 *   - vcpu_put, called by common code's preempt notifier when the thread
 *     is scheduled out inside KVM_RUN and when KVM_RUN returns, VMCLEARs
 *     the VMCS on the CPU it is active on -- always the one the thread is
 *     leaving (struct vmx_vmcs_state in vmx_logic.h).
 * The VMCS is thus never active outside KVM_RUN, nor on a CPU its thread
 * is not on, and may be loaded on any CPU at the next entry.
 * Per-CPU host fields are rewritten when the CPU differs from last time.
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/spinlock.h>
#include <linux/bitmap.h>
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/mce.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../x86/x86.h"
#include "../x86/cpuid.h"
#include "../x86/guest_mem.h"
#include "../x86/irq.h"
#include "vmx_logic.h"

int vmx_vmenter(unsigned long *regs, bool resume);
void vmx_vmexit(void);
void vmx_call_nmi_handler(void (*entry)(void));
void asm_exc_nmi_noist(void);

#define VMX_NR_VPIDS	(1 << 16)
/* PAUSE-loop exiting, in TSC cycles (upstream KVM's defaults). */
#define VMX_PLE_GAP	128
#define VMX_PLE_WINDOW	4096

struct vmx_cpu_data {
	void *vmxon_region;
	/* This CPU's current VMCS (VMPTRLD), 0 if none or unknown. */
	u64 current_vmcs;
	/* The host's syscall MSRs, set at boot and equal on every CPU. */
	u64 star, lstar, cstar, sfmask;
};

static DEFINE_PER_CPU(struct vmx_cpu_data, vmx_cpu);
static struct vmx_caps vmx_caps;
static struct vmx_config vmx_cfg;
/* The monitor trap flag (one instruction per entry): for big real mode. */
static bool vmx_has_mtf;
static unsigned long *vpid_bitmap;
static DEFINE_SPINLOCK(vpid_lock);

struct vcpu_vmx {
	struct kvm_vcpu vcpu;
	void *vmcs;
	u64 vmcs_pa;

	/* Software copy of the VMCS; the ops read and write these only. */
	struct vmx_guest_state g;
	struct vmx_entry_controls ctl;
	bool guest_dirty;	/* g newer than the VMCS */
	bool controls_dirty;	/* ctl newer than the VMCS */
	bool vmcs_initialized;	/* constant fields written */
	struct vmx_vmcs_state vmcs_state;	/* where active, launched */
	int last_cpu;		/* where the host fields were written, or -1 */
	bool need_flush;	/* INVEPT before the next entry */
	bool cpuid_set;		/* ctl.proc2 follows a KVM_SET_CPUID2 */

	/* The next event to deliver, in the common KVM_EVENT_* encoding. */
	u32 event_info;
	u32 event_error;

	/* Shadow paging: the guest's CR3 (g.cr3 is the shadow root). */
	unsigned long guest_cr3;
	/*
	 * Real mode as vm86 (see the top): whether the last entry ran so,
	 * and the state it entered with and exited with.  vCPU thread only.
	 */
	bool rmode;
	struct vmx_guest_state rm_put, rm_out;
	/*
	 * Protected mode without unrestricted guest: the data segments the
	 * CPU holds with DPL = RPL (vmx_pmode_hw_state; 1 << VMX_SEG_x), the
	 * state last stored with them, and the guest's own access rights.
	 * vCPU thread only.
	 */
	u32 pm_fixed;
	struct vmx_guest_state pm_put;
	u32 pm_guest_ar[VMX_NR_SEGS];

	/* Guest registers VMX does not switch (SDM 28.3: no CR2, DR6 field). */
	unsigned long cr2, dr6;
	u8 cr8;		/* without a virtual-APIC page */
	/*
	 * TPR shadow (vCPUs with an in-kernel LAPIC, where the CPU has it):
	 * the virtual-APIC page, whose byte 0x80 (VTPR) is the guest's CR8
	 * << 4, and the priority class whose masked interrupt waits for the
	 * guest to lower its TPR (vmx_enable_tpr_window; 0: none), made the
	 * TPR threshold at the next entry.  vCPU thread only.
	 */
	u8 *vapic;
	u8 tpr_window;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;

	/* The last exit, read in vcpu_run. */
	bool entry_failed;	/* VMLAUNCH failed; insn_error says why */
	u32 insn_error;
	u32 exit_reason, exit_intr_info, exit_intr_error;
	u32 idt_info, idt_error, insn_len, insn_info;
	u64 exit_qual, guest_phys;
};

static inline struct vcpu_vmx *to_vmx(struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vcpu_vmx, vcpu);
}

/* ---- VMX instructions ------------------------------------------------- */

static __always_inline u64 vmcs_read(u32 field)
{
	u64 v;

	asm volatile("vmread %1, %0" : "=rm"(v) : "r"((u64)field) : "cc");
	return v;
}

static __always_inline void vmcs_write(u32 field, u64 val)
{
	asm volatile("vmwrite %1, %0" : : "r"((u64)field), "rm"(val) : "cc");
}

static bool vmptrld(u64 pa)
{
	bool fail;

	asm volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa)
		     : "cc", "memory");
	return fail;
}

static bool vmclear(u64 pa)
{
	bool fail;

	asm volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa)
		     : "cc", "memory");
	return fail;
}

static void invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static void invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, gla; } desc = { vpid, 0 };

	asm volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static u64 vmcs_acc_read(void *ctx, u32 field)
{
	return vmcs_read(field);
}

static void vmcs_acc_write(void *ctx, u32 field, u64 val)
{
	vmcs_write(field, val);
}

static const struct vmcs_accessor vmcs_hw = {
	.read = vmcs_acc_read,
	.write = vmcs_acc_write,
};

/* ---- Enabling VMX ------------------------------------------------------ */

static int vmx_read_caps(struct vmx_caps *c)
{
	int r = 0;

	memset(c, 0, sizeof(*c));
	r |= rdmsrl_safe(MSR_IA32_VMX_BASIC, &c->basic);
	r |= rdmsrl_safe(MSR_IA32_VMX_PINBASED_CTLS, &c->pin);
	r |= rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS, &c->proc);
	r |= rdmsrl_safe(MSR_IA32_VMX_EXIT_CTLS, &c->exit);
	r |= rdmsrl_safe(MSR_IA32_VMX_ENTRY_CTLS, &c->entry);
	r |= rdmsrl_safe(MSR_IA32_VMX_MISC, &c->misc);
	r |= rdmsrl_safe(MSR_IA32_VMX_CR0_FIXED0, &c->cr0_fixed0);
	r |= rdmsrl_safe(MSR_IA32_VMX_CR0_FIXED1, &c->cr0_fixed1);
	r |= rdmsrl_safe(MSR_IA32_VMX_CR4_FIXED0, &c->cr4_fixed0);
	r |= rdmsrl_safe(MSR_IA32_VMX_CR4_FIXED1, &c->cr4_fixed1);
	if (r)
		return -EIO;
	if (c->basic & VMX_BASIC_TRUE_CTLS) {
		r |= rdmsrl_safe(MSR_IA32_VMX_TRUE_PINBASED_CTLS, &c->true_pin);
		r |= rdmsrl_safe(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &c->true_proc);
		r |= rdmsrl_safe(MSR_IA32_VMX_TRUE_EXIT_CTLS, &c->true_exit);
		r |= rdmsrl_safe(MSR_IA32_VMX_TRUE_ENTRY_CTLS, &c->true_entry);
	}
	/* The secondary controls MSR exists only if they can be enabled. */
	if ((c->proc >> 32) & PROC_SECONDARY_CONTROLS) {
		r |= rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2);
		if ((c->proc2 >> 32) & (PROC2_EPT | PROC2_VPID))
			r |= rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP,
					 &c->ept_vpid);
	}
	c->phys_bits = boot_cpu_data.x86_phys_bits;
	return r ? -EIO : 0;
}

/* ept=0 asks for shadow paging, as with upstream's kvm_intel. */
static bool ept = true;
module_param(ept, bool, 0444);
MODULE_PARM_DESC(ept, "Intel VMX: use EPT with unrestricted guest when the CPU has them; 0 selects shadow paging");

static int vmx_probe(void)
{
	const char *why = NULL;
	u64 fc;

	if (!(cpuid_ecx(1) & (1U << 5))) {
		pr_err("kvm: this Intel CPU has no VMX (CPUID 1:ECX[5])\n");
		return -ENODEV;
	}
	/* Firmware (or Linux at boot) locks this MSR; VMXON #GPs otherwise. */
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) ||
	    !(fc & FEAT_CTL_LOCKED) ||
	    !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("kvm: VMX is disabled by the firmware "
		       "(IA32_FEATURE_CONTROL lock/enable bits); enable "
		       "virtualization in the BIOS setup\n");
		return -EOPNOTSUPP;
	}
	if (vmx_read_caps(&vmx_caps)) {
		pr_err("kvm: cannot read the VMX capability MSRs\n");
		return -EIO;
	}
	/* Without EPT or unrestricted guest: shadow paging, as SVM without NPT. */
	if (!ept || vmx_derive_config_paging(&vmx_caps, &vmx_cfg, true, &why)) {
		const char *ept_why = ept ? why : NULL;

		if (vmx_derive_config_paging(&vmx_caps, &vmx_cfg, false, &why)) {
			pr_err("kvm: VMX unusable: %s\n", why);
			return -EOPNOTSUPP;
		}
		pr_info("kvm: %s: shadow paging\n", ept_why ? ept_why :
			"EPT disabled (ept=0)");
	}
	kvm_shadow_paging = !vmx_cfg.ept;
	vmx_has_mtf = (vmx_ctl_msr(&vmx_caps, VMX_MSR_PROCBASED_CTLS) >> 32) &
		      PROC_MONITOR_TRAP_FLAG;
	return 0;
}

static void vmx_free_cpu_data(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu_data *cd = per_cpu_ptr(&vmx_cpu, cpu);

		if (cd->vmxon_region)
			free_page((unsigned long)cd->vmxon_region);
		cd->vmxon_region = NULL;
	}
}

static int vmx_setup(void)
{
	u32 rev = VMX_BASIC_REVISION(vmx_caps.basic);
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu_data *cd = per_cpu_ptr(&vmx_cpu, cpu);
		struct page *p = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);

		if (!p)
			goto out_free;
		cd->vmxon_region = page_address(p);
		/* SDM 25.11.5: the VMXON region starts with the revision id. */
		*(u32 *)cd->vmxon_region = rev;
	}
	vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!vpid_bitmap)
		goto out_free;
	__set_bit(0, vpid_bitmap);	/* VPID 0 is the host's */
	return 0;

out_free:
	vmx_free_cpu_data();
	return -ENOMEM;
}

static void vmx_unsetup(void)
{
	bitmap_free(vpid_bitmap);
	vpid_bitmap = NULL;
	vmx_free_cpu_data();
}

/* Runs on the CPU being enabled (CPU hotplug "online" callback). */
static int vmx_hardware_enable(void)
{
	struct vmx_cpu_data *cd = this_cpu_ptr(&vmx_cpu);
	u64 pa = __pa(cd->vmxon_region);
	u64 fc;
	bool fail;

	if (__read_cr4() & X86_CR4_VMXE) {
		pr_err("kvm: VMX already in use on CPU %d (another hypervisor?)\n",
		       smp_processor_id());
		return -EBUSY;
	}
	/* Each CPU has its own copy of the MSR; check this one's too. */
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) ||
	    (fc & (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) !=
	    (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("kvm: VMX disabled by the firmware on CPU %d\n",
		       smp_processor_id());
		return -EOPNOTSUPP;
	}
	/*
	 * CR0 and CR4 must honour IA32_VMX_CR{0,4}_FIXED{0,1} in VMX
	 * operation (SDM 24.8).  A 64-bit kernel has PE, PG and NE set;
	 * CR4.VMXE is the one bit to add.
	 */
	if ((read_cr0() & vmx_caps.cr0_fixed0) != vmx_caps.cr0_fixed0 ||
	    ((__read_cr4() | X86_CR4_VMXE) & ~vmx_caps.cr4_fixed1)) {
		pr_err("kvm: CPU %d's CR0/CR4 do not allow VMX operation\n",
		       smp_processor_id());
		return -EOPNOTSUPP;
	}
	cd->current_vmcs = 0;
	cr4_set_bits(X86_CR4_VMXE);
	asm volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa)
		     : "cc", "memory");
	if (fail) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_err("kvm: VMXON failed on CPU %d\n", smp_processor_id());
		return -EIO;
	}
	/* Combined mappings from before VMXON are stale (SDM 29.4.3.1). */
	invept(VMX_INVEPT_ALL_CONTEXT, 0);

	rdmsrl(MSR_STAR, cd->star);
	rdmsrl(MSR_LSTAR, cd->lstar);
	rdmsrl(MSR_CSTAR, cd->cstar);
	rdmsrl(MSR_SYSCALL_MASK, cd->sfmask);
	return 0;
}

static void vmx_hardware_disable(void)
{
	/*
	 * No VMCS is active outside KVM_RUN, and a thread inside it is
	 * scheduled out (vcpu_put: VMCLEAR) before its CPU goes offline.
	 */
	this_cpu_ptr(&vmx_cpu)->current_vmcs = 0;
	asm volatile("vmxoff" : : : "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
}

/* ---- vCPU state ------------------------------------------------------- */

/* vmx_seg_index assumes the common numbering; keep them in step. */
static_assert(VCPU_SREG_ES == 0 && VCPU_SREG_CS == 1 && VCPU_SREG_SS == 2 &&
	      VCPU_SREG_DS == 3 && VCPU_SREG_FS == 4 && VCPU_SREG_GS == 5 &&
	      VCPU_SREG_TR == VMX_COMMON_SREG_TR &&
	      VCPU_SREG_LDTR == VMX_COMMON_SREG_LDTR);

static void vmx_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg)
{
	const struct vmx_segment *s = &to_vmx(vcpu)->g.seg[vmx_seg_index(seg)];
	struct vmx_seg_attrs a;

	vmx_ar_unpack(s->ar, &a);
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a.type;
	var->s = a.s;
	var->dpl = a.dpl;
	var->present = a.unusable ? 0 : a.present;
	var->avl = a.avl;
	var->l = a.l;
	var->db = a.db;
	var->g = a.g;
	var->unusable = a.unusable;
	var->padding = 0;
}

static void vmx_set_segment(struct kvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmx_segment *s = &vmx->g.seg[vmx_seg_index(seg)];
	struct vmx_seg_attrs a = {
		.type = var->type, .s = var->s, .dpl = var->dpl,
		.present = var->present, .avl = var->avl, .l = var->l,
		.db = var->db, .g = var->g,
		.unusable = var->unusable || !var->present,
	};

	/* TR is always usable for VM entry (SDM 27.3.1.2). */
	if (seg == VCPU_SREG_TR)
		a.unusable = 0;
	/*
	 * A loaded code or data segment has its accessed bit set: the CPU
	 * sets it when loading the descriptor, and VM entry requires it.
	 */
	if (!a.unusable && a.s)
		a.type |= 1;
	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	s->ar = vmx_ar_pack(&a);
	vmx->guest_dirty = true;
}

static void vmx_get_dtable(struct kvm_vcpu *vcpu, struct kvm_dtable *dt,
			   int which)
{
	struct vmx_guest_state *g = &to_vmx(vcpu)->g;

	memset(dt, 0, sizeof(*dt));
	dt->base = which == VCPU_DTABLE_GDT ? g->gdtr_base : g->idtr_base;
	dt->limit = which == VCPU_DTABLE_GDT ? g->gdtr_limit : g->idtr_limit;
}

static void vmx_set_dtable(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt,
			   int which)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (which == VCPU_DTABLE_GDT) {
		vmx->g.gdtr_base = dt->base;
		vmx->g.gdtr_limit = dt->limit;
	} else {
		vmx->g.idtr_base = dt->base;
		vmx->g.idtr_limit = dt->limit;
	}
	vmx->guest_dirty = true;
}

static unsigned long vmx_get_cr(struct kvm_vcpu *vcpu, int cr)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	switch (cr) {
	case 0:
		return vmx_cr_guest_view(vmx->g.cr0, vmx->g.cr0_shadow,
					 vmx->ctl.cr0_mask);
	case 2:
		return vmx->cr2;
	case 3:
		return kvm_shadow_paging ? vmx->guest_cr3 : vmx->g.cr3;
	case 4:
		return vmx_cr_guest_view(vmx->g.cr4, vmx->g.cr4_shadow,
					 vmx->ctl.cr4_mask);
	case 8:
		return vmx->vapic ? READ_ONCE(vmx->vapic[VMX_VTPR]) >> 4 :
				    vmx->cr8;
	default:
		return 0;
	}
}

/* Turns the monitor trap flag on or off for the next entry. */
static void vmx_set_mtf(struct vcpu_vmx *vmx, bool on)
{
	u32 proc = on ? vmx->ctl.proc | PROC_MONITOR_TRAP_FLAG :
			vmx->ctl.proc & ~PROC_MONITOR_TRAP_FLAG;

	if (proc != vmx->ctl.proc) {
		vmx->ctl.proc = proc;
		vmx->controls_dirty = true;
	}
}

/* Real mode that the CPU must run as vm86 (no unrestricted guest). */
static bool vmx_in_rmode(struct vcpu_vmx *vmx)
{
	return !vmx_cfg.unrestricted && !(vmx->g.cr0_shadow & X86_CR0_PE);
}

/*
 * PAE paging under EPT takes its four PDPTEs from the VMCS at entry
 * (SDM 27.3.2.4), not from memory: whenever our code changes CR0/CR3/CR4
 * into or within PAE paging, fetch them as MOV CR3 would.  The guest's
 * own MOV CR3 loads them in hardware, and exits save them (28.3.4).
 */
static void vmx_load_pdptes(struct vcpu_vmx *vmx)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	u64 pdpte[4];

	/* Without EPT entry loads them from the (shadow) CR3 itself. */
	if (kvm_shadow_paging)
		return;
	if (!(vmx_get_cr(vcpu, 0) & X86_CR0_PG) ||
	    !(vmx_get_cr(vcpu, 4) & X86_CR4_PAE) || (vcpu->efer & EFER_LMA))
		return;
	if (kvm_read_guest(vcpu->kvm, vmx->g.cr3 & 0xffffffe0UL, pdpte,
			   sizeof(pdpte)))
		memset(pdpte, 0, sizeof(pdpte));
	memcpy(vmx->g.pdpte, pdpte, sizeof(pdpte));
	vmx->guest_dirty = true;
}

/*
 * Shadow paging: CR0, CR4 and EFER as the CPU runs them follow the
 * guest's values (vmx_shadow_*_hw); IA-32e mode guest follows LMA.
 */
static void vmx_shadow_sync_hw(struct vcpu_vmx *vmx)
{
	struct vmx_guest_state *g = &vmx->g;
	u64 efer = vmx->vcpu.efer;

	g->cr0 = vmx_shadow_cr0_hw(&vmx_cfg, g->cr0_shadow);
	g->cr4 = vmx_shadow_cr4_hw(&vmx_cfg, g->cr4_shadow,
				   g->cr0_shadow & X86_CR0_PG);
	g->efer = vmx_shadow_efer_hw(efer);
	if (efer & EFER_LMA)
		vmx->ctl.entry |= ENTRY_IA32E_MODE_GUEST;
	else
		vmx->ctl.entry &= ~ENTRY_IA32E_MODE_GUEST;
	vmx->guest_dirty = vmx->controls_dirty = true;
}

static void vmx_set_cr(struct kvm_vcpu *vcpu, int cr, unsigned long val)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (kvm_shadow_paging && (cr == 0 || cr == 3 || cr == 4)) {
		/* The root comes from kvm_mmu_reload (load_mmu_root). */
		if (cr == 0)
			vmx->g.cr0_shadow = val;
		else if (cr == 3)
			vmx->guest_cr3 = val;
		else
			vmx->g.cr4_shadow = val;
		vmx_shadow_sync_hw(vmx);
		return;
	}
	switch (cr) {
	case 0:
		vmx->g.cr0_shadow = val;
		vmx->g.cr0 = vmx_cr0_hw(&vmx_cfg, val);
		vmx_load_pdptes(vmx);
		break;
	case 2:
		vmx->cr2 = val;
		return;
	case 3:
		vmx->g.cr3 = val;
		vmx_load_pdptes(vmx);
		break;
	case 4:
		vmx->g.cr4_shadow = val;
		vmx->g.cr4 = vmx_cr4_hw(&vmx_cfg, val);
		vmx_load_pdptes(vmx);
		break;
	case 8:
		if (vmx->vapic)
			WRITE_ONCE(vmx->vapic[VMX_VTPR], (val & 0xf) << 4);
		else
			vmx->cr8 = val & 0xf;
		return;
	default:
		return;
	}
	vmx->guest_dirty = true;
}

static void vmx_set_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (kvm_shadow_paging) {
		/* Callers set vcpu->efer first. */
		vmx_shadow_sync_hw(vmx);
		return;
	}
	vmx->g.efer = efer;
	/* VM entry requires IA-32e mode guest == EFER.LMA (27.3.1.1). */
	if (efer & EFER_LMA)
		vmx->ctl.entry |= ENTRY_IA32E_MODE_GUEST;
	else
		vmx->ctl.entry &= ~ENTRY_IA32E_MODE_GUEST;
	vmx->guest_dirty = vmx->controls_dirty = true;
}

static unsigned long vmx_get_dr(struct kvm_vcpu *vcpu, int dr)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	return dr == 6 ? vmx->dr6 : vmx->g.dr7;
}

static void vmx_set_dr(struct kvm_vcpu *vcpu, int dr, unsigned long val)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (dr == 6) {
		vmx->dr6 = val;
	} else {
		vmx->g.dr7 = val;
		vmx->guest_dirty = true;
	}
}

/* The DPL of SS is the CPL (SDM 25.4.1). */
static int vmx_get_cpl(struct kvm_vcpu *vcpu)
{
	return (to_vmx(vcpu)->g.seg[VMX_SEG_SS].ar & VMX_AR_DPL_MASK) >>
	       VMX_AR_DPL_SHIFT;
}

static unsigned long vmx_get_rflags(struct kvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->g.rflags;
}

static void vmx_set_rflags(struct kvm_vcpu *vcpu, unsigned long rflags)
{
	to_vmx(vcpu)->g.rflags = rflags;
}

static bool vmx_get_interrupt_shadow(struct kvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->g.interruptibility &
	       (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
}

static void vmx_set_interrupt_shadow(struct kvm_vcpu *vcpu, bool shadow)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 *s = &vmx->g.interruptibility;

	*s &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	/* Blocking by STI is only valid with IF=1 (27.3.1.5). */
	if (shadow)
		*s |= (vmx->g.rflags & X86_EFLAGS_IF) ? INTERRUPTIBILITY_STI :
							INTERRUPTIBILITY_MOV_SS;
}

static u32 vmx_get_injected_event(struct kvm_vcpu *vcpu, u32 *error_code)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	*error_code = vmx->event_error;
	return vmx->event_info;
}

/*
 * VM-entry interruption information has the common encoding (x86.h) for
 * the types the common code uses; vcpu_run converts at entry, when the
 * guest's mode (real mode: no error code) is final.
 */
static void vmx_set_injected_event(struct kvm_vcpu *vcpu, u32 info,
				   u32 error_code)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	vmx->event_info = info;
	vmx->event_error = error_code;
}

static void vmx_queue_exception(struct kvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	vmx_set_injected_event(vcpu, vector | KVM_EVENT_TYPE_EXCEPT |
			       KVM_EVENT_VALID |
			       (has_error ? KVM_EVENT_HAS_ERROR : 0),
			       error_code);
}

/*
 * An interrupt of priority class @prio waits only for the guest's TPR:
 * exit when the guest lowers VTPR[7:4] below it (TPR-below-threshold,
 * SDM vol. 3C 30.1.2), as upstream's update_cr8_intercept does.  Without
 * the TPR shadow every CR8 write exits anyway.
 */
static void vmx_enable_tpr_window(struct kvm_vcpu *vcpu, int prio)
{
	to_vmx(vcpu)->tpr_window = prio;
}

static void vmx_enable_irq_window(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	vmx->ctl.proc |= PROC_INTR_WINDOW_EXITING;
	vmx->controls_dirty = true;
}

/*
 * NMI blocking.  The common code masks NMIs when it injects one and asks
 * for an exit at the handler's IRET.  VMX cannot intercept IRET, but with
 * virtual NMIs the CPU keeps the guest's NMI blocking itself (set by the
 * injection, cleared by IRET; interruptibility bit 3), and NMI-window
 * exiting exits as soon as it is clear.  So "on" turns on NMI-window
 * exiting and makes the hardware blocking match (except when an NMI is
 * about to be injected: that sets it, and entry refuses it set);
 * "off" clears both.  The NMI-window exit ends the masking directly.
 */
static void vmx_set_iret_intercept(struct kvm_vcpu *vcpu, bool on)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool injecting_nmi = (vmx->event_info & KVM_EVENT_VALID) &&
		(vmx->event_info & KVM_EVENT_TYPE_MASK) == KVM_EVENT_TYPE_NMI;

	if (on) {
		vmx->ctl.proc |= PROC_NMI_WINDOW_EXITING;
		if (!injecting_nmi)
			vmx->g.interruptibility |= INTERRUPTIBILITY_NMI;
	} else {
		vmx->ctl.proc &= ~PROC_NMI_WINDOW_EXITING;
		vmx->g.interruptibility &= ~INTERRUPTIBILITY_NMI;
	}
	vmx->controls_dirty = vmx->guest_dirty = true;
}

static int vmx_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	switch (index) {
	case MSR_STAR:		*data = vmx->star; break;
	case MSR_LSTAR:		*data = vmx->lstar; break;
	case MSR_CSTAR:		*data = vmx->cstar; break;
	case MSR_SYSCALL_MASK:	*data = vmx->sfmask; break;
	case MSR_KERNEL_GS_BASE: *data = vmx->kernel_gs_base; break;
	case MSR_FS_BASE:	*data = vmx->g.seg[VMX_SEG_FS].base; break;
	case MSR_GS_BASE:	*data = vmx->g.seg[VMX_SEG_GS].base; break;
	case MSR_IA32_SYSENTER_CS:  *data = vmx->g.sysenter_cs; break;
	case MSR_IA32_SYSENTER_ESP: *data = vmx->g.sysenter_esp; break;
	case MSR_IA32_SYSENTER_EIP: *data = vmx->g.sysenter_eip; break;
	case MSR_IA32_CR_PAT:	*data = vmx->g.pat; break;
	case MSR_IA32_TSC:	*data = rdtsc() + vmx->ctl.tsc_offset; break;
	default:
		return 1;
	}
	return 0;
}

static int vmx_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	switch (index) {
	case MSR_STAR:		vmx->star = data; return 0;
	case MSR_SYSCALL_MASK:	vmx->sfmask = data; return 0;
	case MSR_IA32_SYSENTER_CS:
		vmx->g.sysenter_cs = (u32)data;
		break;
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
		case MSR_LSTAR:	vmx->lstar = data; return 0;
		case MSR_CSTAR:	vmx->cstar = data; return 0;
		case MSR_KERNEL_GS_BASE: vmx->kernel_gs_base = data; return 0;
		case MSR_FS_BASE: vmx->g.seg[VMX_SEG_FS].base = data; break;
		case MSR_GS_BASE: vmx->g.seg[VMX_SEG_GS].base = data; break;
		case MSR_IA32_SYSENTER_ESP: vmx->g.sysenter_esp = data; break;
		default:	vmx->g.sysenter_eip = data; break;
		}
		break;
	case MSR_IA32_CR_PAT:
		if (!kvm_pat_valid(data))
			return 1;
		vmx->g.pat = data;
		break;
	case MSR_IA32_TSC:
		vmx->ctl.tsc_offset = data - rdtsc();
		vmx->controls_dirty = true;
		return 0;
	default:
		return 1;
	}
	vmx->guest_dirty = true;
	return 0;
}

static void vmx_after_set_cpuid(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool invpcid = kvm_guest_cpuid_has(vcpu, 7, 0, CPUID_EBX, 10);

	vmx->ctl.proc2 = vmx_proc2_for_guest(&vmx_cfg, invpcid);
	vmx->cpuid_set = true;
	vmx->controls_dirty = true;
}

static void vmx_load_mmu_root(struct kvm_vcpu *vcpu, phys_addr_t root)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (kvm_shadow_paging) {
		/* The shadow root is the CR3 the CPU walks. */
		vmx->g.cr3 = root;
		vmx->guest_dirty = true;
	} else {
		vmx->ctl.eptp = vmx_eptp(root, vmx_cfg.ept_levels);
		vmx->controls_dirty = true;
	}
	vmx->need_flush = true;
}

static void vmx_flush_guest_tlb(struct kvm_vcpu *vcpu)
{
	/* Done in vcpu_run, on the CPU that enters the guest. */
	to_vmx(vcpu)->need_flush = true;
}

static void vmx_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmx_entry_controls *c = &vmx->ctl;
	u16 vpid = c->vpid;
	/* INVPCID follows the guest's CPUID (none yet: off), not reset. */
	u32 proc2 = vmx->cpuid_set ? c->proc2 :
		    vmx_proc2_for_guest(&vmx_cfg, false);

	vmx_reset_guest_state(&vmx->g, &vmx_cfg);
	memset(c, 0, sizeof(*c));
	c->pin = vmx_cfg.pin;
	c->proc = vmx_proc_for_vcpu(&vmx_cfg, vmx->vapic);
	if (vmx->vapic)
		c->vapic_addr = __pa(vmx->vapic);
	c->proc2 = proc2;
	c->exit = vmx_cfg.exit;
	c->entry = vmx_cfg.entry;
	c->exception_bitmap = vmx_cfg.exception_bitmap;
	c->cr0_mask = vmx_cfg.cr0_host_owned;
	/* Every CR4 write exits: kvm_emulate_cr4_write checks CPUID. */
	c->cr4_mask = ~0UL;
	if (!kvm_shadow_paging)
		c->eptp = vmx_eptp(__pa(vcpu->kvm->tdp.root),
				   vmx_cfg.ept_levels);
	c->vpid = vpid;
	/* Guest TSC counts from zero at reset. */
	c->tsc_offset = -rdtsc();

	vmx->event_info = vmx->event_error = 0;
	vmx->cr2 = 0;
	vmx->dr6 = DR6_RESERVED;
	vmx->cr8 = 0;
	if (vmx->vapic)
		WRITE_ONCE(vmx->vapic[VMX_VTPR], 0);
	vmx->tpr_window = 0;
	vmx->star = vmx->lstar = vmx->cstar = vmx->sfmask = 0;
	vmx->kernel_gs_base = 0;
	if (kvm_shadow_paging) {
		/* vcpu->efer is already 0; the root comes at the next entry. */
		vmx->guest_cr3 = 0;
		vmx_shadow_sync_hw(vmx);
	}
	vmx->guest_dirty = vmx->controls_dirty = true;
	vmx->need_flush = true;
}

static int vmx_alloc_vpid(void)
{
	unsigned long v;

	if (!vmx_cfg.vpid)
		return 0;
	spin_lock(&vpid_lock);
	v = find_first_zero_bit(vpid_bitmap, VMX_NR_VPIDS);
	if (v < VMX_NR_VPIDS)
		__set_bit(v, vpid_bitmap);
	else
		v = 0;
	spin_unlock(&vpid_lock);
	return v;
}

static void vmx_free_vpid(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vpid_lock);
	__clear_bit(vpid, vpid_bitmap);
	spin_unlock(&vpid_lock);
}

static int vmx_vcpu_create(struct kvm_vcpu **out, struct kvm *kvm)
{
	struct vcpu_vmx *vmx;
	struct page *page;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(vmx);
		return -ENOMEM;
	}
	vmx->vmcs = page_address(page);
	vmx->vmcs_pa = page_to_phys(page);
	/*
	 * The irqchip exists before the first vCPU or never (KVM_CREATE_
	 * IRQCHIP refuses after one), so this is the vCPU's final word.
	 */
	if (vmx_cfg.tpr_shadow && irqchip_in_kernel(kvm)) {
		vmx->vapic = (u8 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!vmx->vapic) {
			free_page((unsigned long)vmx->vmcs);
			kfree(vmx);
			return -ENOMEM;
		}
	}
	/* SDM 25.2: revision identifier in bits 30:0, bit 31 (shadow) 0. */
	*(u32 *)vmx->vmcs = VMX_BASIC_REVISION(vmx_caps.basic);
	vmx->last_cpu = -1;
	vmx_vmcs_state_init(&vmx->vmcs_state);
	/*
	 * Out of VPIDs: run with VPID disabled for this vCPU, which flushes
	 * VPID 0 at every entry and exit (SDM 29.4.3.3) -- slow but right.
	 */
	vmx->ctl.vpid = vmx_alloc_vpid();
	vmx->vcpu.kvm = kvm;
	*out = &vmx->vcpu;
	return 0;
}

static void vmx_vcpu_free(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	/* KVM_RUN's vcpu_put cleared it: never active outside KVM_RUN. */
	WARN_ON_ONCE(vmx->vmcs_state.active_cpu != -1);
	vmx_free_vpid(vmx->ctl.vpid);
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->vapic);
	kfree(vmx);
}

/* ---- Guest entry ------------------------------------------------------ */

/* Fields that never change for a VMCS. */
static void vmx_write_constant_fields(void)
{
	u64 v;

	vmcs_write(VMCS_HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(VMCS_HOST_SS_SELECTOR, __KERNEL_DS);
	/* Null DS/ES/FS/GS; vcpu_run reloads the host's own selectors. */
	vmcs_write(VMCS_HOST_DS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_ES_SELECTOR, 0);
	vmcs_write(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_GS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(VMCS_HOST_RIP, (unsigned long)vmx_vmexit);
	rdmsrl(MSR_EFER, v);
	vmcs_write(VMCS_HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(VMCS_HOST_IA32_PAT, v);
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	/*
	 * PAUSE-loop exiting (SDM vol. 3C, "Controls for PAUSE-Loop
	 * Exiting"): PAUSEs at most PLE_GAP TSC cycles apart form a loop,
	 * which exits once it has spun for PLE_WINDOW cycles.
	 */
	if (vmx_cfg.ple) {
		vmcs_write(VMCS_PLE_GAP, VMX_PLE_GAP);
		vmcs_write(VMCS_PLE_WINDOW, VMX_PLE_WINDOW);
	}
}

/* Host fields that differ between CPUs. */
static void vmx_write_cpu_host_fields(void)
{
	struct desc_ptr gdt, idt;
	struct ldttss_desc *tss;
	u64 v;

	native_store_gdt(&gdt);
	store_idt(&idt);
	tss = (struct ldttss_desc *)(gdt.address + GDT_ENTRY_TSS * 8);
	vmcs_write(VMCS_HOST_TR_BASE,
		   get_desc_base((struct desc_struct *)tss) |
		   ((u64)tss->base3 << 32));
	vmcs_write(VMCS_HOST_GDTR_BASE, gdt.address);
	vmcs_write(VMCS_HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(VMCS_HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(VMCS_HOST_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(VMCS_HOST_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(VMCS_HOST_SYSENTER_EIP, v);
}

/* The pending event as VM-entry interruption information. */
static void vmx_prepare_event(struct vcpu_vmx *vmx)
{
	struct vmx_entry_controls *c = &vmx->ctl;
	bool pe = vmx_get_cr(&vmx->vcpu, 0) & X86_CR0_PE;

	c->entry_intr_info = vmx_entry_info_from_event(vmx->event_info, pe,
							&c->entry_insn_len);
	c->entry_error = vmx->event_error;
	/* Injecting an NMI sets virtual-NMI blocking; entry wants it clear. */
	if ((c->entry_intr_info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI &&
	    (c->entry_intr_info & INTR_INFO_VALID))
		vmx->g.interruptibility &= ~INTERRUPTIBILITY_NMI;
	vmcs_write(VMCS_ENTRY_INTR_INFO, c->entry_intr_info);
	vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, c->entry_error);
	vmcs_write(VMCS_ENTRY_INSN_LEN, c->entry_insn_len);
}

static void vmx_read_exit(struct vcpu_vmx *vmx)
{
	vmx->exit_reason = vmcs_read(VMCS_EXIT_REASON);
	vmx->exit_qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
	vmx->exit_intr_info = vmcs_read(VMCS_EXIT_INTR_INFO);
	vmx->exit_intr_error = vmcs_read(VMCS_EXIT_INTR_ERROR);
	vmx->idt_info = vmcs_read(VMCS_IDT_VECTORING_INFO);
	vmx->idt_error = vmcs_read(VMCS_IDT_VECTORING_ERROR);
	vmx->insn_len = vmcs_read(VMCS_EXIT_INSN_LEN);
	vmx->insn_info = vmcs_read(VMCS_EXIT_INSN_INFO);
	vmx->guest_phys = vmcs_read(VMCS_GUEST_PHYSICAL_ADDR);
}

static void vmx_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmx_guest_state *g = &vmx->g;
	struct vmx_cpu_data *cd = this_cpu_ptr(&vmx_cpu);
	int cpu = smp_processor_id();
	u16 host_ds, host_es, host_fs, host_gs;
	u64 host_fs_base, host_kgs_base, host_debugctl;
	bool resume, load;
	int failed;

	vmx->entry_failed = false;
	vmx->rmode = vmx_in_rmode(vmx);
	/* A new VMCS region is initialized (clear) by VMCLEAR (25.11.3). */
	if (!vmx->vmcs_initialized && vmclear(vmx->vmcs_pa))
		goto fail_vmptrld;
	resume = vmx_vmcs_before_entry(&vmx->vmcs_state, cpu,
				       cd->current_vmcs == vmx->vmcs_pa, &load);
	if (load) {
		if (vmptrld(vmx->vmcs_pa)) {
			vmx_vmcs_state_init(&vmx->vmcs_state);
			cd->current_vmcs = 0;
			goto fail_vmptrld;
		}
		cd->current_vmcs = vmx->vmcs_pa;
	}
	if (!vmx->vmcs_initialized) {
		vmx_write_constant_fields();
		vmx->vmcs_initialized = true;
		vmx->guest_dirty = vmx->controls_dirty = true;
	}
	if (cpu != vmx->last_cpu) {
		vmx_write_cpu_host_fields();
		vmx->last_cpu = cpu;
		/* Mappings tagged with our VPID/EPTP here may be stale. */
		vmx->need_flush = true;
	}
	/* Host state that may differ between entries (task, CR4 bits). */
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, __read_cr3());
	vmcs_write(VMCS_HOST_CR4, __read_cr4());
	rdmsrl(MSR_FS_BASE, host_fs_base);
	vmcs_write(VMCS_HOST_FS_BASE, host_fs_base);

	g->rip = vcpu->regs[VCPU_REGS_RIP];
	g->rsp = vcpu->regs[VCPU_REGS_RSP];
	vmx_prepare_event(vmx);
	{
		/* In vm86 every exception exits (vmx_rmode_exception). */
		u32 eb = vmx->rmode ? ~0U : vmx_cfg.exception_bitmap;
		u32 stepped = 0;

		if (vmx->ctl.exception_bitmap != eb) {
			vmx->ctl.exception_bitmap = eb;
			vmx->controls_dirty = true;
		}
		/* prepare_guest_entry checked that it fits. */
		if (vmx->rmode)
			vmx_rmode_hw_state(g, &vmx->rm_put, &stepped);
		vmx_set_mtf(vmx, stepped);
	}
	if (vmx->vapic) {
		/*
		 * The threshold asked for before this entry, or 0.  Entry
		 * needs it <= VTPR[7:4] (27.2.1.1); the common code asks only
		 * for a class the TPR masks, the min() keeps it so anyway.
		 */
		u8 vtpr = READ_ONCE(vmx->vapic[VMX_VTPR]);
		u32 thr = min_t(u32, vmx->tpr_window, vtpr >> 4);

		vmx->tpr_window = 0;
		vmx->ctl.vtpr = vtpr;
		if (thr != vmx->ctl.tpr_threshold) {
			vmx->ctl.tpr_threshold = thr;
			if (!vmx->controls_dirty)
				vmcs_write(VMCS_TPR_THRESHOLD, thr);
		}
	}
	if (vmx->controls_dirty) {
		vmx_store_entry_controls(&vmcs_hw, &vmx->ctl);
		vmx->controls_dirty = false;
	}
	if (vmx->rmode) {
		vmx_store_guest_state(&vmcs_hw, &vmx->rm_put, vmx_cfg.ept);
		vmx->pm_fixed = 0;
		/* The next entry out of real mode stores g afresh. */
		vmx->guest_dirty = true;
	} else if (vmx->guest_dirty) {
		vmx->pm_fixed = vmx_cfg.unrestricted ? 0 :
			vmx_pmode_hw_state(g, &vmx->pm_put, vmx->pm_guest_ar);
		vmx_store_guest_state(&vmcs_hw, vmx->pm_fixed ? &vmx->pm_put : g,
				      vmx_cfg.ept);
		vmx->guest_dirty = false;
	} else {
		vmcs_write(VMCS_GUEST_RIP, g->rip);
		vmcs_write(VMCS_GUEST_RSP, g->rsp);
		vmcs_write(VMCS_GUEST_RFLAGS, g->rflags);
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, g->interruptibility);
	}
	if (vmx->need_flush) {
		/*
		 * INVEPT single-context drops guest-physical and combined
		 * mappings for this EPTP under every VPID (SDM 29.4.3.1),
		 * which covers both a changed EPT and a guest TLB flush.
		 * Without EPT the guest's linear mappings are tagged with its
		 * VPID: INVVPID drops them (without VPID every entry and
		 * exit flushes, 29.4.3.3).
		 */
		if (vmx_cfg.ept && vmx_cfg.invept_single)
			invept(VMX_INVEPT_SINGLE_CONTEXT, vmx->ctl.eptp);
		else if (vmx_cfg.ept)
			invept(VMX_INVEPT_ALL_CONTEXT, 0);
		else if ((vmx->ctl.proc2 & PROC2_VPID) && vmx_cfg.invvpid_single)
			invvpid(VMX_INVVPID_SINGLE_CONTEXT, vmx->ctl.vpid);
		else if (vmx->ctl.proc2 & PROC2_VPID)
			invvpid(VMX_INVVPID_ALL_CONTEXT, 0);
		vmx->need_flush = false;
	}

	/* State VMX leaves alone: segment selectors, syscall MSRs, CR2, DR6. */
	savesegment(ds, host_ds);
	savesegment(es, host_es);
	savesegment(fs, host_fs);
	savesegment(gs, host_gs);
	rdmsrl(MSR_KERNEL_GS_BASE, host_kgs_base);
	rdmsrl(MSR_IA32_DEBUGCTLMSR, host_debugctl);
	wrmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	if (vmx->star != cd->star)
		wrmsrl(MSR_STAR, vmx->star);
	if (vmx->lstar != cd->lstar)
		wrmsrl(MSR_LSTAR, vmx->lstar);
	if (vmx->cstar != cd->cstar)
		wrmsrl(MSR_CSTAR, vmx->cstar);
	if (vmx->sfmask != cd->sfmask)
		wrmsrl(MSR_SYSCALL_MASK, vmx->sfmask);
	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);
	set_debugreg(vmx->dr6, 6);

	failed = vmx_vmenter(vcpu->regs, resume);

	get_debugreg(vmx->dr6, 6);
	set_debugreg(DR6_RESERVED, 6);
	vmx->cr2 = native_read_cr2();
	if (vmx->star != cd->star)
		wrmsrl(MSR_STAR, cd->star);
	if (vmx->lstar != cd->lstar)
		wrmsrl(MSR_LSTAR, cd->lstar);
	if (vmx->cstar != cd->cstar)
		wrmsrl(MSR_CSTAR, cd->cstar);
	if (vmx->sfmask != cd->sfmask)
		wrmsrl(MSR_SYSCALL_MASK, cd->sfmask);
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	/* A VM exit clears IA32_DEBUGCTL (SDM 28.5.1). */
	if (host_debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, host_debugctl);
	if (host_ds | host_es) {
		loadsegment(ds, host_ds);
		loadsegment(es, host_es);
	}
	if (host_fs) {
		loadsegment(fs, host_fs);
		wrmsrl(MSR_FS_BASE, host_fs_base);
	}
	if (host_gs)
		load_gs_index(host_gs);
	wrmsrl(MSR_KERNEL_GS_BASE, host_kgs_base);
	/* The exit set the TR limit to 0x67: I/O bitmaps need it restored. */
	invalidate_tss_limit();

	if (failed) {
		/* VMfailValid leaves a reason; VMfailInvalid none (no VMCS). */
		vmx->entry_failed = true;
		vmx->insn_error = vmcs_read(VMCS_INSN_ERROR);
	} else {
		vmx_read_exit(vmx);
		/* Give the host its NMI, or its machine check, right away. */
		if (EXIT_REASON_BASIC(vmx->exit_reason) ==
		    EXIT_REASON_EXCEPTION_NMI &&
		    (vmx->exit_intr_info & INTR_INFO_VALID)) {
			u32 type = vmx->exit_intr_info & INTR_INFO_TYPE_MASK;
			u32 vec = vmx->exit_intr_info & INTR_INFO_VECTOR_MASK;

			if (type == INTR_TYPE_NMI)
				vmx_call_nmi_handler(asm_exc_nmi_noist);
			else if (type == INTR_TYPE_HW_EXCEPTION && vec == 18)
				do_machine_check(&(struct pt_regs){
					.cs = 3, .flags = X86_EFLAGS_IF });
		}
		if (vmx->rmode) {
			vmx_load_guest_state(&vmcs_hw, &vmx->rm_out,
					     vmx_cfg.ept);
			vmx_rmode_merge(g, &vmx->rm_put, &vmx->rm_out);
		} else {
			vmx_load_guest_state(&vmcs_hw, g, vmx_cfg.ept);
			if (vmx->pm_fixed)
				vmx->pm_fixed = vmx_pmode_merge(g, &vmx->pm_put,
						vmx->pm_guest_ar, vmx->pm_fixed);
		}
		vcpu->regs[VCPU_REGS_RIP] = g->rip;
		vcpu->regs[VCPU_REGS_RSP] = g->rsp;
		/*
		 * With "save IA32_EFER" the field has the guest's LMA (with
		 * shadow paging CR0 writes exit and vcpu->efer is ours).
		 */
		if (!kvm_shadow_paging)
			vcpu->efer = g->efer;
		/*
		 * A successful entry delivered the event (an exit during its
		 * delivery reports it in IDT-vectoring information), and
		 * every exit clears the field's valid bit (SDM 28.2).
		 */
		if (!(vmx->exit_reason & EXIT_REASON_ENTRY_FAILURE)) {
			vmx->ctl.entry_intr_info = 0;
			vmx->event_info = 0;
		}
	}
	if (vmx_vmcs_after_entry(&vmx->vmcs_state, !failed &&
				 !(vmx->exit_reason & EXIT_REASON_ENTRY_FAILURE))) {
		vmclear(vmx->vmcs_pa);
		cd->current_vmcs = 0;
	}
	return;

fail_vmptrld:
	vmx->entry_failed = true;
	vmx->insn_error = 0;
}

/* The thread leaves this CPU (preempt notifier or end of KVM_RUN). */
static void vmx_vcpu_put(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmx_cpu_data *cd = this_cpu_ptr(&vmx_cpu);
	int cpu = smp_processor_id();

	WARN_ON_ONCE(vmx->vmcs_state.active_cpu != -1 &&
		     vmx->vmcs_state.active_cpu != cpu);
	if (vmx_vmcs_put(&vmx->vmcs_state, cpu)) {
		vmclear(vmx->vmcs_pa);
		if (cd->current_vmcs == vmx->vmcs_pa)
			cd->current_vmcs = 0;
	}
}

/* ---- Exit handling ------------------------------------------------------ */

static unsigned long vmx_next_rip(struct vcpu_vmx *vmx)
{
	return vmx->vcpu.regs[VCPU_REGS_RIP] + vmx->insn_len;
}

static void vmx_skip_insn(struct vcpu_vmx *vmx)
{
	vmx->vcpu.regs[VCPU_REGS_RIP] = vmx_next_rip(vmx);
}

static int vmx_handle_io(struct vcpu_vmx *vmx)
{
	struct vmx_io_exit io;

	vmx_decode_io(vmx->exit_qual, vmx->insn_info, vmx_cfg.ins_outs_info,
		      &io);
	if (io.string) {
		struct kvm_string_pio p = {
			.in = io.in,
			.rep = io.rep,
			.size = io.size,
			.addr_size = io.addr_size,
			.seg = io.seg,
			.port = io.port,
			.next_rip = vmx_next_rip(vmx),
		};

		return kvm_emulate_string_pio(&vmx->vcpu, &p);
	}
	return kvm_emulate_pio(&vmx->vcpu, io.in, io.size, io.port,
			       vmx_next_rip(vmx));
}

static bool vmx_in_64bit_mode(struct vcpu_vmx *vmx)
{
	return (vmx->vcpu.efer & EFER_LMA) &&
	       (vmx->g.seg[VMX_SEG_CS].ar & VMX_AR_L);
}

/* A CR0 write that exited (PG, or a host-owned bit differing). */
static int vmx_write_guest_cr0(struct vcpu_vmx *vmx, u64 val)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	u64 old = vmx_get_cr(vcpu, 0);
	u64 efer = vcpu->efer;

	if (vmx_get_cpl(vcpu) ||
	    vmx_cr0_write(old, val, vmx_get_cr(vcpu, 4),
			  vmx->g.seg[VMX_SEG_CS].ar & VMX_AR_L, &efer)) {
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	if (efer != vcpu->efer) {
		vcpu->efer = efer;
		vmx_set_efer(vcpu, efer);
	}
	vmx_set_cr(vcpu, 0, val);
	/* Turning paging on or off flushes the TLB (SDM vol. 3A 4.10.4.1). */
	if ((old ^ val) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
	vmx_skip_insn(vmx);
	return 1;
}

/*
 * Shadow paging: a guest write to CR0 or CR3 through the common rules
 * (kvm_set_cr0/kvm_set_cr3 switch EFER.LMA and the shadow roots).
 */
static int vmx_shadow_write_cr(struct vcpu_vmx *vmx, int cr, u64 val)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;

	if (cr == 0 ? kvm_set_cr0(vcpu, val) : kvm_set_cr3(vcpu, val)) {
		kvm_queue_gp(vcpu, 0);
		return 1;
	}
	vmx_skip_insn(vmx);
	return 1;
}

static int vmx_handle_cr(struct vcpu_vmx *vmx)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	struct vmx_cr_exit cr;
	unsigned long val;

	vmx_decode_cr(vmx->exit_qual, &cr);
	val = vcpu->regs[cr.gpr];
	if (!vmx_in_64bit_mode(vmx))
		val = (u32)val;

	if (kvm_shadow_paging) {
		u64 cr0 = vmx_get_cr(vcpu, 0);

		switch (cr.type) {
		case CR_QUAL_TYPE_MOV_TO_CR:
			if (cr.cr == 0 || cr.cr == 3)
				return vmx_shadow_write_cr(vmx, cr.cr, val);
			break;
		case CR_QUAL_TYPE_CLTS:
			return vmx_shadow_write_cr(vmx, 0, cr0 & ~X86_CR0_TS);
		case CR_QUAL_TYPE_LMSW:
			/* LMSW loads PE, MP, EM, TS and cannot clear PE. */
			return vmx_shadow_write_cr(vmx, 0, (cr0 & ~0xeULL) |
						   (cr.lmsw_data & 0xf));
		}
	}

	switch (cr.type) {
	case CR_QUAL_TYPE_MOV_TO_CR:
		switch (cr.cr) {
		case 0:
			return vmx_write_guest_cr0(vmx, val);
		case 3:
			/* Only without TRUE controls (CR3-load exiting forced). */
			vmx_set_cr(vcpu, 3, val);
			set_bit(KVM_REQ_TLB_FLUSH, &vcpu->requests);
			vmx_skip_insn(vmx);
			return 1;
		case 4:
			return kvm_emulate_cr4_write(vcpu, cr.gpr,
						     vmx_next_rip(vmx));
		case 8:
			if (val > 15) {
				kvm_queue_gp(vcpu, 0);
				return 1;
			}
			vmx->cr8 = val;
			vmx_skip_insn(vmx);
			return 1;
		}
		break;
	case CR_QUAL_TYPE_MOV_FROM_CR:
		if (cr.cr == 3 || cr.cr == 8) {
			vcpu->regs[cr.gpr] = cr.cr == 3 ? vmx_get_cr(vcpu, 3) :
							  vmx->cr8;
			vmx_skip_insn(vmx);
			return 1;
		}
		break;
	case CR_QUAL_TYPE_CLTS:
		return vmx_write_guest_cr0(vmx, vmx_get_cr(vcpu, 0) &
					   ~X86_CR0_TS);
	case CR_QUAL_TYPE_LMSW: {
		/* LMSW loads PE, MP, EM, TS and cannot clear PE. */
		u64 old = vmx_get_cr(vcpu, 0);

		return vmx_write_guest_cr0(vmx, (old & ~0xeULL) |
					   (cr.lmsw_data & 0xf));
	}
	}
	return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
				       "unexpected control-register exit",
				       vmx->exit_qual, 0);
}

/* The CPU says the guest's NMI blocking ended (its handler's IRET). */
static int vmx_handle_nmi_window(struct vcpu_vmx *vmx)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;

	vmx->ctl.proc &= ~PROC_NMI_WINDOW_EXITING;
	vmx->controls_dirty = true;
	vcpu->nmi.masked = false;
	vcpu->nmi.awaiting_iret = false;
	return 1;
}

static int vmx_report_entry_failure(struct vcpu_vmx *vmx, u64 reason)
{
	/* What the CPU was given: the vm86 form in real mode. */
	const struct vmx_guest_state *g = vmx->rmode ? &vmx->rm_put :
					  vmx->pm_fixed ? &vmx->pm_put : &vmx->g;
	enum vmx_check c;

	/* Name the rule we know of that the state breaks, if any. */
	c = vmx_check_controls(&vmx_caps, &vmx->ctl, g);
	if (!c)
		c = vmx_check_guest_state(&vmx_caps, &vmx->ctl, g);
	kvm_pr_guest("vcpu %u: VM entry failed (0x%llx): %s\n",
		     vmx->vcpu.vcpu_id, reason, vmx_check_name(c));
	return kvm_exit_fail_entry(&vmx->vcpu, reason);
}

/* ---- Real mode without unrestricted guest (vm86) ---------------------- */

static int vmx_rmode_gp(struct vcpu_vmx *vmx);

/*
 * Deliver @vector the real-mode way (SDM vol. 3A 20.1.4): push FLAGS, CS
 * and IP (the current RIP: callers have moved it past an INT n), clear
 * IF, TF and AC, and continue at the IVT's CS:IP.  Paging is off in real
 * mode, so linear addresses are guest-physical.  Returns 1, or the exit
 * for an IVT entry beyond the IDT limit (a shutdown, as a real CPU's
 * double fault there would be) or memory that is not RAM.
 */
static int vmx_rmode_deliver(struct vcpu_vmx *vmx, u8 vector)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	struct vmx_guest_state *g = &vmx->g;
	struct vmx_segment *cs = &g->seg[VMX_SEG_CS];
	u64 ss_base = g->seg[VMX_SEG_SS].base;
	u16 sp = vcpu->regs[VCPU_REGS_RSP];
	u16 frame[3], ivt[2];
	int i;

	if ((u32)vector * 4 + 3 > g->idtr_limit)
		return kvm_exit_shutdown(vcpu);
	if (kvm_read_guest(vcpu->kvm, g->idtr_base + vector * 4, ivt,
			   sizeof(ivt)))
		goto bad;
	frame[0] = vcpu->regs[VCPU_REGS_RIP];
	frame[1] = cs->selector;
	frame[2] = g->rflags;
	/* Three words below SP, wrapping within the 64 KiB stack segment. */
	for (i = 0; i < 3; i++) {
		u16 at = sp - 6 + 2 * i;

		if (kvm_write_guest(vcpu->kvm, ss_base + at, &frame[i], 2))
			goto bad;
	}
	vcpu->regs[VCPU_REGS_RSP] = (vcpu->regs[VCPU_REGS_RSP] & ~0xffffUL) |
				    (u16)(sp - 6);
	g->rflags &= ~(X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_AC);
	cs->selector = ivt[1];
	cs->base = (u64)ivt[1] << 4;
	vcpu->regs[VCPU_REGS_RIP] = ivt[0];
	vmx->guest_dirty = true;
	return 1;
bad:
	return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
		"real-mode interrupt delivery: IVT or stack not in RAM",
		vector, ss_base + sp);
}

/*
 * Before each entry in real mode: deliver the queued event through the
 * IVT (entry injection would use the protected-mode IDT), and make sure
 * the segments fit vm86.
 */
static int vmx_prepare_guest_entry(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 stepped;
	int seg, r;

	for (;;) {
		u8 insn[15];
		int n;

		if (!vmx_in_rmode(vmx))
			return 1;
		if (vmx->event_info & KVM_EVENT_VALID) {
			u8 vector = vmx->event_info & KVM_EVENT_VECTOR_MASK;

			vmx->event_info = vmx->event_error = 0;
			r = vmx_rmode_deliver(vmx, vector);
			if (r <= 0)
				return r;
		}
		seg = vmx_rmode_hw_state(&vmx->g, &vmx->rm_put, &stepped);
		if (seg || (stepped && !vmx_has_mtf)) {
			const struct vmx_segment *s;

			seg = seg ? seg - 1 : __ffs(stepped);
			s = &vmx->g.seg[seg];
			return kvm_exit_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION,
				"real mode without unrestricted guest: a segment "
				"base virtual-8086 mode cannot hold (big real mode)",
				((u64)s->selector << 32) | seg, s->base);
		}
		if (!stepped)
			return 1;
		/*
		 * FS/GS with a base vm86 cannot hold: the CPU runs one
		 * instruction per entry (monitor trap flag), and those that
		 * name the segment are emulated here, one after the other.
		 */
		for (n = 0; n < sizeof(insn); n++)
			if (kvm_read_guest(vcpu->kvm, vmx->g.seg[VMX_SEG_CS].base +
					   (u16)(vcpu->regs[VCPU_REGS_RIP] + n),
					   &insn[n], 1))
				break;
		if (!vmx_rmode_uses_stepped(insn, n, stepped))
			return 1;
		r = kvm_emulate_instruction(vcpu);
		if (r <= 0)
			return r;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
}

/*
 * An exception in vm86 (every one exits there): a #GP is mostly an
 * instruction vm86 does not allow; the rest are the guest's own and go
 * to its IVT.  INT3/INTO/INT1 (software exceptions) return after
 * themselves.
 */
static int vmx_rmode_exception(struct vcpu_vmx *vmx, u32 type, u32 vec)
{
	if (vec == GP_VECTOR && type == INTR_TYPE_HW_EXCEPTION)
		return vmx_rmode_gp(vmx);
	if (type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SOFT_EXCEPTION)
		vmx_skip_insn(vmx);
	vmx->event_info = vec | KVM_EVENT_TYPE_EXCEPT | KVM_EVENT_VALID;
	vmx->event_error = 0;
	return 1;
}

/*
 * The real-mode stack, SS:SP with a 16-bit SP.  @n values of @bytes
 * each, popped from (or pushed to) the stack; SP moves only when all
 * the accesses succeeded.  0, or -EFAULT when the stack is not RAM.
 */
static int vmx_rmode_stack(struct vcpu_vmx *vmx, bool push, u32 *vals,
			   int n, int bytes)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	u64 ss_base = vmx->g.seg[VMX_SEG_SS].base;
	u16 sp = vcpu->regs[VCPU_REGS_RSP];
	int i;

	for (i = 0; i < n; i++) {
		u32 v = 0;

		if (push) {
			sp -= bytes;
			if (kvm_write_guest(vcpu->kvm, ss_base + sp, &vals[i],
					    bytes))
				return -EFAULT;
		} else {
			if (kvm_read_guest(vcpu->kvm, ss_base + sp, &v, bytes))
				return -EFAULT;
			vals[i] = v;
			sp += bytes;
		}
	}
	vcpu->regs[VCPU_REGS_RSP] = (vcpu->regs[VCPU_REGS_RSP] & ~0xffffUL) |
				    sp;
	return 0;
}

/* FLAGS as POPF/IRET load them in real mode (VM, RF, VIF, VIP stay). */
static void vmx_rmode_load_flags(struct vcpu_vmx *vmx, u32 val, bool o32)
{
	u64 mask = 0x7fd5 | (o32 ? X86_EFLAGS_AC | X86_EFLAGS_ID : 0);

	vmx->g.rflags = (vmx->g.rflags & ~mask) | (val & mask) |
			X86_EFLAGS_FIXED;
}

/*
 * CLI, STI, PUSHF, POPF and IRET, which #GP in vm86 with IOPL 0 (the
 * guest's own IOPL does not matter in real mode).  @next_ip is the IP
 * after the instruction.  Returns 1, or an internal error for a stack
 * outside RAM.
 */
static int vmx_rmode_flags_insn(struct vcpu_vmx *vmx, u8 op, bool o32,
				u16 next_ip)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	struct vmx_guest_state *g = &vmx->g;
	int bytes = o32 ? 4 : 2;
	u32 v[3];

	switch (op) {
	case 0xfa:	/* CLI */
		g->rflags &= ~X86_EFLAGS_IF;
		break;
	case 0xfb:	/* STI: interrupts wait for one more instruction */
		if (!(g->rflags & X86_EFLAGS_IF))
			g->interruptibility |= INTERRUPTIBILITY_STI;
		g->rflags |= X86_EFLAGS_IF;
		break;
	case 0x9c:	/* PUSHF: PUSHFD clears VM and RF in the image */
		v[0] = g->rflags & ~(X86_EFLAGS_VM | X86_EFLAGS_RF);
		if (vmx_rmode_stack(vmx, true, v, 1, bytes))
			goto bad;
		break;
	case 0x9d:	/* POPF */
		if (vmx_rmode_stack(vmx, false, v, 1, bytes))
			goto bad;
		vmx_rmode_load_flags(vmx, v[0], o32);
		break;
	case 0xcf:	/* IRET: IP, CS, FLAGS */
		if (vmx_rmode_stack(vmx, false, v, 3, bytes))
			goto bad;
		g->seg[VMX_SEG_CS].selector = (u16)v[1];
		g->seg[VMX_SEG_CS].base = (u64)(u16)v[1] << 4;
		vmx_rmode_load_flags(vmx, v[2], o32);
		vcpu->regs[VCPU_REGS_RIP] = o32 ? v[0] : (u16)v[0];
		/* The end of an NMI handler, as a hardware IRET would say. */
		if (g->interruptibility & INTERRUPTIBILITY_NMI) {
			g->interruptibility &= ~INTERRUPTIBILITY_NMI;
			vmx_handle_nmi_window(vmx);
		}
		vmx->guest_dirty = true;
		return 1;
	}
	vcpu->regs[VCPU_REGS_RIP] = next_ip;
	vmx->guest_dirty = true;
	return 1;
bad:
	return kvm_exit_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
		"real mode: stack not in RAM", g->seg[VMX_SEG_SS].base,
		vcpu->regs[VCPU_REGS_RSP]);
}

/* A real-mode software interrupt: delivered at the next entry. */
static int vmx_rmode_int(struct vcpu_vmx *vmx, u8 vector, u16 next_ip)
{
	vmx->vcpu.regs[VCPU_REGS_RIP] = next_ip;
	vmx->event_info = vector | KVM_EVENT_TYPE_SOFT | KVM_EVENT_VALID;
	vmx->event_error = 0;
	return 1;
}

/*
 * A #GP in vm86.  With IOPL 0 and a TSS of limit 0 (vmx_rmode_hw_state)
 * these fault: port I/O, INT n, CLI/STI/PUSHF/POPF/IRET, privileged
 * instructions, and accesses beyond 0xffff, which are legal in real
 * mode when the segment's limit was raised in protected mode.  Decode
 * the prefixes and the opcode; do port I/O, INT n, the flag
 * instructions and HLT here, the rest with the emulator (which sees the
 * real-mode state with its real limits).
 */
static int vmx_rmode_gp(struct vcpu_vmx *vmx)
{
	struct kvm_vcpu *vcpu = &vmx->vcpu;
	u64 cs_base = vmx->g.seg[VMX_SEG_CS].base;
	u16 ip = vcpu->regs[VCPU_REGS_RIP];
	struct vmx_rmode_insn d;
	u16 next;
	u8 insn[15];
	int n;

	for (n = 0; n < sizeof(insn); n++)
		if (kvm_read_guest(vcpu->kvm, cs_base + (u16)(ip + n),
				   &insn[n], 1))
			break;
	vmx_rmode_decode(insn, n, &d);
	next = ip + d.len;

	switch (d.kind) {
	case VMX_RM_IO:
		return kvm_emulate_pio(vcpu, d.in, d.size,
				       d.port_imm ? d.port :
				       (u16)vcpu->regs[VCPU_REGS_RDX], next);
	case VMX_RM_STRING_IO: {
		struct kvm_string_pio p = {
			.in = d.in,
			.rep = d.rep,
			.size = d.size,
			.addr_size = d.a32 ? 4 : 2,
			.seg = d.seg,
			.port = vcpu->regs[VCPU_REGS_RDX],
			.next_rip = next,
		};

		return kvm_emulate_string_pio(vcpu, &p);
	}
	case VMX_RM_FLAGS:
		return vmx_rmode_flags_insn(vmx, d.opcode, d.o32, next);
	case VMX_RM_INT:
		if (d.opcode == 0xce && !(vmx->g.rflags & X86_EFLAGS_OF)) {
			vcpu->regs[VCPU_REGS_RIP] = next;	/* INTO, no OF */
			return 1;
		}
		return vmx_rmode_int(vmx, d.vector, next);
	case VMX_RM_HLT:
		return kvm_emulate_halt(vcpu, next);
	case VMX_RM_RDMSR:
		return kvm_emulate_rdmsr(vcpu, next);
	case VMX_RM_WRMSR:
		return kvm_emulate_wrmsr(vcpu, next);
	case VMX_RM_NOP:
		/* INVD, WBINVD: nothing to do for a guest. */
		vcpu->regs[VCPU_REGS_RIP] = next;
		return 1;
	default:
		/* MOV CR, LGDT/LIDT, LMSW/SMSW, CLTS, unreal-mode accesses. */
		return kvm_emulate_instruction(vcpu);
	}
}

static int vmx_handle_exit(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 reason = vmx->exit_reason;
	u32 reinject;

	if (vmx->entry_failed)
		return vmx_report_entry_failure(vmx, vmx->insn_error);
	if (reason & EXIT_REASON_ENTRY_FAILURE)
		return vmx_report_entry_failure(vmx, reason);
	kvm_count_exit(vmx->vcpu.stat.exit_hist, EXIT_REASON_BASIC(reason), false);

	/* An event cut short by this exit is delivered again. */
	reinject = vmx_reinject_info(vmx->idt_info);
	if (reinject) {
		vmx->event_info = reinject;
		vmx->event_error = vmx->idt_error;
	}
	/* An IRET that unblocked NMIs and then faulted runs again blocked. */
	if (vmx_exit_refaults_iret(reason, vmx->exit_intr_info,
				   vmx->exit_qual, vmx->idt_info)) {
		vmx->g.interruptibility |= INTERRUPTIBILITY_NMI;
		vmx->guest_dirty = true;
	}

	switch (EXIT_REASON_BASIC(reason)) {
	case EXIT_REASON_EXCEPTION_NMI: {
		u32 type = vmx->exit_intr_info & INTR_INFO_TYPE_MASK;
		u32 vec = vmx->exit_intr_info & INTR_INFO_VECTOR_MASK;

		/* Both were handed to the host in vcpu_run. */
		if (type == INTR_TYPE_NMI ||
		    (type == INTR_TYPE_HW_EXCEPTION && vec == 18))
			return 1;
		/*
		 * Shadow paging: the exit qualification is the linear
		 * address, the interruption error code the #PF's (27.2.1).
		 */
		if (kvm_shadow_paging && type == INTR_TYPE_HW_EXCEPTION &&
		    vec == PF_VECTOR)
			return kvm_shadow_page_fault(vcpu, vmx->exit_qual,
						     vmx->exit_intr_error);
		if (vmx->rmode)
			return vmx_rmode_exception(vmx, type, vec);
		return kvm_exit_internal_error(vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			"unexpected exception exit", vmx->exit_intr_info,
			vmx->exit_qual);
	}
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_INIT:
	case EXIT_REASON_SIPI:
	case EXIT_REASON_IO_SMI:
	case EXIT_REASON_OTHER_SMI:
		/* The host takes it once interrupts are on; just go back. */
		return 1;
	case EXIT_REASON_TRIPLE_FAULT:
		return kvm_exit_shutdown(vcpu);
	case EXIT_REASON_INTERRUPT_WINDOW:
		/* The window is open; the run loop tells userspace. */
		vmx->ctl.proc &= ~PROC_INTR_WINDOW_EXITING;
		vmx->controls_dirty = true;
		return 1;
	case EXIT_REASON_TPR_BELOW_THRESHOLD:
		/*
		 * The guest lowered CR8 below a masked interrupt's class (an
		 * exit after the MOV; kvm_lapic_sync_from_guest has the new
		 * TPR): the next entry delivers it.
		 */
		return 1;
	case EXIT_REASON_PAUSE:
		/*
		 * A PAUSE loop spun for PLE_WINDOW: the vCPU waits for
		 * something another thread must do (a lock holder's vCPU
		 * that the host preempted, say).  Let the host run that
		 * thread first; the PAUSE is done (the exit instruction
		 * length is valid for PAUSE exits).
		 */
		yield();
		vmx_skip_insn(vmx);
		return 1;
	case EXIT_REASON_MONITOR_TRAP_FLAG:
		/* One instruction of big real mode ran: see the next. */
		return 1;
	case EXIT_REASON_NMI_WINDOW:
		return vmx_handle_nmi_window(vmx);
	case EXIT_REASON_CPUID:
		return kvm_emulate_cpuid(vcpu, vmx_next_rip(vmx));
	case EXIT_REASON_HLT:
		return kvm_emulate_halt(vcpu, vmx_next_rip(vmx));
	case EXIT_REASON_INVLPG:
		/* Exit qualification: the linear address (27.2.1). */
		if (kvm_shadow_paging)
			kvm_mmu_invlpg(vcpu, vmx->exit_qual);
		/* Not intercepted with EPT; harmless if a CPU forces it. */
		vmx_skip_insn(vmx);
		return 1;
	case EXIT_REASON_INVD:
		/* INVD would drop dirty host cache lines: treat it as a no-op. */
		vmx_skip_insn(vmx);
		return 1;
	case EXIT_REASON_CR_ACCESS:
		return vmx_handle_cr(vmx);
	case EXIT_REASON_IO_INSTRUCTION:
		return vmx_handle_io(vmx);
	case EXIT_REASON_MSR_READ:
		return kvm_emulate_rdmsr(vcpu, vmx_next_rip(vmx));
	case EXIT_REASON_MSR_WRITE:
		return kvm_emulate_wrmsr(vcpu, vmx_next_rip(vmx));
	case EXIT_REASON_XSETBV:
		return kvm_emulate_xsetbv(vcpu, vmx_next_rip(vmx));
	case EXIT_REASON_EPT_VIOLATION: {
		struct vmx_ept_exit e;

		vmx_decode_ept_violation(vmx->exit_qual, &e);
		return kvm_tdp_page_fault(vcpu, vmx->guest_phys, e.write,
					  e.fetch);
	}
	case EXIT_REASON_EPT_MISCONFIG:
		/* Our own EPT entry is malformed: a kvm.ko bug. */
		return kvm_exit_internal_error(vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			"EPT misconfiguration", vmx->guest_phys, 0);
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_MONITOR:
	case EXIT_REASON_MWAIT:
		/* Not offered to the guest (no VMX, no MONITOR in CPUID). */
		kvm_queue_ud(vcpu);
		return 1;
	default:
		return kvm_exit_internal_error(vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			"unhandled VMX exit reason", reason, vmx->exit_qual);
	}
}

/* EPT entries (SDM 29.3.2); must agree with vmx_ept_table_entry/leaf. */
static const struct kvm_tdp_format vmx_ept_format = {
	.present = EPT_READ | EPT_WRITE | EPT_EXEC,
	.table = EPT_READ | EPT_WRITE | EPT_EXEC,
	.leaf = EPT_READ | EPT_EXEC | (EPT_MEMTYPE_WB << EPT_MEMTYPE_SHIFT),
	.writable = EPT_WRITE,
	.levels = 4,
};

static const struct kvm_x86_ops vmx_x86_ops = {
	.name = "vmx",
	.tdp_format = &vmx_ept_format,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_reset = vmx_vcpu_reset,
	.vcpu_run = vmx_vcpu_run,
	.handle_exit = vmx_handle_exit,
	.prepare_guest_entry = vmx_prepare_guest_entry,
	.vcpu_put = vmx_vcpu_put,
	.get_segment = vmx_get_segment,
	.set_segment = vmx_set_segment,
	.get_dtable = vmx_get_dtable,
	.set_dtable = vmx_set_dtable,
	.get_cr = vmx_get_cr,
	.set_cr = vmx_set_cr,
	.set_efer = vmx_set_efer,
	.get_dr = vmx_get_dr,
	.set_dr = vmx_set_dr,
	.get_cpl = vmx_get_cpl,
	.get_rflags = vmx_get_rflags,
	.set_rflags = vmx_set_rflags,
	.get_interrupt_shadow = vmx_get_interrupt_shadow,
	.set_interrupt_shadow = vmx_set_interrupt_shadow,
	.get_injected_event = vmx_get_injected_event,
	.set_injected_event = vmx_set_injected_event,
	.enable_irq_window = vmx_enable_irq_window,
	.enable_tpr_window = vmx_enable_tpr_window,
	.set_iret_intercept = vmx_set_iret_intercept,
	.queue_exception = vmx_queue_exception,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.vcpu_after_set_cpuid = vmx_after_set_cpuid,
	.load_mmu_root = vmx_load_mmu_root,
	.flush_guest_tlb = vmx_flush_guest_tlb,
};

const struct kvm_x86_backend vmx_backend = {
	.name = "Intel VMX",
	.probe = vmx_probe,
	.setup = vmx_setup,
	.unsetup = vmx_unsetup,
	.ops = &vmx_x86_ops,
};
