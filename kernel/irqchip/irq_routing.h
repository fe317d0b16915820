/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * GSI routing: validating a KVM_SET_GSI_ROUTING table, the default table
 * KVM_CREATE_IRQCHIP installs, looking up where a GSI goes, and decoding
 * MSI address/data pairs into interrupt messages.  See irq_routing.c.
 *
 * Interface for the glue:
 *   irq_routing_validate()  on KVM_SET_GSI_ROUTING before copying the
 *                           table in; -EINVAL as upstream rejects.
 *   irq_routing_default()   fills the upstream default table.
 *   irq_routing_lookup()    KVM_IRQ_LINE: the targets of one GSI.
 *   irq_msi_decode()        KVM_SIGNAL_MSI and MSI routes: the message
 *                           to hand to lapic_deliver_msg().
 *   irq_routing_gsi_pins()  the other way: which pins of a chip a GSI
 *                           reaches (ack and mask listeners).
 * Pure functions of their arguments; no state, no locking needed.
 */
#ifndef KVM_IRQCHIP_IRQ_ROUTING_H
#define KVM_IRQCHIP_IRQ_ROUTING_H

#include "irqchip.h"

#define KVM_MAX_IRQ_ROUTES		4096
#define IRQ_ROUTING_DEFAULT_ENTRIES	40	/* 16 x (IOAPIC + PIC) + 8 x IOAPIC */

int irq_routing_validate(const struct kvm_irq_routing_entry *entries, u32 nr, u32 flags);
/* Writes IRQ_ROUTING_DEFAULT_ENTRIES entries; returns that count. */
u32 irq_routing_default(struct kvm_irq_routing_entry *entries);
/*
 * Collects the entries for gsi (at most max) into out; returns how many
 * there are (which may exceed max).
 */
u32 irq_routing_lookup(const struct kvm_irq_routing_entry *entries, u32 nr, u32 gsi,
		       const struct kvm_irq_routing_entry **out, u32 max);
void irq_msi_decode(u32 address_lo, u32 address_hi, u32 data, struct irq_msg *msg);
/*
 * The pins of one irqchip (KVM_IRQCHIP_PIC_MASTER, _SLAVE or _IOAPIC) that
 * gsi is routed to, as a bit mask (bit n = pin n): where an EOI or a mask
 * change counts for that GSI's ack and mask listeners (the PIT's IRQ0).
 */
u32 irq_routing_gsi_pins(const struct kvm_irq_routing_entry *entries, u32 nr, u32 gsi,
			 u32 irqchip);

#endif /* KVM_IRQCHIP_IRQ_ROUTING_H */
