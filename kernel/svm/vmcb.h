/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The AMD Virtual Machine Control Block: a 4 KiB page, control area at
 * offset 0, state save area at 0x400.  Layout per AMD APM vol. 2,
 * appendix B ("Layout of VMCB"); offsets are checked at build time below.
 */
#ifndef KVM_SVM_VMCB_H
#define KVM_SVM_VMCB_H

#include <linux/types.h>
#include <linux/build_bug.h>

struct vmcb_control {
	u32 intercept_cr;	/* 0x000: reads bits 0-15, writes 16-31 */
	u32 intercept_dr;	/* 0x004 */
	u32 intercept_exceptions; /* 0x008 */
	u32 intercept_misc1;	/* 0x00c */
	u32 intercept_misc2;	/* 0x010 */
	u32 intercept_misc3;	/* 0x014 */
	u8 reserved_1[0x3c - 0x18];
	u16 pause_filter_thresh; /* 0x03c */
	u16 pause_filter_count;	/* 0x03e */
	u64 iopm_base_pa;	/* 0x040 */
	u64 msrpm_base_pa;	/* 0x048 */
	u64 tsc_offset;		/* 0x050 */
	u32 asid;		/* 0x058 */
	u8 tlb_ctl;		/* 0x05c */
	u8 reserved_2[3];
	u32 int_ctl;		/* 0x060: V_TPR, V_IRQ, V_INTR_MASKING... */
	u32 int_vector;		/* 0x064 */
	u32 int_state;		/* 0x068: bit 0 interrupt shadow */
	u8 reserved_3[4];
	u64 exit_code;		/* 0x070 */
	u64 exit_info_1;	/* 0x078 */
	u64 exit_info_2;	/* 0x080 */
	u32 exit_int_info;	/* 0x088 */
	u32 exit_int_info_err;	/* 0x08c */
	u64 nested_ctl;		/* 0x090: bit 0 NP_ENABLE */
	u64 avic_vapic_bar;	/* 0x098 */
	u64 ghcb_gpa;		/* 0x0a0 */
	u32 event_inj;		/* 0x0a8 */
	u32 event_inj_err;	/* 0x0ac */
	u64 nested_cr3;		/* 0x0b0 */
	u64 virt_ext;		/* 0x0b8 */
	u32 clean;		/* 0x0c0 */
	u32 reserved_4;
	u64 next_rip;		/* 0x0c8 */
	u8 insn_len;		/* 0x0d0 */
	u8 insn_bytes[15];	/* 0x0d1 */
	u8 reserved_5[0x400 - 0xe0];
} __packed;

struct vmcb_seg {
	u16 selector;
	u16 attrib;	/* type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1 */
	u32 limit;
	u64 base;
} __packed;

struct vmcb_save {
	struct vmcb_seg es;	/* 0x000 */
	struct vmcb_seg cs;
	struct vmcb_seg ss;
	struct vmcb_seg ds;
	struct vmcb_seg fs;
	struct vmcb_seg gs;
	struct vmcb_seg gdtr;	/* 0x060 */
	struct vmcb_seg ldtr;
	struct vmcb_seg idtr;
	struct vmcb_seg tr;	/* 0x090 */
	u8 reserved_1[0xcb - 0xa0];
	u8 cpl;			/* 0x0cb */
	u32 reserved_2;
	u64 efer;		/* 0x0d0 */
	u8 reserved_3[0x148 - 0xd8];
	u64 cr4;		/* 0x148 */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;		/* 0x170 */
	u64 rip;
	u8 reserved_4[0x1d8 - 0x180];
	u64 rsp;		/* 0x1d8 */
	u64 s_cet;
	u64 ssp;
	u64 isst_addr;
	u64 rax;		/* 0x1f8 */
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;	/* 0x220 */
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2;		/* 0x240 */
	u8 reserved_5[0x268 - 0x248];
	u64 g_pat;		/* 0x268 */
	u64 dbgctl;
	u64 br_from;
	u64 br_to;
	u64 last_excp_from;
	u64 last_excp_to;	/* 0x290 */
	u8 reserved_6[0xc00 - 0x298];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

static_assert(sizeof(struct vmcb) == 4096);
static_assert(offsetof(struct vmcb_control, exit_code) == 0x70);
static_assert(offsetof(struct vmcb_control, nested_cr3) == 0xb0);
static_assert(offsetof(struct vmcb_control, insn_bytes) == 0xd1);
static_assert(offsetof(struct vmcb_save, cpl) == 0xcb);
static_assert(offsetof(struct vmcb_save, efer) == 0xd0);
static_assert(offsetof(struct vmcb_save, cr4) == 0x148);
static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8);
static_assert(offsetof(struct vmcb_save, rax) == 0x1f8);
static_assert(offsetof(struct vmcb_save, cr2) == 0x240);
static_assert(offsetof(struct vmcb_save, g_pat) == 0x268);

/* intercept_cr: reads of CRn at bit n, writes at bit 16 + n */
#define INTERCEPT_CR4_WRITE	(1U << (16 + 4))
/* With shadow paging: CR0, CR3, CR4 reads and writes */
#define INTERCEPT_CR_SHADOW	((1U << 0) | (1U << 3) | (1U << 4) | \
				 (1U << 16) | (1U << 19) | (1U << 20))
/* Nested paging, while the guest's CD/NW are hidden: CR0 reads and writes */
#define INTERCEPT_CR0_RW	((1U << 0) | (1U << 16))
/* intercept_exceptions: one bit per vector */
#define INTERCEPT_EXCP_PF	(1U << 14)

/* exit_info_1 of CR accesses with decode assists: GPR valid, number */
#define SVM_CR_INFO_VALID	(1ULL << 63)
#define SVM_CR_INFO_GPR_MASK	0xfULL

/* intercept_misc1 */
#define INTERCEPT_INTR		(1U << 0)
#define INTERCEPT_NMI		(1U << 1)
#define INTERCEPT_SMI		(1U << 2)
#define INTERCEPT_INIT		(1U << 3)
#define INTERCEPT_VINTR		(1U << 4)
#define INTERCEPT_SEL_CR0	(1U << 5)	/* CR0 writes changing more than TS/MP */
#define INTERCEPT_CPUID		(1U << 18)
#define INTERCEPT_IRET		(1U << 20)
#define INTERCEPT_INVD		(1U << 22)
#define INTERCEPT_HLT		(1U << 24)
#define INTERCEPT_INVLPG	(1U << 25)
#define INTERCEPT_INVLPGA	(1U << 26)
#define INTERCEPT_IOIO_PROT	(1U << 27)
#define INTERCEPT_MSR_PROT	(1U << 28)
#define INTERCEPT_SHUTDOWN	(1U << 31)
/* intercept_misc2 */
#define INTERCEPT_VMRUN		(1U << 0)
#define INTERCEPT_VMMCALL	(1U << 1)
#define INTERCEPT_VMLOAD	(1U << 2)
#define INTERCEPT_VMSAVE	(1U << 3)
#define INTERCEPT_STGI		(1U << 4)
#define INTERCEPT_CLGI		(1U << 5)
#define INTERCEPT_SKINIT	(1U << 6)
#define INTERCEPT_MONITOR	(1U << 10)
#define INTERCEPT_MWAIT		(1U << 11)
#define INTERCEPT_XSETBV	(1U << 13)

/* int_ctl */
#define V_TPR_MASK		0xffU
#define V_IRQ			(1U << 8)
#define V_IGN_TPR		(1U << 20)
#define V_INTR_PRIO_SHIFT	16
#define V_INTR_PRIO_MASK	(0xfU << V_INTR_PRIO_SHIFT)
#define V_INTR_MASKING		(1U << 24)

#define SVM_INTERRUPT_SHADOW	(1U << 0)

#define SVM_NESTED_CTL_NP_ENABLE (1ULL << 0)

#define TLB_CONTROL_DO_NOTHING		0
#define TLB_CONTROL_FLUSH_ALL_ASID	1

/* event_inj / exit_int_info */
#define SVM_EVTINJ_VEC_MASK	0xffU
#define SVM_EVTINJ_TYPE_SHIFT	8
#define SVM_EVTINJ_TYPE_MASK	(7U << 8)
#define SVM_EVTINJ_TYPE_INTR	(0U << 8)
#define SVM_EVTINJ_TYPE_NMI	(2U << 8)
#define SVM_EVTINJ_TYPE_EXEPT	(3U << 8)
#define SVM_EVTINJ_TYPE_SOFT	(4U << 8)
#define SVM_EVTINJ_VALID_ERR	(1U << 11)
#define SVM_EVTINJ_VALID	(1U << 31)

/* Exit codes (APM vol. 2, appendix C) */
#define SVM_EXIT_READ_CR0	0x000
#define SVM_EXIT_READ_CR3	0x003
#define SVM_EXIT_READ_CR4	0x004
#define SVM_EXIT_WRITE_CR0	0x010
#define SVM_EXIT_WRITE_CR3	0x013
#define SVM_EXIT_WRITE_CR4	0x014
#define SVM_EXIT_EXCP_BASE	0x040
#define SVM_EXIT_EXCP_PF	(SVM_EXIT_EXCP_BASE + 14)
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_SMI		0x062
#define SVM_EXIT_INIT		0x063
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_CR0_SEL_WRITE	0x065
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPG		0x079
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_MONITOR	0x08a
#define SVM_EXIT_MWAIT		0x08b
#define SVM_EXIT_XSETBV		0x08d
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_ERR		(~0ULL)

/* IOIO exit_info_1 */
#define SVM_IOIO_TYPE_IN	(1U << 0)
#define SVM_IOIO_STR		(1U << 2)
#define SVM_IOIO_REP		(1U << 3)
#define SVM_IOIO_SIZE_SHIFT	4
#define SVM_IOIO_SIZE_MASK	(7U << 4)
#define SVM_IOIO_A16		(1U << 7)
#define SVM_IOIO_A32		(1U << 8)
#define SVM_IOIO_A64		(1U << 9)
#define SVM_IOIO_SEG_SHIFT	10
#define SVM_IOIO_PORT_SHIFT	16

/* NPF exit_info_1 (page-fault error code bits) */
#define NPF_PRESENT		(1ULL << 0)
#define NPF_WRITE		(1ULL << 1)
#define NPF_FETCH		(1ULL << 4)

#endif /* KVM_SVM_VMCB_H */
