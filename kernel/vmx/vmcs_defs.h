/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel VMX architectural constants: VMCS field encodings, VM-execution,
 * VM-exit and VM-entry control bits, exit reasons, exit-qualification
 * layouts and the capability MSRs.  Pure definitions, shared by the kernel
 * backend and the userspace unit tests (portable: kvm_portable.h only).
 *
 * Every value was checked against the Intel SDM vol. 3C: appendix B
 * (field encodings), 25.6-25.8 (controls; chapter 24 in older editions),
 * appendix A (capability MSRs), appendix C and 27.2 (exit reasons and
 * qualifications), 28.3.2/29.3.2 (EPT entry formats).  A field encoding's
 * bits 14:13 give its width and bits 11:10 its type (SDM B.1, table 24-17
 * "Structure of VMCS Component Encoding"); the unit tests check every
 * encoding below against the width and type its name claims.
 */
#ifndef KVM_VMX_VMCS_DEFS_H
#define KVM_VMX_VMCS_DEFS_H

#include "kvm_portable.h"

/* ---- Component encoding structure (SDM table "Structure of VMCS
 *      Component Encoding") ------------------------------------------ */
#define VMCS_ENC_HIGH		(1U << 0)	/* upper half of a 64-bit field */
#define VMCS_ENC_TYPE(e)	(((e) >> 10) & 3)
#define VMCS_ENC_WIDTH(e)	(((e) >> 13) & 3)
enum vmcs_field_type {
	VMCS_TYPE_CONTROL = 0, VMCS_TYPE_EXIT_INFO = 1,
	VMCS_TYPE_GUEST = 2, VMCS_TYPE_HOST = 3,
};
enum vmcs_field_width {
	VMCS_WIDTH_16 = 0, VMCS_WIDTH_64 = 1, VMCS_WIDTH_32 = 2,
	VMCS_WIDTH_NATURAL = 3,
};

/* ---- 16-bit fields (B.1) ------------------------------------------- */
#define VMCS_VPID			0x0000
#define VMCS_GUEST_ES_SELECTOR		0x0800
#define VMCS_GUEST_CS_SELECTOR		0x0802
#define VMCS_GUEST_SS_SELECTOR		0x0804
#define VMCS_GUEST_DS_SELECTOR		0x0806
#define VMCS_GUEST_FS_SELECTOR		0x0808
#define VMCS_GUEST_GS_SELECTOR		0x080a
#define VMCS_GUEST_LDTR_SELECTOR	0x080c
#define VMCS_GUEST_TR_SELECTOR		0x080e
#define VMCS_HOST_ES_SELECTOR		0x0c00
#define VMCS_HOST_CS_SELECTOR		0x0c02
#define VMCS_HOST_SS_SELECTOR		0x0c04
#define VMCS_HOST_DS_SELECTOR		0x0c06
#define VMCS_HOST_FS_SELECTOR		0x0c08
#define VMCS_HOST_GS_SELECTOR		0x0c0a
#define VMCS_HOST_TR_SELECTOR		0x0c0c

/* ---- 64-bit fields (B.2) ------------------------------------------- */
#define VMCS_IO_BITMAP_A		0x2000
#define VMCS_IO_BITMAP_B		0x2002
#define VMCS_MSR_BITMAP			0x2004
#define VMCS_EXIT_MSR_STORE_ADDR	0x2006
#define VMCS_EXIT_MSR_LOAD_ADDR		0x2008
#define VMCS_ENTRY_MSR_LOAD_ADDR	0x200a
#define VMCS_TSC_OFFSET			0x2010
#define VMCS_VIRTUAL_APIC_ADDR		0x2012	/* virtual-APIC page (TPR shadow) */
/* VTPR: the virtual-APIC page's TPR byte (SDM vol. 3C 30.1.1). */
#define VMX_VTPR			0x80
#define VMCS_EPT_POINTER		0x201a
#define VMCS_GUEST_PHYSICAL_ADDR	0x2400	/* exit information */
#define VMCS_LINK_POINTER		0x2800
#define VMCS_GUEST_IA32_DEBUGCTL	0x2802
#define VMCS_GUEST_IA32_PAT		0x2804
#define VMCS_GUEST_IA32_EFER		0x2806
#define VMCS_GUEST_PDPTE0		0x280a
#define VMCS_GUEST_PDPTE1		0x280c
#define VMCS_GUEST_PDPTE2		0x280e
#define VMCS_GUEST_PDPTE3		0x2810
#define VMCS_HOST_IA32_PAT		0x2c00
#define VMCS_HOST_IA32_EFER		0x2c02

/* ---- 32-bit fields (B.3) ------------------------------------------- */
#define VMCS_PIN_CONTROLS		0x4000
#define VMCS_PROC_CONTROLS		0x4002
#define VMCS_EXCEPTION_BITMAP		0x4004
#define VMCS_PF_ERROR_MASK		0x4006
#define VMCS_PF_ERROR_MATCH		0x4008
#define VMCS_CR3_TARGET_COUNT		0x400a
#define VMCS_EXIT_CONTROLS		0x400c
#define VMCS_EXIT_MSR_STORE_COUNT	0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT	0x4010
#define VMCS_ENTRY_CONTROLS		0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT	0x4014
#define VMCS_ENTRY_INTR_INFO		0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR	0x4018
#define VMCS_ENTRY_INSN_LEN		0x401a
#define VMCS_TPR_THRESHOLD		0x401c
#define VMCS_PROC_CONTROLS2		0x401e
#define VMCS_PLE_GAP			0x4020	/* TSC cycles between PAUSEs of a loop */
#define VMCS_PLE_WINDOW			0x4022	/* TSC cycles a PAUSE loop may spin */
#define VMCS_INSN_ERROR			0x4400	/* exit information */
#define VMCS_EXIT_REASON		0x4402
#define VMCS_EXIT_INTR_INFO		0x4404
#define VMCS_EXIT_INTR_ERROR		0x4406
#define VMCS_IDT_VECTORING_INFO		0x4408
#define VMCS_IDT_VECTORING_ERROR	0x440a
#define VMCS_EXIT_INSN_LEN		0x440c
#define VMCS_EXIT_INSN_INFO		0x440e
#define VMCS_GUEST_ES_LIMIT		0x4800
#define VMCS_GUEST_CS_LIMIT		0x4802
#define VMCS_GUEST_SS_LIMIT		0x4804
#define VMCS_GUEST_DS_LIMIT		0x4806
#define VMCS_GUEST_FS_LIMIT		0x4808
#define VMCS_GUEST_GS_LIMIT		0x480a
#define VMCS_GUEST_LDTR_LIMIT		0x480c
#define VMCS_GUEST_TR_LIMIT		0x480e
#define VMCS_GUEST_GDTR_LIMIT		0x4810
#define VMCS_GUEST_IDTR_LIMIT		0x4812
#define VMCS_GUEST_ES_AR		0x4814
#define VMCS_GUEST_CS_AR		0x4816
#define VMCS_GUEST_SS_AR		0x4818
#define VMCS_GUEST_DS_AR		0x481a
#define VMCS_GUEST_FS_AR		0x481c
#define VMCS_GUEST_GS_AR		0x481e
#define VMCS_GUEST_LDTR_AR		0x4820
#define VMCS_GUEST_TR_AR		0x4822
#define VMCS_GUEST_INTERRUPTIBILITY	0x4824
#define VMCS_GUEST_ACTIVITY_STATE	0x4826
#define VMCS_GUEST_SYSENTER_CS		0x482a
#define VMCS_HOST_SYSENTER_CS		0x4c00

/* ---- Natural-width fields (B.4) ------------------------------------ */
#define VMCS_CR0_GUEST_HOST_MASK	0x6000
#define VMCS_CR4_GUEST_HOST_MASK	0x6002
#define VMCS_CR0_READ_SHADOW		0x6004
#define VMCS_CR4_READ_SHADOW		0x6006
#define VMCS_EXIT_QUALIFICATION		0x6400	/* exit information */
#define VMCS_GUEST_LINEAR_ADDR		0x640a	/* exit information */
#define VMCS_GUEST_CR0			0x6800
#define VMCS_GUEST_CR3			0x6802
#define VMCS_GUEST_CR4			0x6804
#define VMCS_GUEST_ES_BASE		0x6806
#define VMCS_GUEST_CS_BASE		0x6808
#define VMCS_GUEST_SS_BASE		0x680a
#define VMCS_GUEST_DS_BASE		0x680c
#define VMCS_GUEST_FS_BASE		0x680e
#define VMCS_GUEST_GS_BASE		0x6810
#define VMCS_GUEST_LDTR_BASE		0x6812
#define VMCS_GUEST_TR_BASE		0x6814
#define VMCS_GUEST_GDTR_BASE		0x6816
#define VMCS_GUEST_IDTR_BASE		0x6818
#define VMCS_GUEST_DR7			0x681a
#define VMCS_GUEST_RSP			0x681c
#define VMCS_GUEST_RIP			0x681e
#define VMCS_GUEST_RFLAGS		0x6820
#define VMCS_GUEST_PENDING_DBG		0x6822
#define VMCS_GUEST_SYSENTER_ESP		0x6824
#define VMCS_GUEST_SYSENTER_EIP		0x6826
#define VMCS_HOST_CR0			0x6c00
#define VMCS_HOST_CR3			0x6c02
#define VMCS_HOST_CR4			0x6c04
#define VMCS_HOST_FS_BASE		0x6c06
#define VMCS_HOST_GS_BASE		0x6c08
#define VMCS_HOST_TR_BASE		0x6c0a
#define VMCS_HOST_GDTR_BASE		0x6c0c
#define VMCS_HOST_IDTR_BASE		0x6c0e
#define VMCS_HOST_SYSENTER_ESP		0x6c10
#define VMCS_HOST_SYSENTER_EIP		0x6c12
#define VMCS_HOST_RSP			0x6c14
#define VMCS_HOST_RIP			0x6c16

/*
 * Segment fields are laid out ES, CS, SS, DS, FS, GS, LDTR, TR with a
 * stride of 2 in every group -- the same order as enum kvm_seg_reg.
 */
#define VMCS_GUEST_SEG_SELECTOR(i)	(VMCS_GUEST_ES_SELECTOR + 2 * (i))
#define VMCS_GUEST_SEG_LIMIT(i)		(VMCS_GUEST_ES_LIMIT + 2 * (i))
#define VMCS_GUEST_SEG_AR(i)		(VMCS_GUEST_ES_AR + 2 * (i))
#define VMCS_GUEST_SEG_BASE(i)		(VMCS_GUEST_ES_BASE + 2 * (i))
enum vmx_seg {
	VMX_SEG_ES, VMX_SEG_CS, VMX_SEG_SS, VMX_SEG_DS, VMX_SEG_FS,
	VMX_SEG_GS, VMX_SEG_LDTR, VMX_SEG_TR, VMX_NR_SEGS
};

/* ---- Capability MSRs (SDM appendix A) ------------------------------- */
#define VMX_MSR_FEATURE_CONTROL		0x03a
#define  VMX_FEATCTL_LOCKED		(1ULL << 0)
#define  VMX_FEATCTL_VMX_INSIDE_SMX	(1ULL << 1)
#define  VMX_FEATCTL_VMX_OUTSIDE_SMX	(1ULL << 2)
#define VMX_MSR_BASIC			0x480
#define VMX_MSR_PINBASED_CTLS		0x481
#define VMX_MSR_PROCBASED_CTLS		0x482
#define VMX_MSR_EXIT_CTLS		0x483
#define VMX_MSR_ENTRY_CTLS		0x484
#define VMX_MSR_MISC			0x485
#define VMX_MSR_CR0_FIXED0		0x486
#define VMX_MSR_CR0_FIXED1		0x487
#define VMX_MSR_CR4_FIXED0		0x488
#define VMX_MSR_CR4_FIXED1		0x489
#define VMX_MSR_PROCBASED_CTLS2		0x48b
#define VMX_MSR_EPT_VPID_CAP		0x48c
#define VMX_MSR_TRUE_PINBASED_CTLS	0x48d
#define VMX_MSR_TRUE_PROCBASED_CTLS	0x48e
#define VMX_MSR_TRUE_EXIT_CTLS		0x48f
#define VMX_MSR_TRUE_ENTRY_CTLS		0x490

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION(b)		((u32)(b) & 0x7fffffffU)
#define VMX_BASIC_VMCS_SIZE(b)		((u32)((b) >> 32) & 0x1fffU)
#define VMX_BASIC_PA_32BIT		(1ULL << 48)
#define VMX_BASIC_MEMTYPE(b)		((u32)((b) >> 50) & 0xfU)
#define VMX_BASIC_INS_OUTS_INFO		(1ULL << 54)
#define VMX_BASIC_TRUE_CTLS		(1ULL << 55)

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_STORES_LMA		(1ULL << 5)
#define VMX_MISC_ACTIVITY_HLT		(1ULL << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN	(1ULL << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI	(1ULL << 8)
#define VMX_MISC_CR3_TARGETS(m)		((u32)((m) >> 16) & 0x1ffU)
#define VMX_MISC_ZERO_LEN_INJECT	(1ULL << 30)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define VMX_EPT_CAP_EXEC_ONLY		(1ULL << 0)
#define VMX_EPT_CAP_PWL4		(1ULL << 6)
#define VMX_EPT_CAP_PWL5		(1ULL << 7)
#define VMX_EPT_CAP_MT_UC		(1ULL << 8)
#define VMX_EPT_CAP_MT_WB		(1ULL << 14)
#define VMX_EPT_CAP_2M			(1ULL << 16)
#define VMX_EPT_CAP_1G			(1ULL << 17)
#define VMX_EPT_CAP_INVEPT		(1ULL << 20)
#define VMX_EPT_CAP_AD			(1ULL << 21)
#define VMX_EPT_CAP_INVEPT_SINGLE	(1ULL << 25)
#define VMX_EPT_CAP_INVEPT_ALL		(1ULL << 26)
#define VMX_VPID_CAP_INVVPID		(1ULL << 32)
#define VMX_VPID_CAP_INVVPID_ADDR	(1ULL << 40)
#define VMX_VPID_CAP_INVVPID_SINGLE	(1ULL << 41)
#define VMX_VPID_CAP_INVVPID_ALL	(1ULL << 42)

/* INVEPT / INVVPID types (SDM vol. 3C 31.3, "INVEPT", "INVVPID") */
#define VMX_INVEPT_SINGLE_CONTEXT	1
#define VMX_INVEPT_ALL_CONTEXT		2
#define VMX_INVVPID_ADDRESS		0
#define VMX_INVVPID_SINGLE_CONTEXT	1
#define VMX_INVVPID_ALL_CONTEXT		2

/* ---- Pin-based VM-execution controls (table 25-5) ------------------- */
#define PIN_EXTINT_EXITING		(1U << 0)
#define PIN_NMI_EXITING			(1U << 3)
#define PIN_VIRTUAL_NMIS		(1U << 5)
#define PIN_PREEMPTION_TIMER		(1U << 6)
#define PIN_POSTED_INTERRUPTS		(1U << 7)

/* ---- Primary processor-based controls (table 25-6) ------------------ */
#define PROC_INTR_WINDOW_EXITING	(1U << 2)
#define PROC_TSC_OFFSETTING		(1U << 3)
#define PROC_HLT_EXITING		(1U << 7)
#define PROC_INVLPG_EXITING		(1U << 9)
#define PROC_MWAIT_EXITING		(1U << 10)
#define PROC_RDPMC_EXITING		(1U << 11)
#define PROC_RDTSC_EXITING		(1U << 12)
#define PROC_CR3_LOAD_EXITING		(1U << 15)
#define PROC_CR3_STORE_EXITING		(1U << 16)
#define PROC_TERTIARY_CONTROLS		(1U << 17)
#define PROC_CR8_LOAD_EXITING		(1U << 19)
#define PROC_CR8_STORE_EXITING		(1U << 20)
#define PROC_TPR_SHADOW			(1U << 21)
#define PROC_NMI_WINDOW_EXITING		(1U << 22)
#define PROC_MOV_DR_EXITING		(1U << 23)
#define PROC_UNCOND_IO_EXITING		(1U << 24)
#define PROC_IO_BITMAPS			(1U << 25)
#define PROC_MONITOR_TRAP_FLAG		(1U << 27)
#define PROC_MSR_BITMAPS		(1U << 28)
#define PROC_MONITOR_EXITING		(1U << 29)
#define PROC_PAUSE_EXITING		(1U << 30)
#define PROC_SECONDARY_CONTROLS		(1U << 31)

/* ---- Secondary processor-based controls (table 25-7) ---------------- */
#define PROC2_VIRT_APIC_ACCESSES	(1U << 0)
#define PROC2_EPT			(1U << 1)
#define PROC2_DESC_TABLE_EXITING	(1U << 2)
#define PROC2_RDTSCP			(1U << 3)
#define PROC2_VIRT_X2APIC		(1U << 4)
#define PROC2_VPID			(1U << 5)
#define PROC2_WBINVD_EXITING		(1U << 6)
#define PROC2_UNRESTRICTED_GUEST	(1U << 7)
#define PROC2_APIC_REG_VIRT		(1U << 8)
#define PROC2_VIRT_INTR_DELIVERY	(1U << 9)
#define PROC2_PAUSE_LOOP_EXITING	(1U << 10)
#define PROC2_RDRAND_EXITING		(1U << 11)
#define PROC2_INVPCID			(1U << 12)
#define PROC2_VMFUNC			(1U << 13)
#define PROC2_VMCS_SHADOWING		(1U << 14)
#define PROC2_RDSEED_EXITING		(1U << 16)
#define PROC2_PML			(1U << 17)
#define PROC2_EPT_VE			(1U << 18)
#define PROC2_XSAVES			(1U << 20)
#define PROC2_MODE_BASED_EPT_EXEC	(1U << 22)
#define PROC2_TSC_SCALING		(1U << 25)
#define PROC2_USER_WAIT_PAUSE		(1U << 26)

/* ---- VM-exit controls (table 25-13) --------------------------------- */
#define EXIT_SAVE_DEBUG_CONTROLS	(1U << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE	(1U << 9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL	(1U << 12)
#define EXIT_ACK_INTR_ON_EXIT		(1U << 15)
#define EXIT_SAVE_PAT			(1U << 18)
#define EXIT_LOAD_PAT			(1U << 19)
#define EXIT_SAVE_EFER			(1U << 20)
#define EXIT_LOAD_EFER			(1U << 21)
#define EXIT_SAVE_PREEMPTION_TIMER	(1U << 22)

/* ---- VM-entry controls (table 25-15) -------------------------------- */
#define ENTRY_LOAD_DEBUG_CONTROLS	(1U << 2)
#define ENTRY_IA32E_MODE_GUEST		(1U << 9)
#define ENTRY_TO_SMM			(1U << 10)
#define ENTRY_DEACT_DUAL_MONITOR	(1U << 11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL	(1U << 13)
#define ENTRY_LOAD_PAT			(1U << 14)
#define ENTRY_LOAD_EFER			(1U << 15)

/*
 * "Default1" classes: bits that were reserved-as-1 on the first VMX CPUs
 * (A.2-A.5).  When IA32_VMX_BASIC[55] is set the TRUE_* MSRs may allow
 * some of them to be 0; otherwise they are simply forced to 1.
 */
#define PIN_DEFAULT1			0x00000016U
#define PROC_DEFAULT1			0x0401e172U
#define EXIT_DEFAULT1			0x00036dffU
#define ENTRY_DEFAULT1			0x000011ffU

/* ---- Interruption information (25.8.3, 27.2.2, 27.2.4) -------------- */
#define INTR_INFO_VECTOR_MASK		0xffU
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7U << 8)
#define INTR_TYPE_EXT_INTR		(0U << 8)
#define INTR_TYPE_NMI			(2U << 8)
#define INTR_TYPE_HW_EXCEPTION		(3U << 8)
#define INTR_TYPE_SOFT_INTR		(4U << 8)
#define INTR_TYPE_PRIV_SOFT_EXCEPTION	(5U << 8)	/* INT1 (ICEBP) */
#define INTR_TYPE_SOFT_EXCEPTION	(6U << 8)	/* INT3, INTO */
#define INTR_TYPE_OTHER			(7U << 8)
#define INTR_INFO_HAS_ERROR		(1U << 11)
#define INTR_INFO_NMI_UNBLOCKED_IRET	(1U << 12)	/* exit info only */
#define INTR_INFO_VALID			(1U << 31)
#define INTR_INFO_ENTRY_RESERVED	0x7ffff000U	/* bits 30:12 */

/* Guest interruptibility state (table 25-3) */
#define INTERRUPTIBILITY_STI		(1U << 0)
#define INTERRUPTIBILITY_MOV_SS		(1U << 1)
#define INTERRUPTIBILITY_SMI		(1U << 2)
#define INTERRUPTIBILITY_NMI		(1U << 3)
#define INTERRUPTIBILITY_ENCLAVE	(1U << 4)
#define INTERRUPTIBILITY_RESERVED	0xffffffe0U

/* Guest activity state (25.4.2) */
#define ACTIVITY_ACTIVE			0
#define ACTIVITY_HLT			1
#define ACTIVITY_SHUTDOWN		2
#define ACTIVITY_WAIT_SIPI		3

/* Access-rights format (table 25-2) */
#define VMX_AR_TYPE_MASK		0xfU
#define VMX_AR_S			(1U << 4)
#define VMX_AR_DPL_SHIFT		5
#define VMX_AR_DPL_MASK			(3U << 5)
#define VMX_AR_P			(1U << 7)
#define VMX_AR_AVL			(1U << 12)
#define VMX_AR_L			(1U << 13)
#define VMX_AR_DB			(1U << 14)
#define VMX_AR_G			(1U << 15)
#define VMX_AR_UNUSABLE			(1U << 16)
#define VMX_AR_RESERVED			0xfffe0f00U	/* 31:17 and 11:8 */

/* ---- Exit reasons (appendix C) -------------------------------------- */
#define EXIT_REASON_BASIC(r)		((r) & 0xffffU)
#define EXIT_REASON_ENTRY_FAILURE	(1U << 31)
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INIT		3
#define EXIT_REASON_SIPI		4
#define EXIT_REASON_IO_SMI		5
#define EXIT_REASON_OTHER_SMI		6
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_TASK_SWITCH		9
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_GETSEC		11
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVD		13
#define EXIT_REASON_INVLPG		14
#define EXIT_REASON_RDPMC		15
#define EXIT_REASON_RDTSC		16
#define EXIT_REASON_RSM			17
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMCLEAR		19
#define EXIT_REASON_VMLAUNCH		20
#define EXIT_REASON_VMPTRLD		21
#define EXIT_REASON_VMPTRST		22
#define EXIT_REASON_VMREAD		23
#define EXIT_REASON_VMRESUME		24
#define EXIT_REASON_VMWRITE		25
#define EXIT_REASON_VMXOFF		26
#define EXIT_REASON_VMXON		27
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_DR_ACCESS		29
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOAD_FAIL	34
#define EXIT_REASON_MWAIT		36
#define EXIT_REASON_MONITOR_TRAP_FLAG	37
#define EXIT_REASON_MONITOR		39
#define EXIT_REASON_PAUSE		40
#define EXIT_REASON_MCE_DURING_ENTRY	41
#define EXIT_REASON_TPR_BELOW_THRESHOLD	43
#define EXIT_REASON_APIC_ACCESS		44
#define EXIT_REASON_EOI_INDUCED		45
#define EXIT_REASON_GDTR_IDTR		46
#define EXIT_REASON_LDTR_TR		47
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_INVEPT		50
#define EXIT_REASON_RDTSCP		51
#define EXIT_REASON_PREEMPTION_TIMER	52
#define EXIT_REASON_INVVPID		53
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_XSETBV		55
#define EXIT_REASON_APIC_WRITE		56
#define EXIT_REASON_RDRAND		57
#define EXIT_REASON_INVPCID		58
#define EXIT_REASON_VMFUNC		59
#define EXIT_REASON_ENCLS		60
#define EXIT_REASON_RDSEED		61
#define EXIT_REASON_PML_FULL		62
#define EXIT_REASON_XSAVES		63
#define EXIT_REASON_XRSTORS		64

/* VM-instruction error numbers (31.4) that entry can report */
#define VMX_INSN_ERR_LAUNCH_NOT_CLEAR	4
#define VMX_INSN_ERR_RESUME_NOT_LAUNCHED 5
#define VMX_INSN_ERR_ENTRY_CONTROLS	7
#define VMX_INSN_ERR_ENTRY_HOST_STATE	8
#define VMX_INSN_ERR_ENTRY_MOV_SS	26

/* ---- Exit qualifications (27.2.1) ----------------------------------- */
/* I/O instructions (table 28-5 in recent editions, 27-5 in older) */
#define IO_QUAL_SIZE_MASK		0x7U	/* 0: 1 byte, 1: 2, 3: 4 */
#define IO_QUAL_IN			(1U << 3)
#define IO_QUAL_STRING			(1U << 4)
#define IO_QUAL_REP			(1U << 5)
#define IO_QUAL_IMMEDIATE		(1U << 6)
#define IO_QUAL_PORT_SHIFT		16

/* Control-register accesses */
#define CR_QUAL_CR_MASK			0xfU
#define CR_QUAL_TYPE_SHIFT		4
#define CR_QUAL_TYPE_MOV_TO_CR		0
#define CR_QUAL_TYPE_MOV_FROM_CR	1
#define CR_QUAL_TYPE_CLTS		2
#define CR_QUAL_TYPE_LMSW		3
#define CR_QUAL_LMSW_MEMORY		(1U << 6)
#define CR_QUAL_GPR_SHIFT		8
#define CR_QUAL_LMSW_DATA_SHIFT		16

/* EPT violations */
#define EPT_QUAL_READ			(1U << 0)
#define EPT_QUAL_WRITE			(1U << 1)
#define EPT_QUAL_FETCH			(1U << 2)
#define EPT_QUAL_READABLE		(1U << 3)
#define EPT_QUAL_WRITABLE		(1U << 4)
#define EPT_QUAL_EXECUTABLE		(1U << 5)
#define EPT_QUAL_GLA_VALID		(1U << 7)
#define EPT_QUAL_GLA_TRANSLATION	(1U << 8)
#define EPT_QUAL_NMI_UNBLOCKED_IRET	(1U << 12)

/* VM-exit instruction information for INS/OUTS (table 28-8 / 27-8) */
#define INSN_INFO_ADDR_SIZE_SHIFT	7	/* 0: 16-bit, 1: 32, 2: 64 */
#define INSN_INFO_SEG_SHIFT		15	/* ES CS SS DS FS GS */

/* ---- EPT (28.3.2 / 29.3.2 in recent editions) ---------------------- */
#define EPT_READ			(1ULL << 0)
#define EPT_WRITE			(1ULL << 1)
#define EPT_EXEC			(1ULL << 2)
#define EPT_MEMTYPE_SHIFT		3	/* leaf entries: bits 5:3 */
#define EPT_MEMTYPE_UC			0ULL
#define EPT_MEMTYPE_WB			6ULL
#define EPT_IGNORE_PAT			(1ULL << 6)
#define EPT_LARGE			(1ULL << 7)
#define EPT_ACCESSED			(1ULL << 8)
#define EPT_DIRTY			(1ULL << 9)
#define EPT_ADDR_MASK			0x000ffffffffff000ULL
/* EPTP (25.6.11): memory type in 2:0, walk length - 1 in 5:3, A/D in 6 */
#define EPTP_MEMTYPE_WB			6ULL
#define EPTP_WALK_SHIFT			3
#define EPTP_AD_ENABLE			(1ULL << 6)

#endif /* KVM_VMX_VMCS_DEFS_H */
