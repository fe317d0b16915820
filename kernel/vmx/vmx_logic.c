// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VMX backend's hardware-independent logic; see vmx_logic.h.
 * References are to the Intel SDM vol. 3C; section numbers follow the
 * 2023 edition (chapters 25-29), older editions number them one lower.
 */
#include "vmx_logic.h"

#define CR0_PE		(1ULL << 0)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR0_ET		(1ULL << 4)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_PCIDE	(1ULL << 17)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define EFER_SCE	(1ULL << 0)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)
#define RFLAGS_TF	(1ULL << 8)
#define RFLAGS_IF	(1ULL << 9)
#define RFLAGS_VM	(1ULL << 17)
#define RFLAGS_IOPL	(3ULL << 12)
#define RFLAGS_FIXED1	(1ULL << 1)
/* 63:22, 15, 5, 3 (SDM vol. 1 3.4.3) */
#define RFLAGS_RESERVED	(~((1ULL << 22) - 1) | (1ULL << 15) | (1ULL << 5) | \
			 (1ULL << 3))
#define DEBUGCTL_BTF	(1ULL << 1)
/* Pending debug exceptions: 11:4, 13, 15 and 63:17 reserved (25.4.2) */
#define PENDING_DBG_RESERVED	(0xff0ULL | (1ULL << 13) | (1ULL << 15) | \
				 ~((1ULL << 17) - 1))
#define PENDING_DBG_BS	(1ULL << 14)

/* ---- Controls ------------------------------------------------------ */

int vmx_adjust_controls(u64 cap_msr, u32 required, u32 optional, u32 *out)
{
	u32 must_be_1 = (u32)cap_msr;
	u32 may_be_1 = (u32)(cap_msr >> 32);

	if (required & ~may_be_1)
		return -1;
	*out = (required | (optional & may_be_1) | must_be_1) & may_be_1;
	return 0;
}

u64 vmx_ctl_msr(const struct vmx_caps *c, u32 msr)
{
	bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;

	switch (msr) {
	case VMX_MSR_PINBASED_CTLS:
		return true_ctls ? c->true_pin : c->pin;
	case VMX_MSR_PROCBASED_CTLS:
		return true_ctls ? c->true_proc : c->proc;
	case VMX_MSR_EXIT_CTLS:
		return true_ctls ? c->true_exit : c->exit;
	case VMX_MSR_ENTRY_CTLS:
		return true_ctls ? c->true_entry : c->entry;
	case VMX_MSR_PROCBASED_CTLS2:
		/* Exists only if secondary controls may be activated. */
		return (c->proc >> 32) & PROC_SECONDARY_CONTROLS ? c->proc2 : 0;
	default:
		return 0;
	}
}

static bool may_be_1(const struct vmx_caps *c, u32 msr, u32 bits)
{
	return ((u32)(vmx_ctl_msr(c, msr) >> 32) & bits) == bits;
}

static bool may_be_0(const struct vmx_caps *c, u32 msr, u32 bits)
{
	return !((u32)vmx_ctl_msr(c, msr) & bits);
}

u32 vmx_proc_for_vcpu(const struct vmx_config *cfg, bool lapic)
{
	if (!lapic || !cfg->tpr_shadow)
		return cfg->proc;
	return (cfg->proc | PROC_TPR_SHADOW) &
	       ~(PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING);
}

int vmx_derive_config(const struct vmx_caps *c, struct vmx_config *cfg,
		      const char **why)
{
	return vmx_derive_config_paging(c, cfg, true, why);
}

int vmx_derive_config_paging(const struct vmx_caps *c, struct vmx_config *cfg,
			     bool ept, const char **why)
{
	u32 proc_paging = 0;
	u32 size = VMX_BASIC_VMCS_SIZE(c->basic);

	memset(cfg, 0, sizeof(*cfg));
	if (size == 0 || size > 4096) {
		*why = "VMCS region size in IA32_VMX_BASIC is not 1-4096 bytes";
		return -1;
	}
	if (c->basic & VMX_BASIC_PA_32BIT) {
		*why = "VMX structures are limited to 32-bit physical addresses";
		return -1;
	}
	if (VMX_BASIC_MEMTYPE(c->basic) != 6) {
		*why = "VMCS memory type is not write-back";
		return -1;
	}

	/*
	 * Pin-based: host interrupts and NMIs exit; virtual NMIs give the
	 * guest its own NMI blocking, tracked by the CPU (no IRET exit on
	 * VMX), with NMI-window exiting to learn when it ends.
	 */
	if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_PINBASED_CTLS),
				PIN_EXTINT_EXITING | PIN_NMI_EXITING |
				PIN_VIRTUAL_NMIS, 0, &cfg->pin)) {
		*why = "no virtual NMIs (pin-based VM-execution controls)";
		return -1;
	}

	/*
	 * Primary processor-based.  Every I/O instruction exits (no
	 * bitmaps: unconditional I/O exiting); without "use MSR bitmaps"
	 * every RDMSR/WRMSR exits.  CR8 accesses exit
	 * here (without an in-kernel LAPIC CR8 belongs to userspace through
	 * kvm_run; with one, vmx_proc_for_vcpu swaps in the TPR shadow).
	 * CR3-load/store exiting are left out (EPT); a CPU without TRUE controls forces them on,
	 * and the CR-access handler copes.
	 */
	/*
	 * Shadow paging (no EPT): the CPU's CR3 is the shadow root, so MOV
	 * to and from CR3 exit (with CR3-target count 0 every load does,
	 * SDM 26.1.3), and so does INVLPG, whose address the shadow MMU
	 * must drop.
	 */
	if (!ept)
		proc_paging = PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
			      PROC_INVLPG_EXITING;
	if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_PROCBASED_CTLS),
				proc_paging |
				PROC_HLT_EXITING | PROC_TSC_OFFSETTING |
				PROC_UNCOND_IO_EXITING | PROC_MWAIT_EXITING |
				PROC_MONITOR_EXITING | PROC_CR8_LOAD_EXITING |
				PROC_CR8_STORE_EXITING |
				PROC_SECONDARY_CONTROLS, 0, &cfg->proc)) {
		*why = "missing primary processor-based controls (HLT, I/O, "
		       "CR8 exiting, TSC offsetting or secondary controls)";
		return -1;
	}
	if (!may_be_1(c, VMX_MSR_PROCBASED_CTLS, PROC_INTR_WINDOW_EXITING |
		      PROC_NMI_WINDOW_EXITING)) {
		*why = "no interrupt-window or NMI-window exiting";
		return -1;
	}
	/*
	 * The TPR shadow, where the CPU has it and lets CR8 exiting be
	 * cleared: vCPUs with an in-kernel LAPIC use it (vmx_proc_for_vcpu).
	 */
	cfg->tpr_shadow = may_be_1(c, VMX_MSR_PROCBASED_CTLS, PROC_TPR_SHADOW) &&
			  may_be_0(c, VMX_MSR_PROCBASED_CTLS,
				   PROC_CR8_LOAD_EXITING |
				   PROC_CR8_STORE_EXITING);

	/*
	 * Secondary.  With EPT, unrestricted guest is required too (real
	 * mode runs natively).  VPID keeps the host's TLB entries across
	 * entries and exits.  INVPCID is taken when the CPU has it, but each
	 * vCPU enables it only when its CPUID offers INVPCID
	 * (vmx_proc2_for_guest); with shadow paging never (see there).
	 * RDTSCP and XSAVES stay off (they #UD in the guest): they need
	 * TSC_AUX and XSS switching, and KVM_GET_SUPPORTED_CPUID does not
	 * offer them.  PAUSE-loop exiting, where the CPU has it, turns a
	 * vCPU spinning on a lock into an exit, and kvm.ko lets the host
	 * run another thread (the lock holder's vCPU, maybe) in its place.
	 */
	if (ept) {
		if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_PROCBASED_CTLS2),
					PROC2_EPT | PROC2_UNRESTRICTED_GUEST,
					PROC2_VPID | PROC2_INVPCID |
					PROC2_PAUSE_LOOP_EXITING, &cfg->proc2)) {
			*why = "this CPU lacks EPT or unrestricted guest "
			       "(shadow paging, ept=0, does without)";
			return -1;
		}
	} else if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_PROCBASED_CTLS2),
				       0, PROC2_VPID | PROC2_PAUSE_LOOP_EXITING,
				       &cfg->proc2)) {
		*why = "secondary processor-based controls unusable";
		return -1;
	}
	cfg->ept = ept;
	cfg->unrestricted = cfg->proc2 & PROC2_UNRESTRICTED_GUEST;
	/*
	 * VPID needs INVVPID to flush a vCPU's translations (shadow paging
	 * flushes on every CR3 load); without it VPID stays off, and every
	 * entry and exit flushes VPID 0 instead (SDM 29.4.3.3).
	 */
	if (!ept && (cfg->proc2 & PROC2_VPID) &&
	    (!(c->ept_vpid & VMX_VPID_CAP_INVVPID) ||
	     !(c->ept_vpid & (VMX_VPID_CAP_INVVPID_SINGLE |
			      VMX_VPID_CAP_INVVPID_ALL))))
		cfg->proc2 &= ~PROC2_VPID;
	cfg->vpid = cfg->proc2 & PROC2_VPID;
	cfg->ple = cfg->proc2 & PROC2_PAUSE_LOOP_EXITING;
	cfg->invvpid_single = c->ept_vpid & VMX_VPID_CAP_INVVPID_SINGLE;

	if (ept) {
		if (!(c->ept_vpid & VMX_EPT_CAP_PWL4) ||
		    !(c->ept_vpid & VMX_EPT_CAP_MT_WB)) {
			*why = "EPT lacks 4-level tables or write-back paging structures";
			return -1;
		}
		if (!(c->ept_vpid & VMX_EPT_CAP_INVEPT) ||
		    !(c->ept_vpid & (VMX_EPT_CAP_INVEPT_SINGLE |
				     VMX_EPT_CAP_INVEPT_ALL))) {
			*why = "no INVEPT";
			return -1;
		}
		cfg->invept_single = c->ept_vpid & VMX_EPT_CAP_INVEPT_SINGLE;
		cfg->ept_levels = 4;
	}

	/* The host is 64-bit; EFER, PAT and debug controls switch in hardware. */
	if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_EXIT_CTLS),
				EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER |
				EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
				EXIT_SAVE_DEBUG_CONTROLS, 0, &cfg->exit)) {
		*why = "VM exits cannot save/load IA32_EFER and IA32_PAT";
		return -1;
	}
	if (vmx_adjust_controls(vmx_ctl_msr(c, VMX_MSR_ENTRY_CTLS),
				ENTRY_LOAD_EFER | ENTRY_LOAD_PAT |
				ENTRY_LOAD_DEBUG_CONTROLS, 0, &cfg->entry) ||
	    !may_be_1(c, VMX_MSR_ENTRY_CTLS, ENTRY_IA32E_MODE_GUEST)) {
		*why = "VM entries cannot load IA32_EFER/IA32_PAT or enter "
		       "IA-32e mode";
		return -1;
	}
	/* IA-32e mode guest follows EFER.LMA at each entry. */
	cfg->entry &= ~ENTRY_IA32E_MODE_GUEST;

	cfg->ins_outs_info = c->basic & VMX_BASIC_INS_OUTS_INFO;
	/*
	 * Machine checks in the guest go to the host's handler.  With
	 * shadow paging every #PF exits (PFEC mask and match are 0,
	 * SDM 26.2): it may be a fault on a shadow entry not built yet.
	 */
	cfg->exception_bitmap = 1U << 18;
	if (!ept)
		cfg->exception_bitmap |= 1U << 14;

	/* Unrestricted guest: PE and PG may be 0 (27.3.1.1). */
	cfg->cr0_fixed0 = c->cr0_fixed0;
	if (cfg->unrestricted)
		cfg->cr0_fixed0 &= ~(CR0_PE | CR0_PG);
	cfg->cr0_fixed1 = c->cr0_fixed1;
	cfg->cr4_fixed0 = c->cr4_fixed0;
	cfg->cr4_fixed1 = c->cr4_fixed1;
	/*
	 * CR0 bits the host owns: those it forces (NE in practice) and PG,
	 * whose changes switch EFER.LMA and the IA-32e mode entry control
	 * and may need PDPTEs loaded.  The guest owns the rest (TS, MP, EM,
	 * WP, AM, CD, NW and, with unrestricted guest, PE).
	 */
	cfg->cr0_host_owned = ((cfg->cr0_fixed0 | ~cfg->cr0_fixed1) &
			       0xffffffffULL) | CR0_PG;
	/*
	 * Shadow paging: the CPU's CR0 is not the guest's (PG and WP always
	 * on, PE forced without unrestricted guest), and PE/PG/WP changes
	 * switch shadow roles: the host owns all of CR0, every write exits
	 * and reads come from the read shadow.
	 */
	if (!ept)
		cfg->cr0_host_owned = ~0ULL;
	return 0;
}

/*
 * The secondary controls a vCPU runs with.  "Enable INVPCID" = 0 makes
 * INVPCID #UD (SDM vol. 3C 26.3, "Instructions That Cause VM Exits
 * Conditionally"/INVPCID; 25.6.2), which is what a CPU without
 * CPUID.(EAX=7,ECX=0):EBX.INVPCID[bit 10] does; with it 1 the guest runs
 * INVPCID natively.  So the control follows the guest's CPUID, as set by
 * KVM_SET_CPUID2.  "Enable RDTSCP" and "enable XSAVES/XRSTORS" are never
 * set (see vmx_derive_config): those instructions #UD whatever the
 * guest's CPUID claims, like on a CPU without them.
 */
u32 vmx_proc2_for_guest(const struct vmx_config *cfg, bool cpuid_invpcid)
{
	u32 proc2 = cfg->proc2 & ~(PROC2_RDTSCP | PROC2_XSAVES);

	/*
	 * Shadow paging: INVPCID would run natively on the shadow tables
	 * and leave our shadow entries stale; it stays off (#UD).
	 */
	if (!cpuid_invpcid || !cfg->ept)
		proc2 &= ~PROC2_INVPCID;
	return proc2;
}

/* ---- VMCS activity and launch state -------------------------------- */

void vmx_vmcs_state_init(struct vmx_vmcs_state *s)
{
	s->active_cpu = -1;
	s->launched = false;
}

bool vmx_vmcs_before_entry(struct vmx_vmcs_state *s, int cpu,
			   bool current_here, bool *vmptrld)
{
	if (s->active_cpu != cpu) {
		/* Cleared where it was (vcpu_put): load it here, clear. */
		s->launched = false;
		*vmptrld = true;
	} else {
		/* Still active here; another VMCS may have become current. */
		*vmptrld = !current_here;
	}
	s->active_cpu = cpu;
	return s->launched;
}

bool vmx_vmcs_after_entry(struct vmx_vmcs_state *s, bool entered)
{
	if (entered) {
		s->launched = true;
		return false;
	}
	vmx_vmcs_state_init(s);
	return true;
}

bool vmx_vmcs_put(struct vmx_vmcs_state *s, int cpu)
{
	if (s->active_cpu != cpu)
		return false;
	vmx_vmcs_state_init(s);
	return true;
}

/* ---- Segments ------------------------------------------------------ */

int vmx_seg_index(int common_seg)
{
	switch (common_seg) {
	case VMX_COMMON_SREG_TR:
		return VMX_SEG_TR;
	case VMX_COMMON_SREG_LDTR:
		return VMX_SEG_LDTR;
	default:
		return common_seg;	/* ES..GS: the same order */
	}
}

u32 vmx_ar_pack(const struct vmx_seg_attrs *a)
{
	if (a->unusable)
		return VMX_AR_UNUSABLE;
	return (a->type & VMX_AR_TYPE_MASK) | (a->s ? VMX_AR_S : 0) |
	       ((u32)(a->dpl & 3) << VMX_AR_DPL_SHIFT) |
	       (a->present ? VMX_AR_P : 0) | (a->avl ? VMX_AR_AVL : 0) |
	       (a->l ? VMX_AR_L : 0) | (a->db ? VMX_AR_DB : 0) |
	       (a->g ? VMX_AR_G : 0);
}

void vmx_ar_unpack(u32 ar, struct vmx_seg_attrs *a)
{
	a->type = ar & VMX_AR_TYPE_MASK;
	a->s = !!(ar & VMX_AR_S);
	a->dpl = (ar & VMX_AR_DPL_MASK) >> VMX_AR_DPL_SHIFT;
	a->present = !!(ar & VMX_AR_P);
	a->avl = !!(ar & VMX_AR_AVL);
	a->l = !!(ar & VMX_AR_L);
	a->db = !!(ar & VMX_AR_DB);
	a->g = !!(ar & VMX_AR_G);
	a->unusable = !!(ar & VMX_AR_UNUSABLE);
}

/* ---- Moving state in and out of a VMCS ------------------------------- */

void vmx_store_guest_state(const struct vmcs_accessor *v,
			   const struct vmx_guest_state *g, bool pdptes)
{
	int i;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		v->write(v->ctx, VMCS_GUEST_SEG_SELECTOR(i), g->seg[i].selector);
		v->write(v->ctx, VMCS_GUEST_SEG_BASE(i), g->seg[i].base);
		v->write(v->ctx, VMCS_GUEST_SEG_LIMIT(i), g->seg[i].limit);
		v->write(v->ctx, VMCS_GUEST_SEG_AR(i), g->seg[i].ar);
	}
	v->write(v->ctx, VMCS_GUEST_GDTR_BASE, g->gdtr_base);
	v->write(v->ctx, VMCS_GUEST_GDTR_LIMIT, g->gdtr_limit);
	v->write(v->ctx, VMCS_GUEST_IDTR_BASE, g->idtr_base);
	v->write(v->ctx, VMCS_GUEST_IDTR_LIMIT, g->idtr_limit);
	v->write(v->ctx, VMCS_GUEST_CR0, g->cr0);
	v->write(v->ctx, VMCS_GUEST_CR3, g->cr3);
	v->write(v->ctx, VMCS_GUEST_CR4, g->cr4);
	v->write(v->ctx, VMCS_CR0_READ_SHADOW, g->cr0_shadow);
	v->write(v->ctx, VMCS_CR4_READ_SHADOW, g->cr4_shadow);
	v->write(v->ctx, VMCS_GUEST_DR7, g->dr7);
	v->write(v->ctx, VMCS_GUEST_RSP, g->rsp);
	v->write(v->ctx, VMCS_GUEST_RIP, g->rip);
	v->write(v->ctx, VMCS_GUEST_RFLAGS, g->rflags);
	v->write(v->ctx, VMCS_GUEST_PENDING_DBG, g->pending_dbg);
	v->write(v->ctx, VMCS_GUEST_IA32_EFER, g->efer);
	v->write(v->ctx, VMCS_GUEST_IA32_PAT, g->pat);
	v->write(v->ctx, VMCS_GUEST_IA32_DEBUGCTL, g->debugctl);
	v->write(v->ctx, VMCS_GUEST_SYSENTER_CS, g->sysenter_cs);
	v->write(v->ctx, VMCS_GUEST_SYSENTER_ESP, g->sysenter_esp);
	v->write(v->ctx, VMCS_GUEST_SYSENTER_EIP, g->sysenter_eip);
	v->write(v->ctx, VMCS_GUEST_INTERRUPTIBILITY, g->interruptibility);
	v->write(v->ctx, VMCS_GUEST_ACTIVITY_STATE, g->activity);
	v->write(v->ctx, VMCS_LINK_POINTER, g->link_pointer);
	if (pdptes) {
		v->write(v->ctx, VMCS_GUEST_PDPTE0, g->pdpte[0]);
		v->write(v->ctx, VMCS_GUEST_PDPTE1, g->pdpte[1]);
		v->write(v->ctx, VMCS_GUEST_PDPTE2, g->pdpte[2]);
		v->write(v->ctx, VMCS_GUEST_PDPTE3, g->pdpte[3]);
	}
}

void vmx_load_guest_state(const struct vmcs_accessor *v,
			  struct vmx_guest_state *g, bool pdptes)
{
	int i;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		g->seg[i].selector = v->read(v->ctx, VMCS_GUEST_SEG_SELECTOR(i));
		g->seg[i].base = v->read(v->ctx, VMCS_GUEST_SEG_BASE(i));
		g->seg[i].limit = v->read(v->ctx, VMCS_GUEST_SEG_LIMIT(i));
		g->seg[i].ar = v->read(v->ctx, VMCS_GUEST_SEG_AR(i));
	}
	g->gdtr_base = v->read(v->ctx, VMCS_GUEST_GDTR_BASE);
	g->gdtr_limit = v->read(v->ctx, VMCS_GUEST_GDTR_LIMIT);
	g->idtr_base = v->read(v->ctx, VMCS_GUEST_IDTR_BASE);
	g->idtr_limit = v->read(v->ctx, VMCS_GUEST_IDTR_LIMIT);
	g->cr0 = v->read(v->ctx, VMCS_GUEST_CR0);
	g->cr3 = v->read(v->ctx, VMCS_GUEST_CR3);
	g->cr4 = v->read(v->ctx, VMCS_GUEST_CR4);
	g->cr0_shadow = v->read(v->ctx, VMCS_CR0_READ_SHADOW);
	g->cr4_shadow = v->read(v->ctx, VMCS_CR4_READ_SHADOW);
	g->dr7 = v->read(v->ctx, VMCS_GUEST_DR7);
	g->rsp = v->read(v->ctx, VMCS_GUEST_RSP);
	g->rip = v->read(v->ctx, VMCS_GUEST_RIP);
	g->rflags = v->read(v->ctx, VMCS_GUEST_RFLAGS);
	g->pending_dbg = v->read(v->ctx, VMCS_GUEST_PENDING_DBG);
	g->efer = v->read(v->ctx, VMCS_GUEST_IA32_EFER);
	g->pat = v->read(v->ctx, VMCS_GUEST_IA32_PAT);
	g->debugctl = v->read(v->ctx, VMCS_GUEST_IA32_DEBUGCTL);
	g->sysenter_cs = v->read(v->ctx, VMCS_GUEST_SYSENTER_CS);
	g->sysenter_esp = v->read(v->ctx, VMCS_GUEST_SYSENTER_ESP);
	g->sysenter_eip = v->read(v->ctx, VMCS_GUEST_SYSENTER_EIP);
	g->interruptibility = v->read(v->ctx, VMCS_GUEST_INTERRUPTIBILITY);
	g->activity = v->read(v->ctx, VMCS_GUEST_ACTIVITY_STATE);
	g->link_pointer = v->read(v->ctx, VMCS_LINK_POINTER);
	if (pdptes) {
		g->pdpte[0] = v->read(v->ctx, VMCS_GUEST_PDPTE0);
		g->pdpte[1] = v->read(v->ctx, VMCS_GUEST_PDPTE1);
		g->pdpte[2] = v->read(v->ctx, VMCS_GUEST_PDPTE2);
		g->pdpte[3] = v->read(v->ctx, VMCS_GUEST_PDPTE3);
	}
}

void vmx_store_entry_controls(const struct vmcs_accessor *v,
			      const struct vmx_entry_controls *c)
{
	v->write(v->ctx, VMCS_PIN_CONTROLS, c->pin);
	v->write(v->ctx, VMCS_PROC_CONTROLS, c->proc);
	v->write(v->ctx, VMCS_PROC_CONTROLS2, c->proc2);
	v->write(v->ctx, VMCS_EXIT_CONTROLS, c->exit);
	v->write(v->ctx, VMCS_ENTRY_CONTROLS, c->entry);
	v->write(v->ctx, VMCS_EXCEPTION_BITMAP, c->exception_bitmap);
	v->write(v->ctx, VMCS_CR0_GUEST_HOST_MASK, c->cr0_mask);
	v->write(v->ctx, VMCS_CR4_GUEST_HOST_MASK, c->cr4_mask);
	v->write(v->ctx, VMCS_ENTRY_INTR_INFO, c->entry_intr_info);
	v->write(v->ctx, VMCS_ENTRY_EXCEPTION_ERROR, c->entry_error);
	v->write(v->ctx, VMCS_ENTRY_INSN_LEN, c->entry_insn_len);
	/* The field exists only on CPUs with EPT (appendix B). */
	if (c->proc2 & PROC2_EPT)
		v->write(v->ctx, VMCS_EPT_POINTER, c->eptp);
	if (c->proc2 & PROC2_VPID)
		v->write(v->ctx, VMCS_VPID, c->vpid);
	v->write(v->ctx, VMCS_TSC_OFFSET, c->tsc_offset);
	/* Only CPUs with the TPR shadow have these fields. */
	if (c->proc & PROC_TPR_SHADOW) {
		v->write(v->ctx, VMCS_VIRTUAL_APIC_ADDR, c->vapic_addr);
		v->write(v->ctx, VMCS_TPR_THRESHOLD, c->tpr_threshold);
	}
}

void vmx_load_entry_controls(const struct vmcs_accessor *v,
			     struct vmx_entry_controls *c)
{
	c->pin = v->read(v->ctx, VMCS_PIN_CONTROLS);
	c->proc = v->read(v->ctx, VMCS_PROC_CONTROLS);
	c->proc2 = v->read(v->ctx, VMCS_PROC_CONTROLS2);
	c->exit = v->read(v->ctx, VMCS_EXIT_CONTROLS);
	c->entry = v->read(v->ctx, VMCS_ENTRY_CONTROLS);
	c->exception_bitmap = v->read(v->ctx, VMCS_EXCEPTION_BITMAP);
	c->cr0_mask = v->read(v->ctx, VMCS_CR0_GUEST_HOST_MASK);
	c->cr4_mask = v->read(v->ctx, VMCS_CR4_GUEST_HOST_MASK);
	c->entry_intr_info = v->read(v->ctx, VMCS_ENTRY_INTR_INFO);
	c->entry_error = v->read(v->ctx, VMCS_ENTRY_EXCEPTION_ERROR);
	c->entry_insn_len = v->read(v->ctx, VMCS_ENTRY_INSN_LEN);
	c->eptp = (c->proc2 & PROC2_EPT) ? v->read(v->ctx, VMCS_EPT_POINTER) : 0;
	c->vpid = v->read(v->ctx, VMCS_VPID);
	c->tsc_offset = v->read(v->ctx, VMCS_TSC_OFFSET);
	if (c->proc & PROC_TPR_SHADOW) {
		c->vapic_addr = v->read(v->ctx, VMCS_VIRTUAL_APIC_ADDR);
		c->tpr_threshold = v->read(v->ctx, VMCS_TPR_THRESHOLD);
	} else {
		c->vapic_addr = 0;
		c->tpr_threshold = 0;
	}
}

static void reset_seg(struct vmx_segment *s, u16 sel, u64 base, u32 ar)
{
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->ar = ar;
}

void vmx_reset_guest_state(struct vmx_guest_state *g,
			   const struct vmx_config *cfg)
{
	int i;

	memset(g, 0, sizeof(*g));
	/* SDM vol. 3A table 10-1: CS F000:FFF0 with base FFFF0000. */
	reset_seg(&g->seg[VMX_SEG_CS], 0xf000, 0xffff0000ULL, 0x9b);
	for (i = 0; i < VMX_NR_SEGS; i++)
		if (i != VMX_SEG_CS && i != VMX_SEG_LDTR && i != VMX_SEG_TR)
			reset_seg(&g->seg[i], 0, 0, 0x93);
	reset_seg(&g->seg[VMX_SEG_LDTR], 0, 0, 0x82);
	reset_seg(&g->seg[VMX_SEG_TR], 0, 0, 0x8b);
	g->gdtr_limit = 0xffff;
	g->idtr_limit = 0xffff;
	g->cr0_shadow = CR0_CD | CR0_NW | CR0_ET;
	g->cr0 = vmx_cr0_hw(cfg, g->cr0_shadow);
	g->cr4_shadow = 0;
	g->cr4 = vmx_cr4_hw(cfg, 0);
	g->dr7 = 0x400;
	g->rflags = RFLAGS_FIXED1;
	g->rip = 0xfff0;
	g->pat = 0x0007040600070406ULL;
	g->link_pointer = ~0ULL;
}

/* ---- Checks ---------------------------------------------------------- */

static const char *const vmx_check_names[VMX_CHECK_COUNT] = {
	[VMX_CHECK_OK] = "ok",
	[VMX_CHECK_PIN_RESERVED] = "pin-based controls vs capability MSR",
	[VMX_CHECK_PROC_RESERVED] = "processor-based controls vs capability MSR",
	[VMX_CHECK_PROC2_RESERVED] = "secondary controls vs capability MSR",
	[VMX_CHECK_EXIT_RESERVED] = "VM-exit controls vs capability MSR",
	[VMX_CHECK_ENTRY_RESERVED] = "VM-entry controls vs capability MSR",
	[VMX_CHECK_VNMI_WITHOUT_NMI_EXITING] = "virtual NMIs without NMI exiting",
	[VMX_CHECK_NMI_WINDOW_WITHOUT_VNMI] = "NMI-window exiting without virtual NMIs",
	[VMX_CHECK_UG_WITHOUT_EPT] = "unrestricted guest without EPT",
	[VMX_CHECK_VPID_ZERO] = "VPID enabled with VPID 0",
	[VMX_CHECK_EPTP] = "EPT pointer",
	[VMX_CHECK_ENTRY_INTR_INFO] = "VM-entry interruption information",
	[VMX_CHECK_ENTRY_ERROR_CODE] = "VM-entry deliver-error-code bit",
	[VMX_CHECK_ENTRY_INSN_LEN] = "VM-entry instruction length",
	[VMX_CHECK_VAPIC_ADDR] = "virtual-APIC address",
	[VMX_CHECK_TPR_THRESHOLD] = "TPR threshold (bits 31:4, or above VTPR[7:4])",
	[VMX_CHECK_CR0_FIXED] = "guest CR0 fixed bits",
	[VMX_CHECK_CR0_PG_WITHOUT_PE] = "guest CR0.PG without CR0.PE",
	[VMX_CHECK_CR4_FIXED] = "guest CR4 fixed bits",
	[VMX_CHECK_CR3_WIDTH] = "guest CR3 beyond the physical-address width",
	[VMX_CHECK_IA32E_PAGING] = "IA-32e mode guest without CR0.PG and CR4.PAE",
	[VMX_CHECK_PCIDE_OUTSIDE_IA32E] = "CR4.PCIDE outside IA-32e mode",
	[VMX_CHECK_DR7_HIGH] = "guest DR7 bits 63:32",
	[VMX_CHECK_SYSENTER_CANONICAL] = "guest SYSENTER_ESP/EIP not canonical",
	[VMX_CHECK_PAT] = "guest IA32_PAT",
	[VMX_CHECK_EFER] = "guest IA32_EFER",
	[VMX_CHECK_SEG_TR_SELECTOR] = "TR selector TI bit",
	[VMX_CHECK_SEG_LDTR_SELECTOR] = "LDTR selector TI bit",
	[VMX_CHECK_SEG_SS_RPL] = "SS.RPL differs from CS.RPL",
	[VMX_CHECK_SEG_BASE] = "segment base",
	[VMX_CHECK_SEG_V86] = "virtual-8086 segment",
	[VMX_CHECK_SEG_CS_TYPE] = "CS type",
	[VMX_CHECK_SEG_SS_TYPE] = "SS type",
	[VMX_CHECK_SEG_DATA_TYPE] = "DS/ES/FS/GS type",
	[VMX_CHECK_SEG_S] = "segment S bit",
	[VMX_CHECK_SEG_CS_DPL] = "CS DPL",
	[VMX_CHECK_SEG_SS_DPL] = "SS DPL",
	[VMX_CHECK_SEG_DATA_DPL] = "DS/ES/FS/GS DPL",
	[VMX_CHECK_SEG_P] = "segment not present",
	[VMX_CHECK_SEG_RESERVED] = "segment access-rights reserved bits",
	[VMX_CHECK_SEG_CS_DB] = "CS.D with CS.L in IA-32e mode",
	[VMX_CHECK_SEG_G] = "segment limit vs granularity",
	[VMX_CHECK_SEG_TR] = "TR access rights",
	[VMX_CHECK_SEG_LDTR] = "LDTR access rights",
	[VMX_CHECK_DTABLE] = "GDTR/IDTR",
	[VMX_CHECK_RIP] = "guest RIP",
	[VMX_CHECK_RFLAGS_RESERVED] = "guest RFLAGS reserved bits",
	[VMX_CHECK_RFLAGS_VM] = "RFLAGS.VM in IA-32e mode or real mode",
	[VMX_CHECK_RFLAGS_IF] = "external interrupt injected with RFLAGS.IF=0",
	[VMX_CHECK_ACTIVITY] = "activity state",
	[VMX_CHECK_INTERRUPTIBILITY] = "interruptibility state",
	[VMX_CHECK_PENDING_DBG] = "pending debug exceptions",
	[VMX_CHECK_LINK_POINTER] = "VMCS link pointer",
	[VMX_CHECK_PDPTE] = "PAE PDPTE reserved bits",
};

const char *vmx_check_name(enum vmx_check c)
{
	if ((unsigned int)c >= VMX_CHECK_COUNT || !vmx_check_names[c])
		return "?";
	return vmx_check_names[c];
}

static bool canonical(u64 v)
{
	return (u64)(((s64)v << 16) >> 16) == v;
}

static bool ctl_ok(u64 cap, u32 val)
{
	u32 must_be_1 = (u32)cap, may_be_1 = (u32)(cap >> 32);

	return (val & must_be_1) == must_be_1 && !(val & ~may_be_1);
}

static bool injects(const struct vmx_entry_controls *c, u32 type)
{
	return (c->entry_intr_info & INTR_INFO_VALID) &&
	       (c->entry_intr_info & INTR_INFO_TYPE_MASK) == type;
}

static bool unrestricted(const struct vmx_entry_controls *c)
{
	return (c->proc & PROC_SECONDARY_CONTROLS) &&
	       (c->proc2 & PROC2_UNRESTRICTED_GUEST);
}

static bool ept_on(const struct vmx_entry_controls *c)
{
	return (c->proc & PROC_SECONDARY_CONTROLS) && (c->proc2 & PROC2_EPT);
}

/* Exceptions that push an error code (SDM vol. 3A 6.15). */
static bool pushes_error_code(u32 vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
	       vector == 21;
}

enum vmx_check vmx_check_controls(const struct vmx_caps *caps,
				  const struct vmx_entry_controls *c,
				  const struct vmx_guest_state *g)
{
	u32 proc2 = (c->proc & PROC_SECONDARY_CONTROLS) ? c->proc2 : 0;
	u32 info = c->entry_intr_info;

	if (!ctl_ok(vmx_ctl_msr(caps, VMX_MSR_PINBASED_CTLS), c->pin))
		return VMX_CHECK_PIN_RESERVED;
	if (!ctl_ok(vmx_ctl_msr(caps, VMX_MSR_PROCBASED_CTLS), c->proc))
		return VMX_CHECK_PROC_RESERVED;
	if (!ctl_ok(vmx_ctl_msr(caps, VMX_MSR_PROCBASED_CTLS2), proc2))
		return VMX_CHECK_PROC2_RESERVED;
	if (!ctl_ok(vmx_ctl_msr(caps, VMX_MSR_EXIT_CTLS), c->exit))
		return VMX_CHECK_EXIT_RESERVED;
	if (!ctl_ok(vmx_ctl_msr(caps, VMX_MSR_ENTRY_CTLS), c->entry) ||
	    (c->entry & (ENTRY_TO_SMM | ENTRY_DEACT_DUAL_MONITOR)))
		return VMX_CHECK_ENTRY_RESERVED;
	if ((c->pin & PIN_VIRTUAL_NMIS) && !(c->pin & PIN_NMI_EXITING))
		return VMX_CHECK_VNMI_WITHOUT_NMI_EXITING;
	if ((c->proc & PROC_NMI_WINDOW_EXITING) && !(c->pin & PIN_VIRTUAL_NMIS))
		return VMX_CHECK_NMI_WINDOW_WITHOUT_VNMI;
	if ((proc2 & PROC2_UNRESTRICTED_GUEST) && !(proc2 & PROC2_EPT))
		return VMX_CHECK_UG_WITHOUT_EPT;
	if ((proc2 & PROC2_VPID) && c->vpid == 0)
		return VMX_CHECK_VPID_ZERO;
	if (proc2 & PROC2_EPT) {
		u64 mt = c->eptp & 7, walk = (c->eptp >> 3) & 7;

		if (!(mt == 0 && (caps->ept_vpid & VMX_EPT_CAP_MT_UC)) &&
		    !(mt == 6 && (caps->ept_vpid & VMX_EPT_CAP_MT_WB)))
			return VMX_CHECK_EPTP;
		if (!(walk == 3 && (caps->ept_vpid & VMX_EPT_CAP_PWL4)) &&
		    !(walk == 4 && (caps->ept_vpid & VMX_EPT_CAP_PWL5)))
			return VMX_CHECK_EPTP;
		if ((c->eptp & EPTP_AD_ENABLE) &&
		    !(caps->ept_vpid & VMX_EPT_CAP_AD))
			return VMX_CHECK_EPTP;
		if ((c->eptp & 0xf80) || (c->eptp >> caps->phys_bits))
			return VMX_CHECK_EPTP;
	}
	/*
	 * TPR shadow (27.2.1.1): a 4-KByte aligned virtual-APIC page within
	 * the physical-address width; without virtual-interrupt delivery
	 * (never used here) TPR threshold bits 31:4 are 0, and without
	 * virtualize APIC accesses too, the threshold is at most VTPR[7:4].
	 */
	if (c->proc & PROC_TPR_SHADOW) {
		if ((c->vapic_addr & 0xfff) || (c->vapic_addr >> caps->phys_bits))
			return VMX_CHECK_VAPIC_ADDR;
		if (c->tpr_threshold >> 4)
			return VMX_CHECK_TPR_THRESHOLD;
		if (!(proc2 & PROC2_VIRT_APIC_ACCESSES) &&
		    c->tpr_threshold > (u32)(c->vtpr >> 4))
			return VMX_CHECK_TPR_THRESHOLD;
	}

	/* VM-entry event injection (27.2.1.3) */
	if (info & INTR_INFO_VALID) {
		u32 type = info & INTR_INFO_TYPE_MASK;
		u32 vector = info & INTR_INFO_VECTOR_MASK;
		bool pe = g->cr0 & CR0_PE;
		bool want_err;

		if (info & INTR_INFO_ENTRY_RESERVED)
			return VMX_CHECK_ENTRY_INTR_INFO;
		/* Type 1 is reserved; 7 needs the monitor trap flag. */
		if (type == (1U << 8) ||
		    (type == INTR_TYPE_OTHER &&
		     (!(c->proc & PROC_MONITOR_TRAP_FLAG) || vector)))
			return VMX_CHECK_ENTRY_INTR_INFO;
		if ((type == INTR_TYPE_NMI && vector != 2) ||
		    (type == INTR_TYPE_HW_EXCEPTION && vector > 31))
			return VMX_CHECK_ENTRY_INTR_INFO;
		want_err = type == INTR_TYPE_HW_EXCEPTION &&
			   pushes_error_code(vector) &&
			   (pe || !unrestricted(c));
		if (info & INTR_INFO_HAS_ERROR) {
			/* Real mode (or not an exception): never. */
			if ((unrestricted(c) && !pe) ||
			    type != INTR_TYPE_HW_EXCEPTION)
				return VMX_CHECK_ENTRY_ERROR_CODE;
			if (!want_err && !(caps->basic & (1ULL << 56)))
				return VMX_CHECK_ENTRY_ERROR_CODE;
		} else if (want_err && !(caps->basic & (1ULL << 56))) {
			return VMX_CHECK_ENTRY_ERROR_CODE;
		}
		if (type == INTR_TYPE_SOFT_INTR ||
		    type == INTR_TYPE_PRIV_SOFT_EXCEPTION ||
		    type == INTR_TYPE_SOFT_EXCEPTION) {
			u32 len = c->entry_insn_len;

			if (len > 15 ||
			    (len == 0 && !(caps->misc & VMX_MISC_ZERO_LEN_INJECT)))
				return VMX_CHECK_ENTRY_INSN_LEN;
		}
	}
	return VMX_CHECK_OK;
}

static bool limit_g_ok(const struct vmx_segment *s)
{
	bool g = s->ar & VMX_AR_G;

	if ((s->limit & 0xfff) != 0xfff && g)
		return false;
	if ((s->limit >> 20) && !g)
		return false;
	return true;
}

static bool usable(const struct vmx_segment *s)
{
	return !(s->ar & VMX_AR_UNUSABLE);
}

static u32 ar_type(const struct vmx_segment *s)
{
	return s->ar & VMX_AR_TYPE_MASK;
}

static u32 ar_dpl(const struct vmx_segment *s)
{
	return (s->ar & VMX_AR_DPL_MASK) >> VMX_AR_DPL_SHIFT;
}

static enum vmx_check check_segments(const struct vmx_entry_controls *c,
				     const struct vmx_guest_state *g)
{
	const struct vmx_segment *cs = &g->seg[VMX_SEG_CS];
	const struct vmx_segment *ss = &g->seg[VMX_SEG_SS];
	const struct vmx_segment *tr = &g->seg[VMX_SEG_TR];
	const struct vmx_segment *ldtr = &g->seg[VMX_SEG_LDTR];
	bool v86 = g->rflags & RFLAGS_VM;
	bool ia32e = c->entry & ENTRY_IA32E_MODE_GUEST;
	bool ug = unrestricted(c);
	static const int data_segs[] = { VMX_SEG_DS, VMX_SEG_ES, VMX_SEG_FS,
					 VMX_SEG_GS };
	int i;

	/* Selectors */
	if (tr->selector & 4)
		return VMX_CHECK_SEG_TR_SELECTOR;
	if (usable(ldtr) && (ldtr->selector & 4))
		return VMX_CHECK_SEG_LDTR_SELECTOR;
	if (!v86 && !ug && (ss->selector & 3) != (cs->selector & 3))
		return VMX_CHECK_SEG_SS_RPL;

	/* Bases */
	if (!canonical(tr->base) || !canonical(g->seg[VMX_SEG_FS].base) ||
	    !canonical(g->seg[VMX_SEG_GS].base) ||
	    (usable(ldtr) && !canonical(ldtr->base)) || (cs->base >> 32))
		return VMX_CHECK_SEG_BASE;
	for (i = 0; i < VMX_NR_SEGS; i++)
		if ((i == VMX_SEG_SS || i == VMX_SEG_DS || i == VMX_SEG_ES) &&
		    usable(&g->seg[i]) && (g->seg[i].base >> 32))
			return VMX_CHECK_SEG_BASE;

	if (v86) {
		for (i = 0; i <= VMX_SEG_GS; i++) {
			const struct vmx_segment *s = &g->seg[i];

			if (s->base != (u64)s->selector << 4 ||
			    s->limit != 0xffff || s->ar != 0xf3)
				return VMX_CHECK_SEG_V86;
		}
	} else {
		u32 t = ar_type(cs);

		/* CS (always checked) */
		if (!((t & 9) == 9 || (ug && t == 3)))
			return VMX_CHECK_SEG_CS_TYPE;
		if (!(cs->ar & VMX_AR_S))
			return VMX_CHECK_SEG_S;
		if ((t == 3 && ar_dpl(cs) != 0) ||
		    ((t == 9 || t == 11) && ar_dpl(cs) != ar_dpl(ss)) ||
		    ((t == 13 || t == 15) && ar_dpl(cs) > ar_dpl(ss)))
			return VMX_CHECK_SEG_CS_DPL;
		if (!(cs->ar & VMX_AR_P))
			return VMX_CHECK_SEG_P;
		if (cs->ar & 0xfffe0f00U)
			return VMX_CHECK_SEG_RESERVED;
		if (ia32e && (cs->ar & VMX_AR_L) && (cs->ar & VMX_AR_DB))
			return VMX_CHECK_SEG_CS_DB;
		if (!limit_g_ok(cs))
			return VMX_CHECK_SEG_G;

		/* SS */
		if (!ug && ar_dpl(ss) != (ss->selector & 3u))
			return VMX_CHECK_SEG_SS_DPL;
		if ((t == 3 || !(g->cr0 & CR0_PE)) && ar_dpl(ss) != 0)
			return VMX_CHECK_SEG_SS_DPL;
		if (usable(ss)) {
			if (ar_type(ss) != 3 && ar_type(ss) != 7)
				return VMX_CHECK_SEG_SS_TYPE;
			if (!(ss->ar & VMX_AR_S))
				return VMX_CHECK_SEG_S;
			if (!(ss->ar & VMX_AR_P))
				return VMX_CHECK_SEG_P;
			if (ss->ar & VMX_AR_RESERVED)
				return VMX_CHECK_SEG_RESERVED;
			if (!limit_g_ok(ss))
				return VMX_CHECK_SEG_G;
		}

		/* DS, ES, FS, GS */
		for (i = 0; i < 4; i++) {
			const struct vmx_segment *s = &g->seg[data_segs[i]];
			u32 st = ar_type(s);

			if (!usable(s))
				continue;
			if (!(st & 1) || ((st & 8) && !(st & 2)))
				return VMX_CHECK_SEG_DATA_TYPE;
			if (!(s->ar & VMX_AR_S))
				return VMX_CHECK_SEG_S;
			if (!ug && st <= 11 && ar_dpl(s) < (s->selector & 3u))
				return VMX_CHECK_SEG_DATA_DPL;
			if (!(s->ar & VMX_AR_P))
				return VMX_CHECK_SEG_P;
			if (s->ar & VMX_AR_RESERVED)
				return VMX_CHECK_SEG_RESERVED;
			if (!limit_g_ok(s))
				return VMX_CHECK_SEG_G;
		}
	}

	/* TR: always usable, a busy TSS (64-bit in IA-32e mode). */
	if (!(ar_type(tr) == 11 || (!ia32e && ar_type(tr) == 3)) ||
	    (tr->ar & VMX_AR_S) || !(tr->ar & VMX_AR_P) ||
	    (tr->ar & (VMX_AR_RESERVED | VMX_AR_UNUSABLE)) || !limit_g_ok(tr))
		return VMX_CHECK_SEG_TR;
	if (usable(ldtr) &&
	    (ar_type(ldtr) != 2 || (ldtr->ar & VMX_AR_S) ||
	     !(ldtr->ar & VMX_AR_P) || (ldtr->ar & VMX_AR_RESERVED) ||
	     !limit_g_ok(ldtr)))
		return VMX_CHECK_SEG_LDTR;
	return VMX_CHECK_OK;
}

static bool pat_ok(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

enum vmx_check vmx_check_guest_state(const struct vmx_caps *caps,
				     const struct vmx_entry_controls *c,
				     const struct vmx_guest_state *g)
{
	bool ug = unrestricted(c);
	bool ia32e = c->entry & ENTRY_IA32E_MODE_GUEST;
	u64 cr0_fixed0 = caps->cr0_fixed0 & ~(ug ? CR0_PE | CR0_PG : 0);
	u32 intr = g->interruptibility;
	enum vmx_check r;

	/* Control registers, debug registers, MSRs (27.3.1.1) */
	if ((g->cr0 & cr0_fixed0) != cr0_fixed0 || (g->cr0 & ~caps->cr0_fixed1))
		return VMX_CHECK_CR0_FIXED;
	if ((g->cr0 & CR0_PG) && !(g->cr0 & CR0_PE))
		return VMX_CHECK_CR0_PG_WITHOUT_PE;
	if ((g->cr4 & caps->cr4_fixed0) != caps->cr4_fixed0 ||
	    (g->cr4 & ~caps->cr4_fixed1))
		return VMX_CHECK_CR4_FIXED;
	if (g->cr3 >> caps->phys_bits)
		return VMX_CHECK_CR3_WIDTH;
	if (ia32e && (!(g->cr0 & CR0_PG) || !(g->cr4 & CR4_PAE)))
		return VMX_CHECK_IA32E_PAGING;
	if (!ia32e && (g->cr4 & CR4_PCIDE))
		return VMX_CHECK_PCIDE_OUTSIDE_IA32E;
	if ((c->entry & ENTRY_LOAD_DEBUG_CONTROLS) && (g->dr7 >> 32))
		return VMX_CHECK_DR7_HIGH;
	if (!canonical(g->sysenter_esp) || !canonical(g->sysenter_eip))
		return VMX_CHECK_SYSENTER_CANONICAL;
	if ((c->entry & ENTRY_LOAD_PAT) && !pat_ok(g->pat))
		return VMX_CHECK_PAT;
	if (c->entry & ENTRY_LOAD_EFER) {
		bool lma = g->efer & EFER_LMA, lme = g->efer & EFER_LME;

		if (g->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return VMX_CHECK_EFER;
		if (lma != ia32e || ((g->cr0 & CR0_PG) && lma != lme))
			return VMX_CHECK_EFER;
	}

	/* Segment registers (27.3.1.2) */
	r = check_segments(c, g);
	if (r)
		return r;

	/* Descriptor-table registers (27.3.1.3) */
	if (!canonical(g->gdtr_base) || !canonical(g->idtr_base) ||
	    (g->gdtr_limit >> 16) || (g->idtr_limit >> 16))
		return VMX_CHECK_DTABLE;

	/* RIP and RFLAGS (27.3.1.4) */
	if (ia32e && (g->seg[VMX_SEG_CS].ar & VMX_AR_L)) {
		if (!canonical(g->rip))
			return VMX_CHECK_RIP;
	} else if (g->rip >> 32) {
		return VMX_CHECK_RIP;
	}
	if ((g->rflags & RFLAGS_RESERVED) || !(g->rflags & RFLAGS_FIXED1))
		return VMX_CHECK_RFLAGS_RESERVED;
	if ((g->rflags & RFLAGS_VM) && (ia32e || !(g->cr0 & CR0_PE)))
		return VMX_CHECK_RFLAGS_VM;
	if (injects(c, INTR_TYPE_EXT_INTR) && !(g->rflags & RFLAGS_IF))
		return VMX_CHECK_RFLAGS_IF;

	/* Non-register state (27.3.1.5) */
	if (g->activity > ACTIVITY_WAIT_SIPI ||
	    (g->activity && !(caps->misc & (VMX_MISC_ACTIVITY_HLT << (g->activity - 1)))))
		return VMX_CHECK_ACTIVITY;
	if (g->activity == ACTIVITY_HLT && ar_dpl(&g->seg[VMX_SEG_SS]) != 0)
		return VMX_CHECK_ACTIVITY;
	if ((intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
	    g->activity != ACTIVITY_ACTIVE)
		return VMX_CHECK_ACTIVITY;
	if ((c->entry_intr_info & INTR_INFO_VALID) &&
	    g->activity != ACTIVITY_ACTIVE && g->activity != ACTIVITY_HLT)
		return VMX_CHECK_ACTIVITY;

	if ((intr & INTERRUPTIBILITY_RESERVED) ||
	    ((intr & INTERRUPTIBILITY_STI) && (intr & INTERRUPTIBILITY_MOV_SS)) ||
	    ((intr & INTERRUPTIBILITY_STI) && !(g->rflags & RFLAGS_IF)) ||
	    (intr & INTERRUPTIBILITY_SMI))
		return VMX_CHECK_INTERRUPTIBILITY;
	if (injects(c, INTR_TYPE_EXT_INTR) &&
	    (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return VMX_CHECK_INTERRUPTIBILITY;
	if (injects(c, INTR_TYPE_NMI) &&
	    ((intr & INTERRUPTIBILITY_MOV_SS) ||
	     ((c->pin & PIN_VIRTUAL_NMIS) && (intr & INTERRUPTIBILITY_NMI))))
		return VMX_CHECK_INTERRUPTIBILITY;

	if (g->pending_dbg & PENDING_DBG_RESERVED)
		return VMX_CHECK_PENDING_DBG;
	if ((intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) ||
	    g->activity == ACTIVITY_HLT) {
		bool tf = g->rflags & RFLAGS_TF;
		bool btf = g->debugctl & DEBUGCTL_BTF;
		bool bs = g->pending_dbg & PENDING_DBG_BS;

		if (bs != (tf && !btf))
			return VMX_CHECK_PENDING_DBG;
	}
	if (g->link_pointer != ~0ULL)
		return VMX_CHECK_LINK_POINTER;

	/* PDPTEs (27.3.1.6): PAE paging with EPT loads them from the VMCS. */
	if (ept_on(c) && (g->cr0 & CR0_PG) && (g->cr4 & CR4_PAE) && !ia32e) {
		int i;

		for (i = 0; i < 4; i++) {
			u64 e = g->pdpte[i];

			if ((e & 1) && ((e & 0x1e6ULL) || (e >> caps->phys_bits)))
				return VMX_CHECK_PDPTE;
		}
	}
	return VMX_CHECK_OK;
}

/* ---- Real mode as virtual-8086 mode ------------------------------------ */

int vmx_rmode_hw_state(const struct vmx_guest_state *g,
		       struct vmx_guest_state *hw, u32 *stepped)
{
	int i;

	*hw = *g;
	*stepped = 0;
	for (i = VMX_SEG_ES; i <= VMX_SEG_GS; i++) {
		const struct vmx_segment *s = &g->seg[i];
		struct vmx_segment *h = &hw->seg[i];

		if (i == VMX_SEG_CS && s->base == 0xffff0000ULL) {
			/*
			 * The reset state's CS (F000 with base FFFF0000):
			 * run its alias below 1 MiB, where PC firmware
			 * sits too (as upstream KVM does).
			 */
			h->selector = 0xf000;
		} else if (s->base != (u64)s->selector << 4) {
			/*
			 * A base loaded in protected mode (before clearing
			 * PE, or big real mode): vm86 derives the base
			 * from the selector, so run with the selector
			 * that gives it; vmx_rmode_merge keeps the guest's
			 * own selector while it is not reloaded.
			 */
			if (s->base <= 0xffff0 && !(s->base & 0xf)) {
				h->selector = s->base >> 4;
			} else if (i == VMX_SEG_FS || i == VMX_SEG_GS) {
				/*
				 * Used only through a prefix: the
				 * instructions naming it are emulated,
				 * the CPU never sees it (selector 0).
				 */
				*stepped |= 1U << i;
				h->selector = 0;
			} else {
				return i + 1;
			}
		}
		h->base = (u64)h->selector << 4;
		h->limit = 0xffff;
		h->ar = VMX_RMODE_SEG_AR;
	}
	/*
	 * TR: a usable busy 32-bit TSS with limit 0.  The CPU then finds no
	 * I/O permission bitmap: every IN/OUT/INS/OUTS #GPs (before the VM
	 * exit, SDM vol. 3C 26.1.1).  IOPL 0 (and CR4.VME 0): CLI, STI,
	 * PUSHF, POPF, IRET and INT n #GP too (SDM vol. 3A 20.2.7, 20.3).
	 * So no TSS in guest memory is needed, and the guest's IDTR and
	 * IOPL stay as they are (SIDT and PUSHF see them): those #GPs
	 * exit, and kvm.ko does the instruction.
	 */
	hw->seg[VMX_SEG_TR].selector = 0;
	hw->seg[VMX_SEG_TR].base = 0;
	hw->seg[VMX_SEG_TR].limit = 0;
	hw->seg[VMX_SEG_TR].ar = 0x8b;
	hw->seg[VMX_SEG_LDTR].selector = 0;
	hw->seg[VMX_SEG_LDTR].base = 0;
	hw->seg[VMX_SEG_LDTR].limit = 0;
	hw->seg[VMX_SEG_LDTR].ar = VMX_AR_UNUSABLE;
	hw->rflags = (g->rflags & ~RFLAGS_IOPL) | RFLAGS_VM;
	return 0;
}

void vmx_rmode_merge(struct vmx_guest_state *g,
		     const struct vmx_guest_state *put,
		     const struct vmx_guest_state *out)
{
	int i;

	for (i = VMX_SEG_ES; i <= VMX_SEG_GS; i++) {
		struct vmx_segment *s = &g->seg[i];

		/*
		 * A segment load in real mode sets the base from the
		 * selector and keeps limit and attributes (SDM vol. 3A
		 * 20.1.1); one not reloaded keeps its base (and the limit
		 * of an unreal segment).  The selector is what vm86 ran
		 * with: for a base from protected mode the one that gives
		 * it, which MOV from Sreg, PUSH and far calls in vm86 have
		 * already seen, so INT n and IRET must see it too.
		 */
		if (out->seg[i].selector != put->seg[i].selector)
			s->base = (u64)out->seg[i].selector << 4;
		else if (put->seg[i].base != s->base)
			continue;	/* a stepped FS/GS, not reloaded */
		s->selector = out->seg[i].selector;
	}
	g->rip = out->rip;
	g->rsp = out->rsp;
	/* The guest's IOPL (POPF/IRET #GP in vm86 with IOPL 0: emulated). */
	g->rflags = (out->rflags & ~(RFLAGS_VM | RFLAGS_IOPL)) |
		    (g->rflags & RFLAGS_IOPL);
	g->interruptibility = out->interruptibility;
	g->activity = out->activity;
	g->pending_dbg = out->pending_dbg;
	g->dr7 = out->dr7;
	g->debugctl = out->debugctl;
	g->sysenter_cs = out->sysenter_cs;
	g->sysenter_esp = out->sysenter_esp;
	g->sysenter_eip = out->sysenter_eip;
	g->pat = out->pat;
}

u32 vmx_pmode_hw_state(const struct vmx_guest_state *g,
		       struct vmx_guest_state *hw, u32 *guest_ar)
{
	static const int data_segs[] = {
		VMX_SEG_ES, VMX_SEG_DS, VMX_SEG_FS, VMX_SEG_GS
	};
	u32 fixed = 0;
	int i;

	/* vm86 segments follow other rules (vmx_rmode_hw_state). */
	if (g->rflags & RFLAGS_VM)
		return 0;
	for (i = 0; i < 4; i++) {
		const struct vmx_segment *s = &g->seg[data_segs[i]];
		u32 rpl = s->selector & 3u;

		if ((s->ar & VMX_AR_UNUSABLE) || !(s->ar & VMX_AR_S) ||
		    (s->ar & VMX_AR_TYPE_MASK) > 11 ||
		    ((s->ar & VMX_AR_DPL_MASK) >> VMX_AR_DPL_SHIFT) >= rpl)
			continue;
		if (!fixed)
			*hw = *g;
		fixed |= 1U << data_segs[i];
		guest_ar[data_segs[i]] = s->ar;
		hw->seg[data_segs[i]].ar = (s->ar & ~VMX_AR_DPL_MASK) |
					   (rpl << VMX_AR_DPL_SHIFT);
	}
	return fixed;
}

u32 vmx_pmode_merge(struct vmx_guest_state *g,
		    const struct vmx_guest_state *put, const u32 *guest_ar,
		    u32 fixed)
{
	int i;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		const struct vmx_segment *p = &put->seg[i];
		struct vmx_segment *s = &g->seg[i];

		if (!(fixed & (1U << i)))
			continue;
		/* Reloaded (from a descriptor): the CPU's value is the guest's. */
		if (s->selector != p->selector || s->base != p->base ||
		    s->limit != p->limit || s->ar != p->ar) {
			fixed &= ~(1U << i);
			continue;
		}
		s->ar = guest_ar[i];
	}
	return fixed;
}

bool vmx_rmode_uses_stepped(const u8 *insn, int n, u32 stepped)
{
	int i;

	for (i = 0; i < n; i++) {
		switch (insn[i]) {
		case 0x64:
			if (stepped & (1U << VMX_SEG_FS))
				return true;
			continue;
		case 0x65:
			if (stepped & (1U << VMX_SEG_GS))
				return true;
			continue;
		case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			continue;
		}
		return false;
	}
	/* Prefixes only (or nothing) fetched: let the emulator say. */
	return n > 0;
}

void vmx_rmode_decode(const u8 *insn, int n, struct vmx_rmode_insn *d)
{
	int i;
	u8 op;

	memset(d, 0, sizeof(*d));
	d->seg = -1;
	for (i = 0; i < n; i++) {
		switch (insn[i]) {
		case 0x66: d->o32 = true; continue;
		case 0x67: d->a32 = true; continue;
		case 0xf2: case 0xf3: d->rep = true; continue;
		case 0xf0: continue;
		case 0x26: d->seg = VMX_SEG_ES; continue;
		case 0x2e: d->seg = VMX_SEG_CS; continue;
		case 0x36: d->seg = VMX_SEG_SS; continue;
		case 0x3e: d->seg = VMX_SEG_DS; continue;
		case 0x64: d->seg = VMX_SEG_FS; continue;
		case 0x65: d->seg = VMX_SEG_GS; continue;
		}
		break;
	}
	if (i >= n)
		return;		/* VMX_RM_EMULATE: nothing to go on */
	op = d->opcode = insn[i];
	d->len = i + 1;
	switch (op) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:	/* IN/OUT imm8 */
	case 0xec: case 0xed: case 0xee: case 0xef:	/* IN/OUT DX */
		if (op < 0xec) {
			if (i + 1 >= n)
				break;
			d->port_imm = true;
			d->port = insn[i + 1];
			d->len++;
		}
		d->kind = VMX_RM_IO;
		d->in = !(op & 2);
		d->size = op & 1 ? (d->o32 ? 4 : 2) : 1;
		return;
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:	/* INS/OUTS */
		d->kind = VMX_RM_STRING_IO;
		d->in = op < 0x6e;
		d->size = op & 1 ? (d->o32 ? 4 : 2) : 1;
		if (d->in)
			d->seg = -1;	/* ES:DI, no override */
		else if (d->seg < 0)
			d->seg = VMX_SEG_DS;
		return;
	case 0xfa: case 0xfb: case 0x9c: case 0x9d: case 0xcf:
		d->kind = VMX_RM_FLAGS;
		return;
	case 0xcd:					/* INT n */
		if (i + 1 >= n)
			break;
		d->kind = VMX_RM_INT;
		d->vector = insn[i + 1];
		d->len++;
		return;
	case 0xcc:					/* INT3 */
		d->kind = VMX_RM_INT;
		d->vector = 3;
		return;
	case 0xce:					/* INTO */
		d->kind = VMX_RM_INT;
		d->vector = 4;
		return;
	case 0xf4:
		d->kind = VMX_RM_HLT;
		return;
	case 0x0f:
		if (i + 1 >= n)
			break;
		switch (insn[i + 1]) {
		case 0x30: d->kind = VMX_RM_WRMSR; break;
		case 0x32: d->kind = VMX_RM_RDMSR; break;
		case 0x08: case 0x09: d->kind = VMX_RM_NOP; break;
		default: return;
		}
		d->len++;
		return;
	}
	d->kind = VMX_RM_EMULATE;
}

/* ---- Control registers ------------------------------------------------ */

u64 vmx_cr0_hw(const struct vmx_config *cfg, u64 guest_cr0)
{
	return (guest_cr0 | cfg->cr0_fixed0) & cfg->cr0_fixed1;
}

u64 vmx_cr4_hw(const struct vmx_config *cfg, u64 guest_cr4)
{
	return (guest_cr4 | cfg->cr4_fixed0) & cfg->cr4_fixed1;
}

/*
 * Shadow paging (SDM vol. 3A 4.1, 4.4): the CPU walks our shadow tables,
 * which are always in PAE or long-mode format, so paging and PAE are on
 * whatever the guest has; WP is on because the shadow MMU emulates the
 * guest's WP=0 with supervisor-only writable leaves; PCIDE off because
 * the shadow root has no PCID.  With the guest's paging off its
 * identity map is user-accessible, so SMEP/SMAP must be off then; PSE
 * means nothing under PAE.
 */
u64 vmx_shadow_cr0_hw(const struct vmx_config *cfg, u64 guest_cr0)
{
	return vmx_cr0_hw(cfg, guest_cr0 | CR0_PG | CR0_WP);
}

u64 vmx_shadow_cr4_hw(const struct vmx_config *cfg, u64 guest_cr4,
		      bool guest_paging)
{
	u64 cr4 = (guest_cr4 | CR4_PAE) & ~(CR4_PCIDE | CR4_PSE);

	if (!guest_paging)
		cr4 &= ~(CR4_SMEP | CR4_SMAP);
	return vmx_cr4_hw(cfg, cr4);
}

/*
 * EFER as the CPU runs it under shadow paging: NXE on so that shadow
 * entries can forbid execution whatever the guest's EFER says; LME only
 * together with LMA, since with CR0.PG always 1 the CPU would be in
 * IA-32e mode (entry checks LMA == LME when CR0.PG, 27.3.1.1).
 */
u64 vmx_shadow_efer_hw(u64 guest_efer)
{
	if (!(guest_efer & EFER_LMA))
		guest_efer &= ~EFER_LME;
	return guest_efer | EFER_NXE;
}

u64 vmx_cr_guest_view(u64 hw, u64 shadow, u64 mask)
{
	return (hw & ~mask) | (shadow & mask);
}

int vmx_cr0_write(u64 old_cr0, u64 val, u64 cr4, bool cs_l, u64 *efer)
{
	bool lme = *efer & EFER_LME;

	if (val >> 32)
		return -1;
	if ((val & CR0_PG) && !(val & CR0_PE))
		return -1;
	if ((val & CR0_NW) && !(val & CR0_CD))
		return -1;
	if ((val & CR0_PG) && !(old_cr0 & CR0_PG) && lme) {
		/* Entering IA-32e mode needs PAE, and not from a 64-bit CS. */
		if (!(cr4 & CR4_PAE) || cs_l)
			return -1;
	}
	/* Leaving paging from 64-bit mode is not allowed (MOV CR0 #GP). */
	if (!(val & CR0_PG) && (old_cr0 & CR0_PG) && (*efer & EFER_LMA) && cs_l)
		return -1;
	if ((val & CR0_PG) && lme)
		*efer |= EFER_LMA;
	else
		*efer &= ~EFER_LMA;
	return 0;
}

/* ---- Exit decoding ------------------------------------------------ */

void vmx_decode_io(u64 qual, u32 insn_info, bool insn_info_valid,
		   struct vmx_io_exit *io)
{
	io->size = (qual & IO_QUAL_SIZE_MASK) + 1;
	io->in = qual & IO_QUAL_IN;
	io->string = qual & IO_QUAL_STRING;
	io->rep = qual & IO_QUAL_REP;
	io->port = (u16)(qual >> IO_QUAL_PORT_SHIFT);
	io->addr_size = 0;
	io->seg = -1;
	if (io->string && insn_info_valid) {
		u32 as = (insn_info >> INSN_INFO_ADDR_SIZE_SHIFT) & 7;

		io->addr_size = as <= 2 ? 2U << as : 0;
		/* INS always writes through ES; the field is undefined. */
		if (!io->in)
			io->seg = (insn_info >> INSN_INFO_SEG_SHIFT) & 7;
	}
}

void vmx_decode_cr(u64 qual, struct vmx_cr_exit *cr)
{
	cr->cr = qual & CR_QUAL_CR_MASK;
	cr->type = (qual >> CR_QUAL_TYPE_SHIFT) & 3;
	cr->lmsw_memory = qual & CR_QUAL_LMSW_MEMORY;
	cr->gpr = (qual >> CR_QUAL_GPR_SHIFT) & 0xf;
	cr->lmsw_data = (u16)(qual >> CR_QUAL_LMSW_DATA_SHIFT);
}

void vmx_decode_ept_violation(u64 qual, struct vmx_ept_exit *e)
{
	e->read = qual & EPT_QUAL_READ;
	e->write = qual & EPT_QUAL_WRITE;
	e->fetch = qual & EPT_QUAL_FETCH;
	e->present = qual & (EPT_QUAL_READABLE | EPT_QUAL_WRITABLE |
			     EPT_QUAL_EXECUTABLE);
	e->nmi_unblocked = qual & EPT_QUAL_NMI_UNBLOCKED_IRET;
}

u32 vmx_reinject_info(u32 idt)
{
	u32 type = idt & INTR_INFO_TYPE_MASK;

	if (!(idt & INTR_INFO_VALID))
		return 0;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SOFT_EXCEPTION)
		return 0;
	/* Bit 12 is undefined in IDT-vectoring info and reserved on entry. */
	return idt & (INTR_INFO_VALID | INTR_INFO_HAS_ERROR |
		      INTR_INFO_TYPE_MASK | INTR_INFO_VECTOR_MASK);
}

bool vmx_exit_refaults_iret(u32 exit_reason, u32 exit_intr_info, u64 qual,
			    u32 idt_vectoring_info)
{
	/* With an event being delivered the bit is undefined. */
	if (idt_vectoring_info & INTR_INFO_VALID)
		return false;
	switch (EXIT_REASON_BASIC(exit_reason)) {
	case EXIT_REASON_EXCEPTION_NMI:
		return (exit_intr_info & INTR_INFO_VALID) &&
		       (exit_intr_info & INTR_INFO_NMI_UNBLOCKED_IRET) &&
		       (exit_intr_info & INTR_INFO_VECTOR_MASK) != 8;
	case EXIT_REASON_EPT_VIOLATION:
		return qual & EPT_QUAL_NMI_UNBLOCKED_IRET;
	default:
		return false;
	}
}

u32 vmx_entry_info_from_event(u32 event, bool protected_mode, u32 *insn_len)
{
	u32 info = event & (INTR_INFO_VALID | INTR_INFO_HAS_ERROR |
			    INTR_INFO_TYPE_MASK | INTR_INFO_VECTOR_MASK);

	*insn_len = 0;
	if (!(info & INTR_INFO_VALID))
		return 0;
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_SOFT_INTR)
		*insn_len = 2;	/* INT n: CD ib */
	if (!protected_mode)
		info &= ~INTR_INFO_HAS_ERROR;
	return info;
}

/* ---- EPT ------------------------------------------------------------ */

u64 vmx_ept_table_entry(u64 table_pa)
{
	/* Non-leaf: RWX, bits 7:3 reserved as 0 (no large pages here). */
	return (table_pa & EPT_ADDR_MASK) | EPT_READ | EPT_WRITE | EPT_EXEC;
}

u64 vmx_ept_leaf(u64 page_pa, bool writable)
{
	/*
	 * Write-back, with the guest's PAT combined in (IPAT clear), as for
	 * the guest's own RAM on bare metal.  Never write without read:
	 * that combination is a misconfiguration.
	 */
	return (page_pa & EPT_ADDR_MASK) | EPT_READ | EPT_EXEC |
	       (EPT_MEMTYPE_WB << EPT_MEMTYPE_SHIFT) |
	       (writable ? EPT_WRITE : 0);
}

u64 vmx_eptp(u64 root_pa, int levels)
{
	return (root_pa & EPT_ADDR_MASK) | EPTP_MEMTYPE_WB |
	       ((u64)(levels - 1) << EPTP_WALK_SHIFT);
}
