/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Core objects of kvm.ko: the VM (struct kvm), its memory slots and its
 * vCPUs (struct kvm_vcpu), plus the interfaces between core/, x86/, mmu/
 * and the backends.
 */
#ifndef KVM_HOST_H
#define KVM_HOST_H

#include <linux/types.h>
#include <linux/kvm_types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/mm_types.h>
#include <linux/ratelimit.h>
#include <linux/hrtimer.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <linux/mmu_notifier.h>
#include <linux/preempt.h>
#include "kvm-abi.h"
#include "../emulate/emulate.h"

#define KVM_MAX_VCPUS		256
#define KVM_MAX_VCPU_IDS	1024
#define KVM_USER_MEM_SLOTS	509
#define KVM_MAX_IRQ_ROUTES	4096
/* kvm_run page, PIO data page, coalesced-MMIO ring page (kept empty) */
#define KVM_VCPU_MMAP_PAGES	3

/* Guest GPR indices into vcpu->regs, in the hardware encoding order. */
enum kvm_reg {
	VCPU_REGS_RAX, VCPU_REGS_RCX, VCPU_REGS_RDX, VCPU_REGS_RBX,
	VCPU_REGS_RSP, VCPU_REGS_RBP, VCPU_REGS_RSI, VCPU_REGS_RDI,
	VCPU_REGS_R8, VCPU_REGS_R9, VCPU_REGS_R10, VCPU_REGS_R11,
	VCPU_REGS_R12, VCPU_REGS_R13, VCPU_REGS_R14, VCPU_REGS_R15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS
};

enum kvm_seg_reg {
	VCPU_SREG_ES, VCPU_SREG_CS, VCPU_SREG_SS, VCPU_SREG_DS,
	VCPU_SREG_FS, VCPU_SREG_GS, VCPU_SREG_TR, VCPU_SREG_LDTR,
};

enum kvm_dtable_reg { VCPU_DTABLE_GDT, VCPU_DTABLE_IDT };

/* Bits of vcpu->requests: work to do before the next guest entry. */
#define KVM_REQ_TLB_FLUSH	0
#define KVM_REQ_EVENT		1	/* re-evaluate interrupt injection */
#define KVM_REQ_MMU_RELOAD	2	/* shadow paging: rebuild the root */

/* vcpu->mode, read by whoever kicks the vCPU. */
enum vcpu_mode { OUTSIDE_GUEST_MODE, IN_GUEST_MODE };

struct kvm_memory_slot {
	u32 id;
	u32 flags;
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	/* With KVM_MEM_LOG_DIRTY_PAGES: one bit per page written since the
	 * last KVM_GET_DIRTY_LOG.  Set under slots_lock. */
	unsigned long *dirty_bitmap;
};

struct kvm;
struct kvm_vcpu;
struct lapic;
struct kvm_vm_irqchip;

/*
 * In-kernel devices on the port-I/O and MMIO buses (core/iodev.c).  The
 * device sees offsets into its range.  Return 0, or -errno to let the
 * access go to userspace as if no device were there.
 */
enum kvm_bus { KVM_PIO_BUS, KVM_MMIO_BUS, KVM_NR_BUSES };

struct kvm_io_device_ops {
	int (*read)(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
		    void *val, u32 len);
	int (*write)(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
		     const void *val, u32 len);
};

struct kvm_io_range {
	u64 addr;
	u32 len;
	const struct kvm_io_device_ops *ops;
	void *opaque;
};

#define KVM_IO_BUS_MAX	16

struct kvm_io_bus {
	int nr;		/* published with smp_store_release() */
	struct kvm_io_range ranges[KVM_IO_BUS_MAX];
};

/*
 * How the nested page table encodes its entries: AMD NPT uses the host's
 * long-mode format, Intel EPT its own (SDM vol. 3C 29.3.2).  Each backend
 * provides one (kvm_x86_ops.tdp_format); kernel/mmu/tdp.c builds tables
 * from it.  Entries hold the physical address in bits 51:12 in both.
 */
struct kvm_tdp_format {
	u64 present;	/* an entry with any of these bits maps something */
	u64 table;	/* bits of an entry that points to a lower table */
	u64 leaf;	/* bits of a read-only leaf entry */
	u64 writable;	/* added to a leaf for write access */
	int levels;	/* 4 or 5; 0: as deep as the host's own paging */
};

/*
 * The nested page table (NPT/EPT) of one VM: guest-physical to
 * host-physical.  Guest pages are pinned while mapped.
 */
struct kvm_tdp {
	u64 *root;		/* top-level table, never freed while the VM lives */
	unsigned long nr_tables; /* page-table pages allocated, root included */
	unsigned long nr_mapped; /* pinned guest pages */
};

#include "../mmu/shadow_types.h"

/* One exit in a histogram of KVM_EXIT_HIST_SIZE (shadow_types.h). */
static inline void kvm_count_exit(u32 *hist, u64 code, bool npf)
{
	hist[npf ? KVM_EXIT_HIST_NPF :
	     code < KVM_EXIT_HIST_NPF ? code : KVM_EXIT_HIST_OTHER]++;
}

struct kvm_vcpu {
	struct kvm *kvm;
	u32 vcpu_id;
	int vcpu_idx;		/* index in kvm->vcpus[] */

	/*
	 * Serializes the vCPU ioctls: only one thread runs or inspects this
	 * vCPU at a time.  Everything below without another note is guarded
	 * by it.
	 */
	struct mutex mutex;
	struct kvm_run *run;	/* page shared with userspace (mmap offset 0) */
	void *pio_data;		/* page shared with userspace (mmap offset 1) */
	void *mmio_ring;	/* page shared with userspace (mmap offset 2) */

	unsigned long regs[NR_VCPU_REGS];
	u64 efer;		/* as the guest sees it */
	u64 apic_base;
	u64 xcr0;

	/*
	 * A port access handed to userspace, completed by the next KVM_RUN
	 * (as upstream: RIP still points at the instruction until then).  An
	 * IN delivers its data into RAX, an INS into guest memory at
	 * string_gva (count elements, stored descending when down is set).
	 * The register values after the instruction are kept ready; if
	 * userspace moved RIP away meanwhile, the completion is dropped.
	 */
	struct {
		bool pending;
		bool in;
		bool string;
		bool down;
		u8 size;
		u16 port;
		u32 count;
		u64 string_gva;
		unsigned long rip;	/* of the I/O instruction */
		unsigned long next_rip;
		int addr_reg;		/* string: RSI or RDI, else -1 */
		unsigned long addr_reg_after;
		bool rcx_update;
		unsigned long rcx_after;
	} pio;

	/*
	 * MMIO emulation (x86/mmio.c): device reads already answered by
	 * userspace for the instruction being emulated, the read it waits
	 * for, and the device write it produced.
	 */
	struct {
		struct x86_emulate_ctxt ctxt;
		struct {
			u64 gpa;
			u32 len;
			u8 data[8];
		} reads[4];
		int nr_reads;
		bool read_pending;
		unsigned long rip;	/* of the instruction waiting */
		u64 read_gpa;
		u32 read_len;
		bool write_pending;
		u64 write_gpa;
		u32 write_len;
		u8 write_data[8];
	} mmio;

	/* MSRs kept in software (x86/msr.c). */
	struct {
		u64 misc_enable;
		u64 ucode_rev;
		u64 platform_info;
		u64 vm_hsave_pa;
		u64 hwcr;
		u64 debugctl;
		u64 mtrr_def_type;
		u64 mtrr_fixed[11];
		u64 mtrr_var[16];	/* PhysBase0, PhysMask0, ... */
		u64 mcg_status;
		u64 mcg_ctl;
		u64 mce_banks[4 * 10];	/* CTL, STATUS, ADDR, MISC per bank */
	} msr;

	u32 mp_state;

	/*
	 * With an in-kernel irqchip: the local APIC model (guarded by the
	 * VM's irqchip lock), its timer, the queue HLT sleeps on, and the
	 * task running KVM_RUN (for kicks; NULL outside KVM_RUN).
	 */
	struct lapic *apic;
	struct hrtimer apic_timer;
	wait_queue_head_t wq;
	struct task_struct *task;
	/*
	 * Registered on the KVM_RUN thread while it runs, when the backend
	 * has a vcpu_put op: tells the backend the thread left its CPU.
	 */
	struct preempt_notifier preempt_notifier;
	/* KVM_SET_VAPIC_ADDR: TPR/ISR/IRR mirror for a TPR-patching BIOS. */
	u64 vapic_addr;

	/* An external interrupt queued by KVM_INTERRUPT, injected at entry. */
	struct {
		bool pending;
		u8 vector;
	} irq;

	/*
	 * NMIs: pending ones (KVM_NMI; at most 2 are kept, like a real CPU
	 * latching one while another is being handled), and whether the
	 * guest is inside an NMI handler (NMIs blocked until its IRET).
	 * iret_rip: the IRET was intercepted there; once RIP has moved on,
	 * the IRET has completed and NMIs are unblocked.
	 */
	struct {
		u8 pending;
		bool masked;
		bool awaiting_iret;
		unsigned long iret_rip;
	} nmi;

	/*
	 * Set before entry when something pending waits only for the event
	 * being injected to be delivered (x86/events.c): the entry then
	 * makes the guest exit again at once.
	 */
	bool immediate_exit;

	/* The guest's CPUID table, set by KVM_SET_CPUID2. */
	struct kvm_cpuid_entry2 *cpuid_entries;
	int cpuid_nent;

	/* Guest FPU/SSE/AVX state, in XSAVE (or FXSAVE) standard format. */
	void *guest_fpu;

	/* Guest debug registers 0-3, switched around each entry. */
	unsigned long db[4];

	/* Set by anyone, consumed by the vCPU thread before entry. */
	unsigned long requests;
	/* Written by the vCPU thread with interrupts off; read by kickers. */
	int mode;
	int cpu;		/* physical CPU of the last entry, -1 if none */

	struct kvm_shadow_mmu shadow;

	struct {
		u64 exits;
		u64 io_exits;
		u64 npf_exits;
		u64 shadow_faults;
		u32 exit_hist[KVM_EXIT_HIST_SIZE];	/* shadow_types.h */
	} stat;
};

/*
 * One virtual machine.  Lifetime: a reference for the VM fd and one per
 * vCPU fd; freed when the last is dropped.
 */
struct kvm {
	struct kref refcount;
	struct mm_struct *mm;	/* the creating process; ioctls from other mms fail */

	/*
	 * Guards vcpus[] growth and created_vcpus.  vcpus[i] never changes
	 * once set; online_vcpus is published after it with smp_wmb().
	 */
	struct mutex lock;
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
	atomic_t online_vcpus;
	int created_vcpus;

	/*
	 * Guards the memory slots: taken by KVM_SET_USER_MEMORY_REGION and by
	 * the fault path while it resolves a guest frame.
	 */
	struct mutex slots_lock;
	struct kvm_memory_slot *slots[KVM_USER_MEM_SLOTS];
	/* Upstream's KVM_RUN fails with ENOSPC until a first slot exists. */
	bool had_memslot;

	/* Guards the nested page table (tdp) and the shadow pages. */
	spinlock_t mmu_lock;
	struct kvm_tdp tdp;
	struct kvm_shadow_vm shadow;
	/*
	 * The MMU notifier on mm, for both MMUs (kernel/mmu/shadow.c): a
	 * fault reads mmu_seq before it looks at the host mapping and maps
	 * only if, under mmu_lock, no invalidation is under way (mn_active)
	 * and mmu_seq has not moved.
	 */
	struct mmu_notifier mn;
	bool mn_registered;
	unsigned long mmu_seq;	/* bumped when host mappings change */
	long mn_active;		/* invalidations in progress */

	u64 tss_addr;
	u64 identity_map_addr;

	/* KVM_CREATE_IRQCHIP's PICs, IOAPIC, routing and KVM_CREATE_PIT2's
	 * PIT; NULL before either (x86/irq.h). */
	struct kvm_vm_irqchip *irqchip;

	/* In-kernel devices; ranges are added under lock, never removed. */
	struct kvm_io_bus buses[KVM_NR_BUSES];
};

#define kvm_for_each_vcpu(idx, vcpup, kvm)				\
	for (idx = 0; idx < atomic_read(&(kvm)->online_vcpus) &&	\
		      ((vcpup) = READ_ONCE((kvm)->vcpus[idx])); idx++)

/*
 * A bug macro for conditions a guest or user may cause: warn once, never
 * BUG() the host.  Callers then fail the VM operation.
 */
#define KVM_BUG_ON(cond) WARN_ON_ONCE(cond)

#define kvm_pr_guest(fmt, ...) \
	pr_info_ratelimited("kvm: " fmt, ##__VA_ARGS__)

/* core/ */
void kvm_get_kvm(struct kvm *kvm);
void kvm_put_kvm(struct kvm *kvm);
int kvm_vm_create_fd(unsigned long type);
int kvm_vm_create_vcpu(struct kvm *kvm, unsigned long id);
int kvm_vcpu_create_fd(struct kvm_vcpu *vcpu);
struct kvm_memory_slot *kvm_gfn_to_slot(struct kvm *kvm, gfn_t gfn);
void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn);
void kvm_make_all_vcpus_request(struct kvm *kvm, int req);
long kvm_check_extension(long cap);

int kvm_io_bus_register(struct kvm *kvm, enum kvm_bus bus, u64 addr, u32 len,
			const struct kvm_io_device_ops *ops, void *opaque);
int kvm_io_bus_read(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		    void *val, u32 len);
int kvm_io_bus_write(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		     const void *val, u32 len);

/* x86/ */
int kvm_x86_init(void);
void kvm_x86_exit(void);
int kvm_arch_vcpu_init(struct kvm_vcpu *vcpu);
void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu);
long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);
int kvm_arch_vcpu_run(struct kvm_vcpu *vcpu);

/* mmu/ */
int kvm_tdp_init(struct kvm *kvm);
void kvm_tdp_destroy(struct kvm *kvm);
void kvm_tdp_zap_all(struct kvm *kvm);
bool kvm_tdp_zap_gfns(struct kvm *kvm, gfn_t start, gfn_t end);
u64 kvm_tdp_lookup(struct kvm *kvm, gpa_t gpa);
int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write,
		       bool fetch);

/*
 * Shadow paging instead of nested paging: chosen by the backend at load
 * (module parameter, or a CPU without NPT/EPT), before any VM exists.
 */
extern bool kvm_shadow_paging;
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 gva, u32 error_code);
int kvm_mmu_reload(struct kvm_vcpu *vcpu);
void kvm_mmu_reset_context(struct kvm_vcpu *vcpu);
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, u64 gva);
void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu);
/* Drop every guest mapping (memory slots changed, dirty log read). */
void kvm_mmu_zap_all(struct kvm *kvm);

#endif /* KVM_HOST_H */
