/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The /dev/kvm ioctl ABI, API version 12.
 *
 * Every number, structure size and field offset here must equal the
 * upstream Linux KVM ABI for x86-64 (<linux/kvm.h> plus <asm/kvm.h>), so
 * that real clients (QEMU, kvmtool) run on our module and our kvm-run runs
 * on any Linux KVM.  tests/unit/abi_test.cc checks that claim against the
 * system header; add an entry to tests/unit/abi_items.def for every item
 * added here.
 *
 * Shared by kernel/ (kernel build: <linux/types.h> is the kernel's) and by
 * userspace/ and tests/ (glibc's <linux/types.h>).
 */
#ifndef KVM_ABI_H
#define KVM_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define KVM_API_VERSION 12

/* ---- Capabilities (KVM_CHECK_EXTENSION) ---------------------------- */
#define KVM_CAP_IRQCHIP				0
#define KVM_CAP_HLT				1
#define KVM_CAP_USER_MEMORY			3
#define KVM_CAP_SET_TSS_ADDR			4
#define KVM_CAP_EXT_CPUID			7
#define KVM_CAP_NR_VCPUS			9
#define KVM_CAP_NR_MEMSLOTS			10
#define KVM_CAP_PIT				11
#define KVM_CAP_NOP_IO_DELAY			12
#define KVM_CAP_MP_STATE			14
#define KVM_CAP_COALESCED_MMIO			15
#define KVM_CAP_SYNC_MMU			16
#define KVM_CAP_DESTROY_MEMORY_REGION_WORKS	21
#define KVM_CAP_USER_NMI			22
#define KVM_CAP_REINJECT_CONTROL		24
#define KVM_CAP_IRQ_ROUTING			25
#define KVM_CAP_IRQ_INJECT_STATUS		26
#define KVM_CAP_JOIN_MEMORY_REGIONS_WORKS	30
#define KVM_CAP_PIT2				33
#define KVM_CAP_PIT_STATE2			35
#define KVM_CAP_SET_IDENTITY_MAP_ADDR		37
#define KVM_CAP_INTERNAL_ERROR_DATA		40
#define KVM_CAP_VCPU_EVENTS			41
#define KVM_CAP_DEBUGREGS			50
#define KVM_CAP_GET_TSC_KHZ			61
#define KVM_CAP_TSC_DEADLINE_TIMER		72
#define KVM_CAP_SIGNAL_MSI			77
#define KVM_CAP_XSAVE				55
#define KVM_CAP_XCRS				56
#define KVM_CAP_MAX_VCPUS			66
#define KVM_CAP_READONLY_MEM			81
#define KVM_CAP_MAX_VCPU_ID			128
#define KVM_CAP_IMMEDIATE_EXIT			136
#define KVM_CAP_X2APIC_API			129

/* ---- Exit reasons (kvm_run.exit_reason) ----------------------------- */
#define KVM_EXIT_UNKNOWN		0
#define KVM_EXIT_EXCEPTION		1
#define KVM_EXIT_IO			2
#define KVM_EXIT_HYPERCALL		3
#define KVM_EXIT_DEBUG			4
#define KVM_EXIT_HLT			5
#define KVM_EXIT_MMIO			6
#define KVM_EXIT_IRQ_WINDOW_OPEN	7
#define KVM_EXIT_SHUTDOWN		8
#define KVM_EXIT_FAIL_ENTRY		9
#define KVM_EXIT_INTR			10
#define KVM_EXIT_SET_TPR		11
#define KVM_EXIT_TPR_ACCESS		12
#define KVM_EXIT_NMI			16
#define KVM_EXIT_INTERNAL_ERROR		17
#define KVM_EXIT_SYSTEM_EVENT		24
#define KVM_EXIT_IOAPIC_EOI		26
#define KVM_EXIT_X86_RDMSR		29
#define KVM_EXIT_X86_WRMSR		30

/* kvm_run.internal.suberror */
#define KVM_INTERNAL_ERROR_EMULATION			1
#define KVM_INTERNAL_ERROR_SIMUL_EX			2
#define KVM_INTERNAL_ERROR_DELIVERY_EV			3
#define KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON	4

/* kvm_run.io.direction */
#define KVM_EXIT_IO_IN		0
#define KVM_EXIT_IO_OUT		1

/* kvm_run.system_event.type */
#define KVM_SYSTEM_EVENT_SHUTDOWN	1
#define KVM_SYSTEM_EVENT_RESET		2
#define KVM_SYSTEM_EVENT_CRASH		3

/* Pages of the vCPU mapping, in units of the page size. */
#define KVM_PIO_PAGE_OFFSET		1
#define KVM_COALESCED_MMIO_PAGE_OFFSET	2

#define KVM_NR_INTERRUPTS	256

/* ---- The shared vCPU page: mmap(vcpu_fd, 0) ------------------------ */
struct kvm_debug_exit_arch {
	__u32 exception;
	__u32 pad;
	__u64 pc;
	__u64 dr6;
	__u64 dr7;
};

struct kvm_regs {
	__u64 rax, rbx, rcx, rdx;
	__u64 rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11;
	__u64 r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct kvm_segment {
	__u64 base;
	__u32 limit;		/* in bytes, already scaled by g */
	__u16 selector;
	__u8 type;
	__u8 present, dpl, db, s, l, g, avl;
	__u8 unusable;
	__u8 padding;
};

struct kvm_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

struct kvm_sregs {
	struct kvm_segment cs, ds, es, fs, gs, ss;
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
	/* one bit per vector: an external interrupt waiting for injection */
	__u64 interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

struct kvm_vcpu_events {
	struct {
		__u8 injected;
		__u8 nr;
		__u8 has_error_code;
		__u8 pending;
		__u32 error_code;
	} exception;
	struct {
		__u8 injected;
		__u8 nr;
		__u8 soft;
		__u8 shadow;
	} interrupt;
	struct {
		__u8 injected;
		__u8 pending;
		__u8 masked;
		__u8 pad;
	} nmi;
	__u32 sipi_vector;
	__u32 flags;
	struct {
		__u8 smm;
		__u8 pending;
		__u8 smm_inside_nmi;
		__u8 latched_init;
	} smi;
	struct {
		__u8 pending;
	} triple_fault;
	__u8 reserved[26];
	__u8 exception_has_payload;
	__u64 exception_payload;
};

/* kvm_vcpu_events.flags: which optional parts are valid */
#define KVM_VCPUEVENT_VALID_NMI_PENDING	0x00000001
#define KVM_VCPUEVENT_VALID_SIPI_VECTOR	0x00000002
#define KVM_VCPUEVENT_VALID_SHADOW	0x00000004
#define KVM_VCPUEVENT_VALID_SMM		0x00000008
#define KVM_VCPUEVENT_VALID_PAYLOAD	0x00000010
#define KVM_VCPUEVENT_VALID_TRIPLE_FAULT 0x00000020

/* kvm_vcpu_events.interrupt.shadow */
#define KVM_X86_SHADOW_INT_MOV_SS	0x01
#define KVM_X86_SHADOW_INT_STI		0x02

/* What KVM_CAP_SYNC_REGS may place in kvm_run.s; we never set it. */
struct kvm_sync_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
};

struct kvm_run {
	/* written by userspace before KVM_RUN */
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];

	/* written by the kernel on return from KVM_RUN */
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;
	__u8 if_flag;
	__u16 flags;

	/* both ways */
	__u64 cr8;
	__u64 apic_base;

	/* one member per exit_reason; 256 bytes whatever the members */
	union {
		struct {
			__u64 hardware_exit_reason;
		} hw;
		struct {
			__u64 hardware_entry_failure_reason;
			__u32 cpu;
		} fail_entry;
		struct {
			__u32 exception;
			__u32 error_code;
		} ex;
		struct {
			__u8 direction;
			__u8 size;	/* 1, 2 or 4 */
			__u16 port;
			__u32 count;
			__u64 data_offset; /* from the start of kvm_run */
		} io;
		struct {
			struct kvm_debug_exit_arch arch;
		} debug;
		struct {
			__u64 phys_addr;
			__u8 data[8];
			__u32 len;
			__u8 is_write;
		} mmio;
		struct {
			__u64 nr;
			__u64 args[6];
			__u64 ret;
			__u32 longmode;
			__u32 pad;
		} hypercall;
		struct {
			__u64 rip;
			__u32 is_write;
			__u32 pad;
		} tpr_access;
		struct {
			__u32 suberror;
			__u32 ndata;	/* valid entries of data[] */
			__u64 data[16];
		} internal;
		struct {
			__u32 type;
			__u32 ndata;
			union {
				__u64 flags;
				__u64 data[16];
			};
		} system_event;
		struct {
			__u8 vector;
		} eoi;
		struct {
			__u8 error;	/* set by userspace to fail the access */
			__u8 pad[7];
			__u32 reason;
			__u32 index;
			__u64 data;
		} msr;
		char padding[256];
	};

	__u64 kvm_valid_regs;
	__u64 kvm_dirty_regs;
	union {
		struct kvm_sync_regs regs;
		char padding[2048];
	} s;
};

/* ---- Memory ---------------------------------------------------------- */
struct kvm_userspace_memory_region {
	__u32 slot;		/* bits 16-31: address space id */
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;	/* bytes; 0 deletes the slot */
	__u64 userspace_addr;
};

#define KVM_MEM_LOG_DIRTY_PAGES	(1UL << 0)
#define KVM_MEM_READONLY	(1UL << 1)

struct kvm_dirty_log {
	__u32 slot;
	__u32 padding1;
	union {
		void *dirty_bitmap;
		__u64 padding2;
	};
};

/* ---- Misc vCPU state ------------------------------------------------- */
struct kvm_interrupt {
	__u32 irq;
};

#define KVM_MP_STATE_RUNNABLE		0
#define KVM_MP_STATE_UNINITIALIZED	1
#define KVM_MP_STATE_INIT_RECEIVED	2
#define KVM_MP_STATE_HALTED		3
#define KVM_MP_STATE_SIPI_RECEIVED	4

struct kvm_mp_state {
	__u32 mp_state;
};

struct kvm_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

struct kvm_msrs {
	__u32 nmsrs;
	__u32 pad;
	struct kvm_msr_entry entries[];
};

struct kvm_msr_list {
	__u32 nmsrs;
	__u32 indices[];
};

struct kvm_cpuid_entry2 {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax;
	__u32 ebx;
	__u32 ecx;
	__u32 edx;
	__u32 padding[3];
};

#define KVM_CPUID_FLAG_SIGNIFCANT_INDEX	(1 << 0)

struct kvm_cpuid2 {
	__u32 nent;
	__u32 padding;
	struct kvm_cpuid_entry2 entries[];
};

struct kvm_fpu {
	__u8 fpr[8][16];
	__u16 fcw;
	__u16 fsw;
	__u8 ftwx;		/* abridged tag word, as FXSAVE stores it */
	__u8 pad1;
	__u16 last_opcode;
	__u64 last_ip;
	__u64 last_dp;
	__u8 xmm[16][16];
	__u32 mxcsr;
	__u32 pad2;
};

struct kvm_debugregs {
	__u64 db[4];
	__u64 dr6;
	__u64 dr7;
	__u64 flags;
	__u64 reserved[9];
};

/* XSAVE standard (non-compacted) format, offsets as host CPUID 0xD. */
struct kvm_xsave {
	__u32 region[1024];
};

#define KVM_MAX_XCRS	16

struct kvm_xcr {
	__u32 xcr;
	__u32 reserved;
	__u64 value;
};

struct kvm_xcrs {
	__u32 nr_xcrs;
	__u32 flags;
	struct kvm_xcr xcrs[KVM_MAX_XCRS];
	__u64 padding[16];
};

/* ---- In-kernel interrupt controllers and timers ------------------------ */
struct kvm_irq_level {
	union {
		__u32 irq;	/* GSI */
		__s32 status;	/* KVM_IRQ_LINE_STATUS: delivered? */
	};
	__u32 level;
};

struct kvm_pic_state {
	__u8 last_irr;
	__u8 irr;
	__u8 imr;
	__u8 isr;
	__u8 priority_add;
	__u8 irq_base;
	__u8 read_reg_select;
	__u8 poll;
	__u8 special_mask;
	__u8 init_state;
	__u8 auto_eoi;
	__u8 rotate_on_auto_eoi;
	__u8 special_fully_nested_mode;
	__u8 init4;
	__u8 elcr;
	__u8 elcr_mask;
};

#define KVM_IOAPIC_NUM_PINS	24
struct kvm_ioapic_state {
	__u64 base_address;
	__u32 ioregsel;
	__u32 id;
	__u32 irr;
	__u32 pad;
	union {
		__u64 bits;
		struct {
			__u8 vector;
			__u8 delivery_mode:3;
			__u8 dest_mode:1;
			__u8 delivery_status:1;
			__u8 polarity:1;
			__u8 remote_irr:1;
			__u8 trig_mode:1;
			__u8 mask:1;
			__u8 reserve:7;
			__u8 reserved[4];
			__u8 dest_id;
		} fields;
	} redirtbl[KVM_IOAPIC_NUM_PINS];
};

#define KVM_IRQCHIP_PIC_MASTER	0
#define KVM_IRQCHIP_PIC_SLAVE	1
#define KVM_IRQCHIP_IOAPIC	2
#define KVM_NR_IRQCHIPS		3

struct kvm_irqchip {
	__u32 chip_id;
	__u32 pad;
	union {
		char dummy[512];
		struct kvm_pic_state pic;
		struct kvm_ioapic_state ioapic;
	} chip;
};

#define KVM_APIC_REG_SIZE	0x400
struct kvm_lapic_state {
	char regs[KVM_APIC_REG_SIZE];
};

/* KVM_SET_VAPIC_ADDR: guest-physical page where the TPR is mirrored. */
struct kvm_vapic_addr {
	__u64 vapic_addr;
};

struct kvm_pit_config {
	__u32 flags;
	__u32 pad[15];
};

#define KVM_PIT_SPEAKER_DUMMY	1

/* KVM_REINJECT_CONTROL: 1 = re-deliver missed PIT ticks (the default). */
struct kvm_reinject_control {
	__u8 pit_reinject;
	__u8 reserved[31];
};

struct kvm_pit_channel_state {
	__u32 count;	/* can be 65536 */
	__u16 latched_count;
	__u8 count_latched;
	__u8 status_latched;
	__u8 status;
	__u8 read_state;
	__u8 write_state;
	__u8 write_latch;
	__u8 rw_mode;
	__u8 mode;
	__u8 bcd;
	__u8 gate;
	__s64 count_load_time;
};

#define KVM_PIT_FLAGS_HPET_LEGACY	0x00000001
#define KVM_PIT_FLAGS_SPEAKER_DATA_ON	0x00000002

struct kvm_pit_state2 {
	struct kvm_pit_channel_state channels[3];
	__u32 flags;
	__u32 reserved[9];
};

struct kvm_irq_routing_irqchip {
	__u32 irqchip;
	__u32 pin;
};

struct kvm_irq_routing_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	union {
		__u32 pad;
		__u32 devid;
	};
};

#define KVM_IRQ_ROUTING_IRQCHIP	1
#define KVM_IRQ_ROUTING_MSI	2

struct kvm_irq_routing_entry {
	__u32 gsi;
	__u32 type;
	__u32 flags;
	__u32 pad;
	union {
		struct kvm_irq_routing_irqchip irqchip;
		struct kvm_irq_routing_msi msi;
		__u32 pad[8];
	} u;
};

struct kvm_irq_routing {
	__u32 nr;
	__u32 flags;
	struct kvm_irq_routing_entry entries[];
};

struct kvm_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 flags;
	__u32 devid;
	__u8 pad[12];
};

/* ---- ioctl numbers ---------------------------------------------------- */
#define KVMIO 0xAE

/* on /dev/kvm */
#define KVM_GET_API_VERSION		_IO(KVMIO, 0x00)
#define KVM_CREATE_VM			_IO(KVMIO, 0x01)
#define KVM_GET_MSR_INDEX_LIST		_IOWR(KVMIO, 0x02, struct kvm_msr_list)
#define KVM_CHECK_EXTENSION		_IO(KVMIO, 0x03)
#define KVM_GET_VCPU_MMAP_SIZE		_IO(KVMIO, 0x04)
#define KVM_GET_SUPPORTED_CPUID		_IOWR(KVMIO, 0x05, struct kvm_cpuid2)

/* on a VM fd */
#define KVM_CREATE_VCPU			_IO(KVMIO, 0x41)
#define KVM_GET_DIRTY_LOG		_IOW(KVMIO, 0x42, struct kvm_dirty_log)
#define KVM_SET_USER_MEMORY_REGION	_IOW(KVMIO, 0x46, \
					     struct kvm_userspace_memory_region)
#define KVM_SET_TSS_ADDR		_IO(KVMIO, 0x47)
#define KVM_SET_IDENTITY_MAP_ADDR	_IOW(KVMIO, 0x48, __u64)
#define KVM_CREATE_IRQCHIP		_IO(KVMIO, 0x60)
#define KVM_IRQ_LINE			_IOW(KVMIO, 0x61, struct kvm_irq_level)
#define KVM_GET_IRQCHIP			_IOWR(KVMIO, 0x62, struct kvm_irqchip)
#define KVM_SET_IRQCHIP			_IOR(KVMIO, 0x63, struct kvm_irqchip)
#define KVM_IRQ_LINE_STATUS		_IOWR(KVMIO, 0x67, struct kvm_irq_level)
#define KVM_SET_GSI_ROUTING		_IOW(KVMIO, 0x6a, struct kvm_irq_routing)
/* Upstream's number has no size field; the argument is a kvm_reinject_control. */
#define KVM_REINJECT_CONTROL		_IO(KVMIO, 0x71)
#define KVM_CREATE_PIT2			_IOW(KVMIO, 0x77, struct kvm_pit_config)
#define KVM_SET_BOOT_CPU_ID		_IO(KVMIO, 0x78)
#define KVM_GET_PIT2			_IOR(KVMIO, 0x9f, struct kvm_pit_state2)
#define KVM_SET_PIT2			_IOW(KVMIO, 0xa0, struct kvm_pit_state2)
#define KVM_SIGNAL_MSI			_IOW(KVMIO, 0xa5, struct kvm_msi)

/* on a vCPU fd */
#define KVM_RUN				_IO(KVMIO, 0x80)
#define KVM_GET_REGS			_IOR(KVMIO, 0x81, struct kvm_regs)
#define KVM_SET_REGS			_IOW(KVMIO, 0x82, struct kvm_regs)
#define KVM_GET_SREGS			_IOR(KVMIO, 0x83, struct kvm_sregs)
#define KVM_SET_SREGS			_IOW(KVMIO, 0x84, struct kvm_sregs)
#define KVM_INTERRUPT			_IOW(KVMIO, 0x86, struct kvm_interrupt)
#define KVM_GET_MSRS			_IOWR(KVMIO, 0x88, struct kvm_msrs)
#define KVM_SET_MSRS			_IOW(KVMIO, 0x89, struct kvm_msrs)
#define KVM_GET_FPU			_IOR(KVMIO, 0x8c, struct kvm_fpu)
#define KVM_SET_FPU			_IOW(KVMIO, 0x8d, struct kvm_fpu)
#define KVM_SET_CPUID2			_IOW(KVMIO, 0x90, struct kvm_cpuid2)
#define KVM_GET_CPUID2			_IOWR(KVMIO, 0x91, struct kvm_cpuid2)
#define KVM_GET_MP_STATE		_IOR(KVMIO, 0x98, struct kvm_mp_state)
#define KVM_SET_MP_STATE		_IOW(KVMIO, 0x99, struct kvm_mp_state)
#define KVM_NMI				_IO(KVMIO, 0x9a)
#define KVM_SET_VAPIC_ADDR		_IOW(KVMIO, 0x93, struct kvm_vapic_addr)
#define KVM_GET_LAPIC			_IOR(KVMIO, 0x8e, struct kvm_lapic_state)
#define KVM_SET_LAPIC			_IOW(KVMIO, 0x8f, struct kvm_lapic_state)
#define KVM_GET_VCPU_EVENTS		_IOR(KVMIO, 0x9f, struct kvm_vcpu_events)
#define KVM_SET_VCPU_EVENTS		_IOW(KVMIO, 0xa0, struct kvm_vcpu_events)
#define KVM_GET_DEBUGREGS		_IOR(KVMIO, 0xa1, struct kvm_debugregs)
#define KVM_SET_DEBUGREGS		_IOW(KVMIO, 0xa2, struct kvm_debugregs)
#define KVM_SET_TSC_KHZ			_IO(KVMIO, 0xa2)
#define KVM_GET_TSC_KHZ			_IO(KVMIO, 0xa3)
#define KVM_GET_XSAVE			_IOR(KVMIO, 0xa4, struct kvm_xsave)
#define KVM_SET_XSAVE			_IOW(KVMIO, 0xa5, struct kvm_xsave)
#define KVM_GET_XCRS			_IOR(KVMIO, 0xa6, struct kvm_xcrs)
#define KVM_SET_XCRS			_IOW(KVMIO, 0xa7, struct kvm_xcrs)

#endif /* KVM_ABI_H */
