/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A local APIC per vCPU: xAPIC register page and x2APIC MSRs, priority
 * (TPR/PPR), IRR/ISR/TMR, EOI, logical and physical destinations, IPIs,
 * the six LVT entries and the timer.  See lapic.c for the details.
 *
 * Interface for the glue (one struct lapic per vCPU):
 *   lapic_init()/lapic_reset()   at vCPU creation / reset (bsp: vCPU 0).
 *   lapic_init_signal()          the vCPU takes an INIT (after init_pending).
 *   lapic_mmio_read/write()      xAPIC page accesses (offset from base).
 *   lapic_msr_read/write()       RDMSR/WRMSR 0x800..0x8ff; LAPIC_MSR_GP
 *                                means "inject #GP(0)".
 *   lapic_set_base()/lapic_base  IA32_APIC_BASE (0x1b), also KVM_SET_SREGS
 *                                (host_initiated).
 *   lapic_read/write_tsc_deadline()  IA32_TSC_DEADLINE (0x6e0).
 *   lapic_get/set_cr8()          MOV to/from CR8.
 *   lapic_has_interrupt()        before entering the guest: vector the
 *                                vCPU could take now, or -1.
 *   lapic_acknowledge()          when injecting it: IRR -> ISR, vector.
 *   lapic_accept_interrupt()     an interrupt message reached this LAPIC.
 *   lapic_deliver_msg()          helper: fan one message out to an array
 *                                of LAPICs (match + lowest priority).
 *   lapic_raise_lvt()            LINT0/LINT1/thermal/perf/error events.
 *   lapic_timer_expired()        the glue's hrtimer fired; returns the
 *                                next deadline (0 = none) for the glue
 *                                to re-arm; it does not call timer_changed.
 *   lapic_get/set_state()        KVM_GET/SET_LAPIC.
 *   pending events the glue consumes (clear them when handled):
 *   nmi_pending, smi_pending, init_pending, sipi_pending + sipi_vector,
 *   extint_pending (take the vector from pic_acknowledge()).
 * Callbacks (struct lapic_ops), all called with the caller's lock held:
 *   send_ipi(msg)         an ICR write; msg->shorthand set; the glue
 *                         finds the targets (lapic_deliver_msg).
 *   eoi_broadcast(vec)    EOI of a level-triggered vector (TMR set) or
 *                         of one marked with lapic_set_eoi_notify():
 *                         call ioapic_eoi().
 *   timer_changed(ns)     the next timer expiry moved: arm the hrtimer at
 *                         ns (absolute, caller's clock), 0 = cancel.
 *   kick()                something became pending on this LAPIC: wake
 *                         or kick its vCPU.
 *
 * Locking: the caller serialises every call on one struct lapic.  An
 * IPI can target its sender (self, all-including-self), so send_ipi runs
 * with the sender's lock held: either one VM-wide irqchip lock covers all
 * LAPICs (simplest), or the glue queues the IPI and delivers it after
 * dropping the sender's lock.
 */
#ifndef KVM_IRQCHIP_LAPIC_H
#define KVM_IRQCHIP_LAPIC_H

#include "irqchip.h"

/* Register offsets in the 4 KiB page (SDM vol. 3A, table 10-1). */
#define LAPIC_ID		0x020
#define LAPIC_LVR	0x030
#define LAPIC_TASKPRI	0x080
#define LAPIC_ARBPRI	0x090
#define LAPIC_PROCPRI	0x0a0
#define LAPIC_EOI	0x0b0
#define LAPIC_RRD	0x0c0
#define LAPIC_LDR	0x0d0
#define LAPIC_DFR	0x0e0
#define LAPIC_SPIV	0x0f0
#define LAPIC_ISR	0x100
#define LAPIC_TMR	0x180
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_LVTCMCI	0x2f0
#define LAPIC_ICR	0x300
#define LAPIC_ICR2	0x310
#define LAPIC_LVTT	0x320
#define LAPIC_LVTTHMR	0x330
#define LAPIC_LVTPC	0x340
#define LAPIC_LVT0	0x350
#define LAPIC_LVT1	0x360
#define LAPIC_LVTERR	0x370
#define LAPIC_TMICT	0x380
#define LAPIC_TMCCT	0x390
#define LAPIC_TDCR	0x3e0
#define LAPIC_SELF_IPI	0x3f0

#define LAPIC_DEFAULT_BASE	0xfee00000ull
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_EXTD		(1ull << 10)
#define LAPIC_BASE_ENABLE	(1ull << 11)

/* Version register: version 0x14, max LVT entry 5 (six LVTs, no CMCI). */
#define LAPIC_VERSION		0x00050014

#define LAPIC_LVT_MASKED		(1u << 16)
#define LAPIC_SPIV_ENABLE	(1u << 8)
#define LAPIC_TIMER_ONESHOT	(0u << 17)
#define LAPIC_TIMER_PERIODIC	(1u << 17)
#define LAPIC_TIMER_TSCDEADLINE	(2u << 17)
#define LAPIC_TIMER_MODE_MASK	(3u << 17)

/* ESR bits (SDM 10.5.3). */
#define LAPIC_ESR_SEND_ILLEGAL	(1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL	(1u << 6)

/* Shortest periodic timer the model schedules (host protection). */
#define LAPIC_MIN_PERIOD_NS	200000ull

#define LAPIC_MSR_GP		1	/* lapic_msr_*: inject #GP(0) */

enum lapic_lvt {
	LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF,
	LAPIC_LVT_LINT0, LAPIC_LVT_LINT1, LAPIC_LVT_ERROR,
};

struct lapic_ops {
	void (*send_ipi)(void *opaque, const struct irq_msg *msg);
	void (*eoi_broadcast)(void *opaque, u8 vector);
	void (*timer_changed)(void *opaque, u64 deadline_ns);
	void (*kick)(void *opaque);
};

struct lapic {
	u32 regs[0x400 / 4];	/* the page as KVM_GET_LAPIC shows it */
	u64 apic_base;
	u32 initial_id;		/* CPUID initial (x2)APIC ID: the vCPU id */
	/* Configuration the glue sets after lapic_init(). */
	bool x2apic_supported;	/* CPUID.1:ECX.x2APIC exposed */
	bool tsc_deadline_supported;	/* CPUID.1:ECX.TSC_DEADLINE */
	u8 maxphyaddr;		/* LAPIC_BASE bits at or above are reserved */
	u32 tsc_khz;		/* guest TSC rate for TSC-deadline mode */
	/* Timer: one-shot/periodic counting started at timer_load_ns. */
	u64 timer_load_ns;
	u64 timer_deadline_ns;	/* next expiry, 0 = not armed */
	u64 tsc_deadline;	/* IA32_TSC_DEADLINE */
	u32 esr_pending;	/* errors since the last ESR write */
	/*
	 * Vectors whose EOI the glue wants to hear about even when they
	 * arrived edge-triggered (TMR clear): upstream forwards EOIs of IOAPIC
	 * pins that have ack notifiers, e.g. the PIT's, so that edge IRQ0
	 * through the IOAPIC can drive lost-tick reinjection.  Set with
	 * lapic_set_eoi_notify().
	 */
	u32 eoi_notify[8];
	/* Events for the glue. */
	u32 nmi_pending;
	bool smi_pending, init_pending, sipi_pending, extint_pending;
	u8 sipi_vector;
	const struct lapic_ops *ops;
	void *opaque;
};

void lapic_init(struct lapic *apic, u32 id, bool bsp, const struct lapic_ops *ops, void *opaque);
void lapic_reset(struct lapic *apic, bool bsp);
void lapic_init_signal(struct lapic *apic);

bool lapic_hw_enabled(const struct lapic *apic);
bool lapic_sw_enabled(const struct lapic *apic);
bool lapic_x2apic_mode(const struct lapic *apic);
u64 lapic_base_address(const struct lapic *apic);
u32 lapic_id(const struct lapic *apic);	/* x2APIC id, or xAPIC id 0..255 */

bool lapic_mmio_read(struct lapic *apic, u32 offset, unsigned int len, u32 *val, u64 now);
bool lapic_mmio_write(struct lapic *apic, u32 offset, unsigned int len, u32 val, u64 now);
int lapic_msr_read(struct lapic *apic, u32 msr, u64 *val, u64 now);
int lapic_msr_write(struct lapic *apic, u32 msr, u64 val, u64 now);
int lapic_set_base(struct lapic *apic, u64 value, bool host_initiated);
u64 lapic_read_tsc_deadline(const struct lapic *apic);
void lapic_write_tsc_deadline(struct lapic *apic, u64 value, u64 guest_tsc, u64 now);
u64 lapic_get_cr8(const struct lapic *apic);
void lapic_set_cr8(struct lapic *apic, u64 cr8);

void lapic_set_eoi_notify(struct lapic *apic, u8 vector, bool notify);
int lapic_has_interrupt(const struct lapic *apic);
int lapic_acknowledge(struct lapic *apic);
int lapic_accept_interrupt(struct lapic *apic, u8 delivery_mode, u8 vector, bool level_trigger);
bool lapic_match_dest(const struct lapic *target, const struct lapic *src,
		      const struct irq_msg *msg);
int lapic_deliver_msg(struct lapic *const *apics, unsigned int n, const struct lapic *src,
		      const struct irq_msg *msg, unsigned int *rr_cursor);
void lapic_raise_lvt(struct lapic *apic, enum lapic_lvt lvt);
bool lapic_accepts_pic_intr(const struct lapic *apic);
/*
 * The PIT's NMI-watchdog wire, as upstream KVM models it: while any LAPIC
 * has LINT0 unmasked in NMI mode (lapic_lvt0_nmi_mode), every channel-0
 * tick is also raised on the LINT0 of every LAPIC (lapic_pit_tick_lint0:
 * by that LAPIC's LVT0, so masked ones take nothing and ExtINT ones, which
 * the PIC's INTR reaches anyway, are skipped).
 */
bool lapic_lvt0_nmi_mode(const struct lapic *apic);
void lapic_pit_tick_lint0(struct lapic *apic);

u64 lapic_timer_expired(struct lapic *apic, u64 now);
u32 lapic_timer_current_count(const struct lapic *apic, u64 now);

void lapic_get_state(const struct lapic *apic, struct kvm_lapic_state *st, u64 now);
int lapic_set_state(struct lapic *apic, const struct kvm_lapic_state *st, u64 now);

#endif /* KVM_IRQCHIP_LAPIC_H */
