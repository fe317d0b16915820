// SPDX-License-Identifier: GPL-2.0-only
/*
 * I/O APIC, from the Intel 82093AA datasheet (registers IOREGSEL/IOWIN,
 * IOAPICID, IOAPICVER, IOAPICARB, IOREDTBL[0:23]).
 *
 * What works: indirect register access; ID (bits 27:24 writable), VER
 * 0x00170011, ARB (reads the ID, as after reset); 24 redirection entries
 * with vector, delivery mode, destination mode and 8-bit destination,
 * trigger mode, polarity, mask, read-only delivery status (always 0: our
 * delivery is instantaneous) and remote IRR.  Edge pins deliver once per
 * rising edge of their input; an edge while the pin is masked is lost
 * (datasheet: "not delivered or held pending"), and unmasking does not
 * deliver it.  Level pins deliver while asserted, set remote IRR,
 * and deliver again after the EOI if still asserted; unmasking an
 * asserted level pin with remote IRR clear delivers it.  Switching a pin
 * to edge clears its remote IRR.
 *
 * Inputs are logical: KVM_IRQ_LINE's level 1 means "asserted" whatever
 * the polarity bit says, as upstream KVM and QEMU use it.  The polarity
 * bit is stored and read back but does not invert the input.  IRR
 * follows the input for both trigger modes (as upstream's does): an edge
 * is a 0 -> 1 change of the input, so a second level-1 call without a 0
 * in between is no edge and delivers nothing (upstream reports it as
 * coalesced).
 *
 * Missing: the version 0x20 EOI register, the 8-bit-only IOREGSEL width
 * checks, interrupt storm detection for level lines that never go down.
 *
 * Locking: see ioapic.h.
 */
#include "ioapic.h"
#include "lapic.h"

static bool rte_level(u64 e)
{
	return e & IOAPIC_RTE_LEVEL;
}

static void rte_to_msg(u64 e, struct irq_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->vector = e & IOAPIC_RTE_VECTOR;
	m->delivery_mode = (e >> IOAPIC_RTE_DM_SHIFT) & 7;
	m->dest_logical = e & IOAPIC_RTE_DEST_LOGICAL;
	m->level_trigger = rte_level(e);
	m->assert = true;
	m->dest = (u32)(e >> IOAPIC_RTE_DEST_SHIFT);
}

void ioapic_pin_msg(const struct ioapic *io, unsigned int pin, struct irq_msg *msg)
{
	rte_to_msg(pin < IOAPIC_NR_PINS ? io->redir[pin] : IOAPIC_RTE_MASKED, msg);
}

void ioapic_scan_eoi_notify(const struct ioapic *io, u32 pins, struct lapic *const *apics,
			    unsigned int n)
{
	unsigned int pin, a;
	struct irq_msg msg;

	for (a = 0; a < n; a++)
		memset(apics[a]->eoi_notify, 0, sizeof(apics[a]->eoi_notify));
	for (pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		if (!(pins & (1u << pin)))
			continue;
		ioapic_pin_msg(io, pin, &msg);
		if (msg.delivery_mode != LAPIC_DM_FIXED && msg.delivery_mode != LAPIC_DM_LOWEST)
			continue;
		for (a = 0; a < n; a++)
			if (lapic_match_dest(apics[a], NULL, &msg))
				lapic_set_eoi_notify(apics[a], msg.vector, true);
	}
}

/* Deliver pin's pending request if the entry allows it now. */
static int ioapic_service(struct ioapic *io, unsigned int pin)
{
	u64 *e = &io->redir[pin];
	struct irq_msg msg;
	int ret;

	if (!(io->irr & (1u << pin)) || (*e & IOAPIC_RTE_MASKED))
		return -1;
	if (rte_level(*e) && (*e & IOAPIC_RTE_REMOTE_IRR))
		return 0;
	rte_to_msg(*e, &msg);
	if (rte_level(*e))
		*e |= IOAPIC_RTE_REMOTE_IRR;
	ret = io->ops && io->ops->deliver ? io->ops->deliver(io->opaque, &msg) : 0;
	return ret > 0 ? 1 : 0;
}

void ioapic_reset(struct ioapic *io)
{
	unsigned int i;

	io->base_address = IOAPIC_DEFAULT_BASE;
	io->ioregsel = 0;
	io->id = 0;
	io->irr = 0;
	io->line = 0;
	for (i = 0; i < IOAPIC_NR_PINS; i++)
		io->redir[i] = IOAPIC_RTE_MASKED;
}

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->ops = ops;
	io->opaque = opaque;
	ioapic_reset(io);
}

int ioapic_set_irq(struct ioapic *io, unsigned int pin, int level)
{
	u32 bit;
	u64 e;

	if (pin >= IOAPIC_NR_PINS)
		return -1;
	bit = 1u << pin;
	e = io->redir[pin];
	if (!level) {
		io->line &= ~bit;
		io->irr &= ~bit;
		return 0;
	}
	io->line |= bit;
	if (rte_level(e)) {
		io->irr |= bit;
		if (e & IOAPIC_RTE_MASKED)
			return -1;
		if (e & IOAPIC_RTE_REMOTE_IRR)
			return 0;
		return ioapic_service(io, pin) > 0 ? 1 : 0;
	}
	if (io->irr & bit)
		return 0;		/* no rising edge: the input was high */
	io->irr |= bit;
	if (e & IOAPIC_RTE_MASKED)
		return -1;		/* an edge while masked is lost */
	return ioapic_service(io, pin) > 0 ? 1 : 0;
}

void ioapic_eoi(struct ioapic *io, u8 vector)
{
	unsigned int pin;

	for (pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		u64 *e = &io->redir[pin];

		if ((*e & IOAPIC_RTE_VECTOR) != vector)
			continue;
		if (io->ops && io->ops->pin_acked)
			io->ops->pin_acked(io->opaque, pin);
		if (!rte_level(*e) || !(*e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
		if (io->line & (1u << pin))
			ioapic_service(io, pin);
	}
}

bool ioapic_pin_masked(const struct ioapic *io, unsigned int pin)
{
	return pin >= IOAPIC_NR_PINS || (io->redir[pin] & IOAPIC_RTE_MASKED);
}

static u32 read_register(const struct ioapic *io)
{
	u32 reg = io->ioregsel & 0xff;
	unsigned int pin;

	switch (reg) {
	case 0x00:
		return (io->id & 0xf) << 24;
	case 0x01:
		return IOAPIC_VERSION;
	case 0x02:
		return (io->id & 0xf) << 24;
	}
	if (reg < 0x10)
		return 0;
	pin = (reg - 0x10) >> 1;
	if (pin >= IOAPIC_NR_PINS)
		return 0;
	return (reg & 1) ? (u32)(io->redir[pin] >> 32) : (u32)io->redir[pin];
}

static void write_register(struct ioapic *io, u32 val)
{
	u32 reg = io->ioregsel & 0xff;
	unsigned int pin;
	u64 old, e;
	/* Writable in the low dword: all but delivery status, remote IRR,
	 * and the reserved bits 31:17. */
	const u64 lo_writable = 0x1ffffull & ~(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR);

	if (reg == 0x00) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (reg < 0x10)
		return;			/* VER, ARB: read only */
	pin = (reg - 0x10) >> 1;
	if (pin >= IOAPIC_NR_PINS)
		return;
	old = e = io->redir[pin];
	if (reg & 1) {
		e = (e & 0xffffffffull) | ((u64)(val & 0xff000000u) << 32);
	} else {
		e = (e & ~lo_writable) | (val & lo_writable);
		if (!rte_level(e))
			e &= ~IOAPIC_RTE_REMOTE_IRR;
	}
	io->redir[pin] = e;

	if ((old ^ e) & IOAPIC_RTE_MASKED && io->ops && io->ops->mask_changed)
		io->ops->mask_changed(io->opaque, pin, e & IOAPIC_RTE_MASKED);
	/* Turned level: the pin's request now is its line. */
	if (rte_level(e) && !rte_level(old)) {
		if (io->line & (1u << pin))
			io->irr |= 1u << pin;
		else
			io->irr &= ~(1u << pin);
	}
	if (rte_level(e) && !(e & IOAPIC_RTE_MASKED))
		ioapic_service(io, pin);
}

bool ioapic_mmio_read(struct ioapic *io, u64 offset, unsigned int len, u64 *val)
{
	u32 v;

	if (offset >= IOAPIC_MMIO_SIZE)
		return false;
	switch (offset & ~3ull) {
	case 0x00:
		v = io->ioregsel;
		break;
	case 0x10:
		v = read_register(io);
		break;
	default:
		v = 0;
		break;
	}
	v >>= (offset & 3) * 8;
	*val = len >= 4 ? v : v & ((1u << (len * 8)) - 1);
	return true;
}

bool ioapic_mmio_write(struct ioapic *io, u64 offset, unsigned int len, u64 val)
{
	if (offset >= IOAPIC_MMIO_SIZE)
		return false;
	if (offset == 0x00) {
		io->ioregsel = val & 0xff;
	} else if (offset == 0x10 && len >= 4) {
		write_register(io, (u32)val);
	}
	/* Other offsets and narrow IOWIN writes are ignored. */
	return true;
}

void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->base_address = io->base_address;
	st->ioregsel = io->ioregsel;
	st->id = io->id;
	st->irr = io->irr;
	for (i = 0; i < IOAPIC_NR_PINS; i++)
		st->redirtbl[i].bits = io->redir[i];
}

void ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *st)
{
	unsigned int i;

	io->base_address = st->base_address;
	io->ioregsel = st->ioregsel & 0xff;
	io->id = st->id & 0xf;
	io->irr = st->irr & ((1u << IOAPIC_NR_PINS) - 1);
	io->line = 0;
	for (i = 0; i < IOAPIC_NR_PINS; i++) {
		io->redir[i] = st->redirtbl[i].bits & ~IOAPIC_RTE_DELIVS;
		if (io->irr & (1u << i))	/* IRR is the input's level */
			io->line |= 1u << i;
	}
	for (i = 0; i < IOAPIC_NR_PINS; i++)
		if (rte_level(io->redir[i]))
			ioapic_service(io, i);
}
