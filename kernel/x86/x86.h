/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Common x86 vCPU code and the backend op table.  Nothing here knows
 * which vendor it runs on: vendor code sits behind kvm_x86_ops.
 */
#ifndef KVM_X86_H
#define KVM_X86_H

#include "kvm_host.h"

#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#define X86_EFLAGS_FIXED_BIT_VALUE 0x2UL
#define KVM_CR4_RESERVED_BITS						\
	(~(0x1UL | 0x2UL | 0x4UL | 0x8UL | 0x10UL | 0x20UL | 0x40UL |	\
	   0x80UL | 0x100UL | 0x200UL | 0x400UL | 0x800UL |		\
	   0x10000UL | 0x20000UL | 0x40000UL | 0x100000UL |		\
	   0x200000UL | 0x400000UL))

#include <asm/trapnr.h>
#define GP_VECTOR	X86_TRAP_GP
#define UD_VECTOR	X86_TRAP_UD
#define PF_VECTOR	X86_TRAP_PF

struct kvm_x86_ops {
	const char *name;
	/* Entry format of the nested page table (not an op: data). */
	const struct kvm_tdp_format *tdp_format;
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);
	int (*vcpu_create)(struct kvm_vcpu **vcpu, struct kvm *kvm);
	void (*vcpu_free)(struct kvm_vcpu *vcpu);
	void (*vcpu_reset)(struct kvm_vcpu *vcpu);
	void (*vcpu_run)(struct kvm_vcpu *vcpu);
	int (*handle_exit)(struct kvm_vcpu *vcpu);
	int (*prepare_guest_entry)(struct kvm_vcpu *vcpu);
	void (*vcpu_put)(struct kvm_vcpu *vcpu);
	void (*get_segment)(struct kvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg);
	void (*set_segment)(struct kvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg);
	void (*get_dtable)(struct kvm_vcpu *vcpu, struct kvm_dtable *dt,
			   int which);
	void (*set_dtable)(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt,
			   int which);
	unsigned long (*get_cr)(struct kvm_vcpu *vcpu, int cr);
	void (*set_cr)(struct kvm_vcpu *vcpu, int cr, unsigned long val);
	void (*set_efer)(struct kvm_vcpu *vcpu, u64 efer);
	unsigned long (*get_dr)(struct kvm_vcpu *vcpu, int dr);
	void (*set_dr)(struct kvm_vcpu *vcpu, int dr, unsigned long val);
	int (*get_cpl)(struct kvm_vcpu *vcpu);
	unsigned long (*get_rflags)(struct kvm_vcpu *vcpu);
	void (*set_rflags)(struct kvm_vcpu *vcpu, unsigned long rflags);
	bool (*get_interrupt_shadow)(struct kvm_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct kvm_vcpu *vcpu, bool shadow);
	void (*queue_exception)(struct kvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code);
	u32 (*get_injected_event)(struct kvm_vcpu *vcpu, u32 *error_code);
	void (*set_injected_event)(struct kvm_vcpu *vcpu, u32 info,
				   u32 error_code);
	void (*enable_irq_window)(struct kvm_vcpu *vcpu);
	void (*enable_tpr_window)(struct kvm_vcpu *vcpu, int prio);
	void (*set_iret_intercept)(struct kvm_vcpu *vcpu, bool on);
	int (*get_msr)(struct kvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct kvm_vcpu *vcpu, u32 index, u64 data);
	void (*vcpu_after_set_cpuid)(struct kvm_vcpu *vcpu);
	void (*load_mmu_root)(struct kvm_vcpu *vcpu, phys_addr_t root);
	void (*flush_guest_tlb)(struct kvm_vcpu *vcpu);
};

extern struct kvm_x86_ops kvm_x86_ops;

/* Injected-event encoding shared by SVM EVENTINJ and VMX entry info. */
#define KVM_EVENT_VECTOR_MASK	0xffU
#define KVM_EVENT_TYPE_MASK	(7U << 8)
#define KVM_EVENT_TYPE_INTR	(0U << 8)
#define KVM_EVENT_TYPE_NMI	(2U << 8)
#define KVM_EVENT_TYPE_EXCEPT	(3U << 8)
#define KVM_EVENT_TYPE_SOFT	(4U << 8)
#define KVM_EVENT_HAS_ERROR	(1U << 11)
#define KVM_EVENT_VALID		(1U << 31)

/* Filled by each backend; svm/ and vmx/ export their probe. */
struct kvm_x86_backend {
	const char *name;
	/* 0 if this CPU family can run it; -errno with a logged reason if not */
	int (*probe)(void);
	int (*setup)(void);	/* global resources, after probe */
	void (*unsetup)(void);
	const struct kvm_x86_ops *ops;
};

extern const struct kvm_x86_backend svm_backend;
extern const struct kvm_x86_backend vmx_backend;

/* A 48-bit canonical address (bits 63:47 all equal). */
static inline bool kvm_is_canonical(u64 v)
{
	return (u64)(((s64)v << 16) >> 16) == v;
}

/* Every IA32_PAT entry a valid memory type (0, 1, 4, 5, 6, 7). */
static inline bool kvm_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static inline unsigned long kvm_rip(struct kvm_vcpu *vcpu)
{
	return vcpu->regs[VCPU_REGS_RIP];
}

/* Exit helpers the backends call; same return convention as handle_exit. */
int kvm_emulate_pio(struct kvm_vcpu *vcpu, bool in, int size, u16 port,
		    unsigned long next_rip);

/* A string port instruction (INS/OUTS, maybe REP) as the exit decoded it. */
struct kvm_string_pio {
	bool in;
	bool rep;
	u8 size;		/* 1, 2 or 4 */
	u8 addr_size;		/* 2, 4 or 8; 0 if the exit did not say */
	s8 seg;			/* OUTS source segment, -1 if the exit did not say */
	u16 port;
	unsigned long next_rip;
};
int kvm_emulate_string_pio(struct kvm_vcpu *vcpu,
			   const struct kvm_string_pio *info);
int kvm_complete_pio(struct kvm_vcpu *vcpu);
int kvm_emulate_halt(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_exit_shutdown(struct kvm_vcpu *vcpu);
int kvm_exit_internal_error(struct kvm_vcpu *vcpu, u32 suberror,
			    const char *why, u64 d0, u64 d1);
int kvm_exit_fail_entry(struct kvm_vcpu *vcpu, u64 reason);
void kvm_queue_ud(struct kvm_vcpu *vcpu);
void kvm_queue_gp(struct kvm_vcpu *vcpu, u32 error_code);
void kvm_queue_pf(struct kvm_vcpu *vcpu, u64 address, u32 error_code);

/* x86/cr.c */
int kvm_set_cr4(struct kvm_vcpu *vcpu, unsigned long cr4);
int kvm_set_cr0(struct kvm_vcpu *vcpu, unsigned long cr0);
int kvm_set_cr3(struct kvm_vcpu *vcpu, unsigned long cr3);
int kvm_set_cr(struct kvm_vcpu *vcpu, int cr, unsigned long val);
int kvm_decode_mov_to_cr(struct kvm_vcpu *vcpu, int *cr, int *gpr);
int kvm_emulate_cr4_write(struct kvm_vcpu *vcpu, int gpr,
			  unsigned long next_rip);

/* x86/msr.c */
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host);
bool kvm_efer_is_valid(struct kvm_vcpu *vcpu, u64 efer);
void kvm_msr_reset(struct kvm_vcpu *vcpu);
int kvm_dev_get_msr_index_list(struct kvm_msr_list __user *ul);
int kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs __user *um,
			bool set);

/* x86/mmio.c */
int kvm_emulate_mmio(struct kvm_vcpu *vcpu);
/* Emulate the instruction at RIP (a control-register access, INVLPG...). */
int kvm_emulate_instruction(struct kvm_vcpu *vcpu);
int kvm_emulate_pt_write(struct kvm_vcpu *vcpu, gfn_t gfn);
bool kvm_mmu_write_traps(struct kvm_vcpu *vcpu, gfn_t gfn);
int kvm_complete_mmio_read(struct kvm_vcpu *vcpu);

/* x86/events.c */
int kvm_vcpu_ioctl_interrupt(struct kvm_vcpu *vcpu, struct kvm_interrupt *irq);
void kvm_inject_pending_events(struct kvm_vcpu *vcpu);
int kvm_vcpu_ioctl_nmi(struct kvm_vcpu *vcpu);
void kvm_nmi_iret_exit(struct kvm_vcpu *vcpu);
void kvm_nmi_after_exit(struct kvm_vcpu *vcpu);
bool kvm_ready_for_interrupt_injection(struct kvm_vcpu *vcpu);
void kvm_get_vcpu_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev);
int kvm_set_vcpu_events(struct kvm_vcpu *vcpu,
			const struct kvm_vcpu_events *ev);

void kvm_vcpu_init_event(struct kvm_vcpu *vcpu);

/* Guest FPU state switch, called around the guest entry. */
void kvm_load_guest_fpu(struct kvm_vcpu *vcpu);
void kvm_put_guest_fpu(struct kvm_vcpu *vcpu);

extern u64 kvm_host_xcr0;

#endif /* KVM_X86_H */
