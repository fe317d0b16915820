/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure logic of the VMX backend: control derivation from the
 * capability MSRs, the software copy of the guest-state area and its SDM
 * 26.3 consistency checks, access-rights conversion, exit decoding, event
 * re-injection and EPT entry construction.  Portable (kvm_portable.h
 * only): the kernel uses it with VMREAD/VMWRITE, the unit tests with a
 * simulated VMCS.
 *
 * What is checked (vmx_check_controls / vmx_check_guest_state) is a
 * subset of SDM vol. 3C 27.2 and 27.3 (26.2/26.3 in older editions):
 * those rules our own state could break.  Each check has an enum value
 * so a failed entry can say which rule it broke.
 */
#ifndef KVM_VMX_LOGIC_H
#define KVM_VMX_LOGIC_H

#include "kvm_portable.h"
#include "vmcs_defs.h"

/* Raw capability MSR values; TRUE_* are 0 when IA32_VMX_BASIC[55] is 0. */
struct vmx_caps {
	u64 basic;
	u64 pin, proc, proc2, exit, entry;
	u64 true_pin, true_proc, true_exit, true_entry;
	u64 misc;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid;
	u8 phys_bits;	/* host MAXPHYADDR (CPUID 0x80000008) */
};

/* The controls the backend runs with, derived once at module load. */
struct vmx_config {
	u32 pin, proc, proc2, exit, entry;	/* entry without IA-32e mode */
	u32 exception_bitmap;
	bool ept;		/* else shadow paging (kernel/mmu/shadow.c) */
	bool unrestricted;	/* unrestricted guest (needs EPT) */
	bool vpid;
	bool invept_single;	/* else all-context */
	bool invvpid_single;	/* else all-context (shadow paging + VPID) */
	bool ins_outs_info;	/* exit instruction info for INS/OUTS */
	bool ple;		/* PAUSE-loop exiting (VMCS_PLE_GAP/WINDOW) */
	bool tpr_shadow;	/* "use TPR shadow" usable, CR8 exiting clearable */
	u8 ept_levels;		/* 4 */
	u64 cr0_fixed0, cr0_fixed1;	/* with unrestricted guest applied */
	u64 cr4_fixed0, cr4_fixed1;
	u64 cr0_host_owned;	/* CR0 guest/host mask */
};

/*
 * Adjust @want to what a control MSR allows: its low half lists bits
 * that must be 1, its high half bits that may be 1.  Bits in @required
 * that may not be 1 make it fail (-1); bits of @optional that may not be
 * 1 are dropped.
 */
int vmx_adjust_controls(u64 cap_msr, u32 required, u32 optional, u32 *out);

/* The control MSR to use: TRUE_* when IA32_VMX_BASIC[55] says so. */
u64 vmx_ctl_msr(const struct vmx_caps *c, u32 msr);

/*
 * Derive the backend's configuration.  Returns 0, or -1 with *why set to
 * a sentence naming the missing feature.
 */
int vmx_derive_config(const struct vmx_caps *c, struct vmx_config *cfg,
		      const char **why);
/*
 * The same for either paging mode: @ept false derives the controls for
 * shadow paging (CR3, INVLPG and #PF exits, no EPT, hence no
 * unrestricted guest).  vmx_derive_config is the EPT case.
 */
int vmx_derive_config_paging(const struct vmx_caps *c, struct vmx_config *cfg,
			     bool ept, const char **why);

/*
 * The secondary processor-based controls for a vCPU whose CPUID does or
 * does not offer INVPCID: cfg->proc2 without the controls that guest
 * must not have (instructions its CPUID does not list #UD).
 */
u32 vmx_proc2_for_guest(const struct vmx_config *cfg, bool cpuid_invpcid);

/*
 * The primary processor-based controls for a vCPU with (@lapic) or
 * without an in-kernel LAPIC.  With one, and where cfg->tpr_shadow, MOV
 * CR8 reads and writes the virtual-APIC page's VTPR (offset 0x80) without
 * exiting (SDM vol. 3C 30.3): "use TPR shadow" on, CR8-load and -store
 * exiting off.  Without, CR8 accesses exit (userspace owns CR8).
 */
u32 vmx_proc_for_vcpu(const struct vmx_config *cfg, bool lapic);

/*
 * Where a vCPU's VMCS is active and its launch state (SDM vol. 3C 25.1,
 * 25.11.3): VMCLEAR makes it inactive and clear, VMPTRLD active and
 * current on that CPU without touching the launch state, a successful
 * VMLAUNCH launched.  VMLAUNCH needs a clear VMCS, VMRESUME a launched
 * one (VM-instruction errors 4 and 5), and a VMCS may be active on one
 * CPU only: before another CPU loads it, the old one must VMCLEAR it.
 * kvm.ko VMCLEARs in vcpu_put, on the CPU the thread leaves, so a VMCS
 * is active on at most the CPU its thread runs on.
 */
struct vmx_vmcs_state {
	int active_cpu;		/* -1: clear, in memory only */
	bool launched;
};

void vmx_vmcs_state_init(struct vmx_vmcs_state *s);
/*
 * Before an entry on @cpu, whose current VMCS is ours or not:
 * *vmptrld says whether to load it, the return value whether to
 * VMRESUME (else VMLAUNCH).  Records it as active on @cpu.
 */
bool vmx_vmcs_before_entry(struct vmx_vmcs_state *s, int cpu,
			   bool current_here, bool *vmptrld);
/*
 * After VMLAUNCH/VMRESUME: @entered is false when the instruction failed
 * or the entry failed (exit reason bit 31).  Returns whether to VMCLEAR
 * now: after a failure the launch state is not relied on.
 */
bool vmx_vmcs_after_entry(struct vmx_vmcs_state *s, bool entered);
/* The thread leaves @cpu: whether to VMCLEAR there (then clear). */
bool vmx_vmcs_put(struct vmx_vmcs_state *s, int cpu);

/* ---- Segments ------------------------------------------------------ */

/* A segment as kvm_segment describes it (see kvm-abi.h). */
struct vmx_seg_attrs {
	u8 type, s, dpl, present, avl, l, db, g, unusable;
};

/*
 * The common code numbers segment registers ES CS SS DS FS GS TR LDTR
 * (enum kvm_seg_reg, as upstream); the VMCS's guest-state fields go ES CS
 * SS DS FS GS LDTR TR (SDM vol. 3C appendix B, encodings 0x800-0x80e).
 * vmx_seg_index maps the first to the second (struct vmx_guest_state's
 * seg[] is in VMCS order); vmx.c checks the common values at build time.
 */
#define VMX_COMMON_SREG_TR	6
#define VMX_COMMON_SREG_LDTR	7
int vmx_seg_index(int common_seg);

u32 vmx_ar_pack(const struct vmx_seg_attrs *a);
void vmx_ar_unpack(u32 ar, struct vmx_seg_attrs *a);

/* ---- The guest-state area, in software ------------------------------ */

struct vmx_segment {
	u64 base;
	u32 limit;
	u32 ar;
	u16 selector;
};

struct vmx_guest_state {
	struct vmx_segment seg[VMX_NR_SEGS];
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	u64 cr0, cr3, cr4;		/* as the CPU holds them */
	u64 cr0_shadow, cr4_shadow;	/* as the guest sees them */
	u64 dr7, rsp, rip, rflags, pending_dbg;
	u64 efer, pat, debugctl;
	u64 sysenter_esp, sysenter_eip;
	u32 sysenter_cs;
	u32 interruptibility, activity;
	u64 pdpte[4];
	u64 link_pointer;		/* always ~0: no VMCS shadowing */
};

/* Per-entry control fields that change while the vCPU lives. */
struct vmx_entry_controls {
	u32 pin, proc, proc2, exit, entry;
	u32 exception_bitmap;
	u64 cr0_mask, cr4_mask;
	u32 entry_intr_info, entry_error, entry_insn_len;
	u64 eptp;
	u16 vpid;
	u64 tsc_offset;
	/* With PROC_TPR_SHADOW: VMCS 0x2012 and 0x401c. */
	u64 vapic_addr;
	u32 tpr_threshold;
	/* VTPR (virtual-APIC page byte 0x80) at entry; not a VMCS field. */
	u8 vtpr;
};

/*
 * How the code reaches a VMCS: VMREAD/VMWRITE in the kernel, a field
 * store in the tests.  read returns the field zero-extended.
 */
struct vmcs_accessor {
	u64 (*read)(void *ctx, u32 field);
	void (*write)(void *ctx, u32 field, u64 val);
	void *ctx;
};

void vmx_store_guest_state(const struct vmcs_accessor *v,
			   const struct vmx_guest_state *g, bool pdptes);
/* Reads what the guest can change without an exit, plus all the rest. */
void vmx_load_guest_state(const struct vmcs_accessor *v,
			  struct vmx_guest_state *g, bool pdptes);
void vmx_store_entry_controls(const struct vmcs_accessor *v,
			      const struct vmx_entry_controls *c);
void vmx_load_entry_controls(const struct vmcs_accessor *v,
			     struct vmx_entry_controls *c);

/* The INIT/power-on state (SDM vol. 3A table 10-1) for a VMX guest. */
void vmx_reset_guest_state(struct vmx_guest_state *g,
			   const struct vmx_config *cfg);

/* ---- Real mode without unrestricted guest ------------------------- */

/*
 * Without unrestricted guest VM entry needs CR0.PE = 1, so real mode runs
 * as virtual-8086 mode (RFLAGS.VM = 1), as upstream KVM does: segments
 * in vm86 form (base = selector << 4, limit 0xffff, access rights 0xf3,
 * SDM vol. 3C 27.3.1.2), IOPL 0.  struct vmx_guest_state keeps the
 * guest's real-mode state; vmx_rmode_hw_state derives what the CPU runs
 * with, vmx_rmode_merge folds what the guest changed back in.
 *
 * The reset state's CS base of 0xffff0000 runs at its alias 0xf0000.
 * A limit above 64 KiB (unreal mode) runs with 0xffff: accesses beyond
 * it #GP and kvm.ko emulates them with the real limit.  A base that is
 * not 16-byte aligned below 1 MiB (loaded in protected mode: "big real
 * mode") cannot be had in vm86.  For FS and GS, which an instruction
 * uses only through a prefix, kvm.ko then steps the guest one
 * instruction at a time (monitor trap flag) and emulates those that
 * name the segment (vmx_rmode_uses_stepped): *stepped gets their
 * 1 << VMX_SEG_x bits.  For CS, SS, DS and ES vmx_rmode_hw_state
 * returns VMX_SEG_x + 1 (kvm.ko stops with an error); 0 when all fit.
 */
#define VMX_RMODE_SEG_AR	0xf3	/* present, DPL 3, data RW accessed */
int vmx_rmode_hw_state(const struct vmx_guest_state *g,
		       struct vmx_guest_state *hw, u32 *stepped);
/* Does the instruction (@n bytes at CS:IP) name a stepped segment? */
bool vmx_rmode_uses_stepped(const u8 *insn, int n, u32 stepped);
void vmx_rmode_merge(struct vmx_guest_state *g,
		     const struct vmx_guest_state *put,
		     const struct vmx_guest_state *out);

/*
 * Protected mode without unrestricted guest (kvm.ko calls these only
 * outside vm86), right after CR0.PE was set: the data segments still hold
 * what real mode loaded (DPL 0, any selector), and entry refuses one whose
 * DPL is below its selector's RPL (SDM vol. 3C, checks on guest segment
 * registers; GS=FFFF, say).  vmx_pmode_hw_state gives the CPU such a
 * segment with DPL = RPL and returns the 1 << VMX_SEG_x bits of those it
 * changed (0: @hw is not needed), keeping the guest's access rights in
 * @guest_ar.  After the exit vmx_pmode_merge gives a segment the guest did
 * not reload its own access rights back and returns the bits still in
 * effect.  A loaded data segment's DPL takes no part in its accesses (they
 * were checked at the load); it only decides whether a return to an outer
 * ring nulls the register.  CS and SS with a nonzero RPL (their DPL is the
 * CPL) are not changed: such an entry still fails, and says which rule.
 */
u32 vmx_pmode_hw_state(const struct vmx_guest_state *g,
		       struct vmx_guest_state *hw, u32 *guest_ar);
u32 vmx_pmode_merge(struct vmx_guest_state *g,
		    const struct vmx_guest_state *put, const u32 *guest_ar,
		    u32 fixed);

/*
 * What a #GP in vm86 was about (vmx.c vmx_rmode_gp): the instruction at
 * CS:IP, prefixes included, classified.  Anything else (MOV CR, LGDT,
 * LMSW, an access beyond 64 KiB of an unreal segment...) goes to the
 * emulator.
 */
enum vmx_rmode_kind {
	VMX_RM_EMULATE,
	VMX_RM_IO,		/* IN/OUT: in, size, port (or DX if !port_imm) */
	VMX_RM_STRING_IO,	/* INS/OUTS: in, size, rep, a32, seg */
	VMX_RM_INT,		/* INT n, INT3, INTO: vector */
	VMX_RM_FLAGS,		/* CLI STI PUSHF POPF IRET: opcode, o32 */
	VMX_RM_HLT,
	VMX_RM_RDMSR,
	VMX_RM_WRMSR,
	VMX_RM_NOP,		/* INVD, WBINVD */
};

struct vmx_rmode_insn {
	u8 kind;	/* enum vmx_rmode_kind */
	u8 len;		/* bytes, prefixes included */
	u8 opcode;
	u8 vector;
	u8 size;	/* I/O: 1, 2 or 4 */
	u8 port;	/* I/O with an imm8 port */
	bool in, port_imm, rep, o32, a32;
	s8 seg;		/* OUTS source (VMX_SEG_*), -1 for INS */
};

/* Classify the @n fetched bytes at CS:IP (n may be short near a hole). */
void vmx_rmode_decode(const u8 *insn, int n, struct vmx_rmode_insn *d);

/* ---- SDM checks -------------------------------------------------- */

enum vmx_check {
	VMX_CHECK_OK = 0,
	/* VM-execution, exit and entry control fields (27.2.1) */
	VMX_CHECK_PIN_RESERVED,
	VMX_CHECK_PROC_RESERVED,
	VMX_CHECK_PROC2_RESERVED,
	VMX_CHECK_EXIT_RESERVED,
	VMX_CHECK_ENTRY_RESERVED,
	VMX_CHECK_VNMI_WITHOUT_NMI_EXITING,
	VMX_CHECK_NMI_WINDOW_WITHOUT_VNMI,
	VMX_CHECK_UG_WITHOUT_EPT,
	VMX_CHECK_VPID_ZERO,
	VMX_CHECK_EPTP,
	VMX_CHECK_ENTRY_INTR_INFO,
	VMX_CHECK_ENTRY_ERROR_CODE,
	VMX_CHECK_ENTRY_INSN_LEN,
	VMX_CHECK_VAPIC_ADDR,
	VMX_CHECK_TPR_THRESHOLD,
	/* Guest-state area (27.3.1) */
	VMX_CHECK_CR0_FIXED,
	VMX_CHECK_CR0_PG_WITHOUT_PE,
	VMX_CHECK_CR4_FIXED,
	VMX_CHECK_CR3_WIDTH,
	VMX_CHECK_IA32E_PAGING,		/* IA-32e guest needs PG and PAE */
	VMX_CHECK_PCIDE_OUTSIDE_IA32E,
	VMX_CHECK_DR7_HIGH,
	VMX_CHECK_SYSENTER_CANONICAL,
	VMX_CHECK_PAT,
	VMX_CHECK_EFER,
	VMX_CHECK_SEG_TR_SELECTOR,
	VMX_CHECK_SEG_LDTR_SELECTOR,
	VMX_CHECK_SEG_SS_RPL,
	VMX_CHECK_SEG_BASE,
	VMX_CHECK_SEG_V86,
	VMX_CHECK_SEG_CS_TYPE,
	VMX_CHECK_SEG_SS_TYPE,
	VMX_CHECK_SEG_DATA_TYPE,
	VMX_CHECK_SEG_S,
	VMX_CHECK_SEG_CS_DPL,
	VMX_CHECK_SEG_SS_DPL,
	VMX_CHECK_SEG_DATA_DPL,
	VMX_CHECK_SEG_P,
	VMX_CHECK_SEG_RESERVED,
	VMX_CHECK_SEG_CS_DB,
	VMX_CHECK_SEG_G,
	VMX_CHECK_SEG_TR,
	VMX_CHECK_SEG_LDTR,
	VMX_CHECK_DTABLE,
	VMX_CHECK_RIP,
	VMX_CHECK_RFLAGS_RESERVED,
	VMX_CHECK_RFLAGS_VM,
	VMX_CHECK_RFLAGS_IF,
	VMX_CHECK_ACTIVITY,
	VMX_CHECK_INTERRUPTIBILITY,
	VMX_CHECK_PENDING_DBG,
	VMX_CHECK_LINK_POINTER,
	VMX_CHECK_PDPTE,
	VMX_CHECK_COUNT
};

const char *vmx_check_name(enum vmx_check c);

enum vmx_check vmx_check_controls(const struct vmx_caps *caps,
				  const struct vmx_entry_controls *c,
				  const struct vmx_guest_state *g);
enum vmx_check vmx_check_guest_state(const struct vmx_caps *caps,
				     const struct vmx_entry_controls *c,
				     const struct vmx_guest_state *g);

/* ---- Control registers -------------------------------------------- */

/* The value the CPU holds for guest CR0/CR4: fixed bits forced. */
u64 vmx_cr0_hw(const struct vmx_config *cfg, u64 guest_cr0);
u64 vmx_cr4_hw(const struct vmx_config *cfg, u64 guest_cr4);
/* Shadow paging: the CR0, CR4 and EFER the CPU runs the guest with. */
u64 vmx_shadow_cr0_hw(const struct vmx_config *cfg, u64 guest_cr0);
u64 vmx_shadow_cr4_hw(const struct vmx_config *cfg, u64 guest_cr4,
		      bool guest_paging);
u64 vmx_shadow_efer_hw(u64 guest_efer);
/* What the guest reads: its own bits where the host owns them. */
u64 vmx_cr_guest_view(u64 hw, u64 shadow, u64 mask);

/*
 * A guest write of @val to CR0 (SDM vol. 3A 2.5, MOV CR): 0 and the new
 * EFER (LMA follows LME and PG) in *efer, or -1 when it must #GP.
 */
int vmx_cr0_write(u64 old_cr0, u64 val, u64 cr4, bool cs_l, u64 *efer);

/* ---- Exit decoding ------------------------------------------------ */

struct vmx_io_exit {
	u16 port;
	u8 size;	/* 1, 2, 4 */
	bool in, string, rep;
	u8 addr_size;	/* 2, 4, 8; 0 if unknown */
	s8 seg;		/* OUTS source segment (VMX_SEG_*), -1 if unknown */
};
void vmx_decode_io(u64 qual, u32 insn_info, bool insn_info_valid,
		   struct vmx_io_exit *io);

struct vmx_cr_exit {
	u8 cr;
	u8 type;	/* CR_QUAL_TYPE_* */
	u8 gpr;		/* MOV to/from CR: register number (RAX = 0) */
	bool lmsw_memory;
	u16 lmsw_data;
};
void vmx_decode_cr(u64 qual, struct vmx_cr_exit *cr);

struct vmx_ept_exit {
	bool read, write, fetch;
	bool present;		/* the entry allowed some access */
	bool nmi_unblocked;	/* an IRET unblocked NMIs before the fault */
};
void vmx_decode_ept_violation(u64 qual, struct vmx_ept_exit *e);

/*
 * After an exit: the event to deliver again because the exit interrupted
 * its delivery (IDT-vectoring information), as VM-entry interruption
 * information, or 0.  Software interrupts and exceptions are not
 * re-injected: RIP still names the INTn/INT3/INTO, which runs again.
 */
u32 vmx_reinject_info(u32 idt_vectoring_info);

/*
 * Does NMI blocking have to be set again before the next entry?  True
 * when the exit says an IRET unblocked NMIs and then faulted (SDM
 * "Information for VM Exits Due to Vectored Events"/EPT violations).
 */
bool vmx_exit_refaults_iret(u32 exit_reason, u32 exit_intr_info, u64 qual,
			    u32 idt_vectoring_info);

/*
 * The common event encoding (x86.h KVM_EVENT_*) to VM-entry
 * interruption information.  In real mode (CR0.PE = 0, unrestricted
 * guest) exceptions push no error code, so the bit is dropped.  A
 * software interrupt needs the instruction length: INT n is 2 bytes.
 */
u32 vmx_entry_info_from_event(u32 event, bool protected_mode, u32 *insn_len);

/* ---- EPT ------------------------------------------------------------ */
u64 vmx_ept_table_entry(u64 table_pa);
u64 vmx_ept_leaf(u64 page_pa, bool writable);
u64 vmx_eptp(u64 root_pa, int levels);

#endif /* KVM_VMX_LOGIC_H */
