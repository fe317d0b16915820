// SPDX-License-Identifier: GPL-2.0-only
/*
 * GSI routing and MSI decoding.
 *
 * Validation follows what upstream KVM rejects with -EINVAL:
 *   - routing flags non-zero, more than KVM_MAX_IRQ_ROUTES entries;
 *   - an entry with gsi >= KVM_MAX_IRQ_ROUTES or non-zero flags (x86 has
 *     no KVM_MSI_VALID_DEVID);
 *   - an irqchip entry whose chip is not PIC master (0), PIC slave (1) or
 *     IOAPIC (2), or whose pin is >= 8 on a PIC / >= 24 on the IOAPIC;
 *   - a type other than KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI;
 *   - one GSI routed twice to the same irqchip, or an MSI route sharing
 *     its GSI with any other route (one-to-one for non-irqchip routes).
 * MSI address_hi is not checked (upstream only does with the x2APIC API's
 * extended destination format, which we do not offer).
 *
 * The default table is upstream's: GSI 0-15 go to the PIC (master pins
 * 0-7, slave pins 0-7) and to IOAPIC pin = GSI; GSI 16-23 to the IOAPIC
 * only.  GSI 0 -> IOAPIC pin 2 (the MADT override for the PIT) is not the
 * kernel's default: QEMU and kvmtool install it with KVM_SET_GSI_ROUTING.
 *
 * MSI decoding (SDM vol. 3A 10.11.1/10.11.2): address bits 19:12
 * destination ID, bit 3 redirection hint, bit 2 destination mode; data
 * bits 7:0 vector, 10:8 delivery mode, 14 level (assert), 15 trigger.
 * The 0xfee prefix is not checked (KVM_SIGNAL_MSI says it is an MSI).
 */
#include "irq_routing.h"

static int validate_entry(const struct kvm_irq_routing_entry *e)
{
	if (e->gsi >= KVM_MAX_IRQ_ROUTES || e->flags)
		return -EINVAL;
	switch (e->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		switch (e->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			return e->u.irqchip.pin < 8 ? 0 : -EINVAL;
		case KVM_IRQCHIP_IOAPIC:
			return e->u.irqchip.pin < KVM_IOAPIC_NUM_PINS ? 0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Does b conflict with an earlier entry a of the same GSI? */
static bool conflicts(const struct kvm_irq_routing_entry *a,
		      const struct kvm_irq_routing_entry *b)
{
	if (a->gsi != b->gsi)
		return false;
	if (a->type != KVM_IRQ_ROUTING_IRQCHIP || b->type != KVM_IRQ_ROUTING_IRQCHIP)
		return true;
	return a->u.irqchip.irqchip == b->u.irqchip.irqchip;
}

int irq_routing_validate(const struct kvm_irq_routing_entry *entries, u32 nr, u32 flags)
{
	u32 i, j;
	int r;

	if (flags || nr > KVM_MAX_IRQ_ROUTES)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		r = validate_entry(&entries[i]);
		if (r)
			return r;
		/* Quadratic, but nr is small in practice and bounded by 4096;
		 * the caller may sort first if that ever matters. */
		for (j = 0; j < i; j++)
			if (conflicts(&entries[j], &entries[i]))
				return -EINVAL;
	}
	return 0;
}

static void set_irqchip(struct kvm_irq_routing_entry *e, u32 gsi, u32 chip, u32 pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

u32 irq_routing_default(struct kvm_irq_routing_entry *entries)
{
	u32 gsi, n = 0;

	for (gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		set_irqchip(&entries[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < 16)
			set_irqchip(&entries[n++], gsi,
				    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				    gsi % 8);
	}
	return n;
}

u32 irq_routing_lookup(const struct kvm_irq_routing_entry *entries, u32 nr, u32 gsi,
		       const struct kvm_irq_routing_entry **out, u32 max)
{
	u32 i, found = 0;

	for (i = 0; i < nr; i++) {
		if (entries[i].gsi != gsi)
			continue;
		if (found < max)
			out[found] = &entries[i];
		found++;
	}
	return found;
}

void irq_msi_decode(u32 address_lo, u32 address_hi, u32 data, struct irq_msg *msg)
{
	(void)address_hi;
	memset(msg, 0, sizeof(*msg));
	msg->dest = (address_lo >> 12) & 0xff;
	msg->redir_hint = address_lo & (1u << 3);
	msg->dest_logical = address_lo & (1u << 2);
	msg->vector = data & 0xff;
	msg->delivery_mode = (data >> 8) & 7;
	msg->assert = data & (1u << 14);
	msg->level_trigger = data & (1u << 15);
	/* An edge MSI is always an assertion. */
	if (!msg->level_trigger)
		msg->assert = true;
}

u32 irq_routing_gsi_pins(const struct kvm_irq_routing_entry *entries, u32 nr, u32 gsi,
			 u32 irqchip)
{
	u32 i, pins = 0;

	for (i = 0; i < nr; i++) {
		const struct kvm_irq_routing_entry *e = &entries[i];

		if (e->gsi == gsi && e->type == KVM_IRQ_ROUTING_IRQCHIP &&
		    e->u.irqchip.irqchip == irqchip && e->u.irqchip.pin < 32)
			pins |= 1u << e->u.irqchip.pin;
	}
	return pins;
}
