/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Intel 8254 programmable interval timer at ports 0x40-0x43 and the
 * PC's port 0x61 (channel 2 gate, speaker data, OUT2, refresh toggle).
 * See pit.c for what is modelled.
 *
 * Interface for the glue (one struct pit per VM, KVM_CREATE_PIT2):
 *   pit_init()              flags: the kvm_pit_config flags; reinject on.
 *   pit_port_read/write()   guest IN/OUT on 0x40-0x43 and 0x61.
 *   pit_timer_expired()     the glue's hrtimer for channel 0 fired: counts
 *                           the OUT0 rising edges up to now, pulses IRQ0
 *                           per the reinjection policy, returns the next
 *                           edge (0 = none) to re-arm (timer_changed is
 *                           not called from here).
 *   pit_irq0_acked()        the guest acknowledged IRQ0 (PIC INTA of IRQ0
 *                           or IOAPIC EOI of the vector routed from GSI 0).
 *   pit_irq0_mask_changed() IRQ0 was (un)masked on the PIC/IOAPIC.
 *   pit_set_reinject()      KVM_REINJECT_CONTROL; a change of policy
 *                           forgets the backlog, the same policy is a
 *                           no-op (as upstream).
 *   pit_get/set_state()     KVM_GET/SET_PIT2 (and KVM_GET/SET_PIT).
 * Callbacks (struct pit_ops): irq0_pulse() raises and lowers GSI 0 (the
 * glue runs kvm_set_irq(0, 1) then (0) through the routing table);
 * timer_changed(ns) moves the channel 0 hrtimer (0 = cancel).
 *
 * Locking: the caller serialises all calls on one struct pit (a PIT
 * mutex or spinlock); irq0_pulse runs under it, so the glue's PIC/IOAPIC
 * locks nest inside the PIT's, and pit_irq0_acked() must be called
 * without the PIC/IOAPIC locks held (defer it, as upstream does, to a
 * worker) or with a lock order that allows it.
 */
#ifndef KVM_IRQCHIP_PIT_H
#define KVM_IRQCHIP_PIT_H

#include "irqchip.h"

#define PIT_FREQ_HZ		1193182ull
#define PIT_MIN_PERIOD_NS	200000ull	/* shortest periodic IRQ0 interval */

/* read_state / write_state / count_latched values (the ABI's). */
#define PIT_RW_LSB	1
#define PIT_RW_MSB	2
#define PIT_RW_WORD0	3	/* LSB then MSB: LSB next */
#define PIT_RW_WORD1	4	/* LSB then MSB: MSB next */

struct pit_ops {
	void (*irq0_pulse)(void *opaque);
	void (*timer_changed)(void *opaque, u64 deadline_ns);
};

/* Field meanings are struct kvm_pit_channel_state's; count is binary
 * ticks 1..0x10000 even in BCD mode (the BCD count is decoded). */
struct pit_channel {
	u32 count;
	u16 latched_count;
	u8 count_latched, status_latched, status;
	u8 read_state, write_state, write_latch;
	u8 rw_mode, mode, bcd, gate;
	s64 count_load_time;
	bool null_count;	/* control word written, no count yet */
};

struct pit {
	struct pit_channel ch[3];
	u32 flags;		/* KVM_PIT_FLAGS_* (speaker data, HPET legacy) */
	bool reinject;		/* KVM_REINJECT_CONTROL; default on */
	u32 pending;		/* reinject: ticks due, not yet acknowledged */
	bool irq_ack;		/* reinject: no IRQ0 outstanding */
	u64 irq0_next_ns;	/* next OUT0 rising edge, 0 = none */
	u64 irq0_tick;		/* periodic: index of that edge */
	const struct pit_ops *ops;
	void *opaque;
};

void pit_init(struct pit *pit, u32 flags, const struct pit_ops *ops, void *opaque, u64 now);
void pit_reset(struct pit *pit, u64 now);
bool pit_port_read(struct pit *pit, u16 port, u8 *val, u64 now);
bool pit_port_write(struct pit *pit, u16 port, u8 val, u64 now);
u64 pit_timer_expired(struct pit *pit, u64 now);
void pit_irq0_acked(struct pit *pit);
void pit_irq0_mask_changed(struct pit *pit, bool masked);
void pit_set_reinject(struct pit *pit, bool reinject);
bool pit_output(const struct pit *pit, unsigned int channel, u64 now);
u32 pit_current_count(const struct pit *pit, unsigned int channel, u64 now);
void pit_get_state(const struct pit *pit, struct kvm_pit_state2 *st);
void pit_set_state(struct pit *pit, const struct kvm_pit_state2 *st, u64 now);

#endif /* KVM_IRQCHIP_PIT_H */
