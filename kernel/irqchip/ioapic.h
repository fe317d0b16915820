/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An Intel 82093AA-style I/O APIC with 24 pins, version 0x11, memory
 * mapped at 0xfec00000 (IOREGSEL at +0x00, IOWIN at +0x10).  See ioapic.c.
 *
 * Interface for the glue (one struct ioapic per VM):
 *   ioapic_init()         at KVM_CREATE_IRQCHIP.
 *   ioapic_set_irq()      KVM_IRQ_LINE for a GSI routed to an IOAPIC pin.
 *   ioapic_mmio_read/write()  guest accesses inside [base, base + 0x100).
 *   ioapic_eoi()          a local APIC EOI'd a level-triggered vector
 *                         (lapic_ops.eoi_broadcast): clears remote IRR
 *                         and re-delivers a still-asserted line.
 *   ioapic_get/set_state()  KVM_GET/SET_IRQCHIP chip 2.
 *   ioapic_pin_msg()        the interrupt message a pin's entry describes.
 *   ioapic_scan_eoi_notify() which LAPICs report EOIs of which pins' vectors.
 * Callbacks (struct ioapic_ops): deliver(msg) sends the interrupt message
 * to the local APICs and returns how many accepted it (<= 0: none);
 * optional mask_changed(pin, masked) when a redirection mask bit flips;
 * optional pin_acked(pin) for every pin whose vector an EOI matched, edge
 * pins included (the PIT's ack notifier; have the LAPICs report that
 * edge vector with lapic_set_eoi_notify()).
 *
 * Locking: the caller serialises all calls on one struct ioapic.  deliver
 * runs under that lock and takes the target LAPICs' locks (order: IOAPIC
 * before LAPIC); it must not call back into the IOAPIC.  ioapic_eoi() is
 * called from a vCPU holding no LAPIC lock, or the deferred EOI is queued.
 */
#ifndef KVM_IRQCHIP_IOAPIC_H
#define KVM_IRQCHIP_IOAPIC_H

#include "irqchip.h"

#define IOAPIC_NR_PINS		24
#define IOAPIC_DEFAULT_BASE	0xfec00000ull
#define IOAPIC_MMIO_SIZE	0x100
#define IOAPIC_VERSION		0x00170011	/* 24 entries (max index 0x17), v0x11 */

struct ioapic_ops {
	int (*deliver)(void *opaque, const struct irq_msg *msg);
	void (*mask_changed)(void *opaque, unsigned int pin, bool masked); /* optional */
	/* optional: ioapic_eoi() matched pin's vector (edge or level) */
	void (*pin_acked)(void *opaque, unsigned int pin);
};

/*
 * base_address, ioregsel, id and irr mean what struct kvm_ioapic_state
 * says: irr bit n = pin n has a request not yet delivered (edge) or its
 * line asserted (level).  line holds the asserted inputs (not in the
 * ABI; rebuilt from irr for level pins on set_state).
 */
struct ioapic {
	u64 base_address;
	u32 ioregsel;
	u32 id;			/* bits 27:24 of the ID register, shifted down */
	u32 irr;
	u32 line;
	u64 redir[IOAPIC_NR_PINS];
	const struct ioapic_ops *ops;
	void *opaque;
};

/* Redirection table entry bits (82093AA datasheet, 3.2.4). */
#define IOAPIC_RTE_VECTOR	0xffull
#define IOAPIC_RTE_DM_SHIFT	8
#define IOAPIC_RTE_DEST_LOGICAL	(1ull << 11)
#define IOAPIC_RTE_DELIVS	(1ull << 12)
#define IOAPIC_RTE_POLARITY_LOW	(1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR	(1ull << 14)
#define IOAPIC_RTE_LEVEL	(1ull << 15)
#define IOAPIC_RTE_MASKED	(1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	56

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *opaque);
void ioapic_reset(struct ioapic *io);
/* level: asserted (1) or not (0), logical, as KVM_IRQ_LINE passes it.
 * Returns 1 delivered, 0 coalesced (already pending or waiting for EOI,
 * or a de-assertion), -1 masked. */
int ioapic_set_irq(struct ioapic *io, unsigned int pin, int level);
void ioapic_eoi(struct ioapic *io, u8 vector);
/* offset from base_address; len 1, 2, 4 or 8. false: not handled. */
bool ioapic_mmio_read(struct ioapic *io, u64 offset, unsigned int len, u64 *val);
bool ioapic_mmio_write(struct ioapic *io, u64 offset, unsigned int len, u64 val);
void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *st);
void ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *st);
bool ioapic_pin_masked(const struct ioapic *io, unsigned int pin);
/* The message pin's redirection entry would send now (destination,
 * vector, modes), e.g. to find the LAPICs that must report its EOI. */
void ioapic_pin_msg(const struct ioapic *io, unsigned int pin, struct irq_msg *msg);

struct lapic;
/*
 * Upstream's IOAPIC scan for ack notifiers: an edge pin's EOI stays inside
 * the LAPIC unless the LAPIC was told to report its vector.  Sets on each
 * of the n LAPICs exactly the vectors (lapic_set_eoi_notify) of the pins
 * in the mask whose entry targets it with fixed or lowest-priority
 * delivery, and clears all others.  Rerun whenever an entry, the pin set
 * or a LAPIC's destination (ID, LDR, DFR, enable) may have changed.
 */
void ioapic_scan_eoi_notify(const struct ioapic *io, u32 pins, struct lapic *const *apics,
			    unsigned int n);

#endif /* KVM_IRQCHIP_IOAPIC_H */
