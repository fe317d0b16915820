// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two cascaded 8259A PICs and the ELCR, from the Intel 8259A datasheet
 * and the PIIX/PIIX3 datasheet (ELCR1 at 0x4d0, ELCR2 at 0x4d1).
 *
 * What works:
 *  - ICW1..ICW4 initialisation (single/cascade, IC4), ICW2 vector base,
 *    ICW4 AEOI and SFNM; ICW1 resets IMR, ISR, priority, special mask,
 *    the read-register select and the edge sense (a line already high must
 *    fall and rise again to be seen as an edge).
 *  - OCW1 (IMR), OCW2 (non-specific EOI, specific EOI, rotate on
 *    non-specific/specific EOI, set/clear rotate in AEOI, set priority),
 *    OCW3 (read IRR/ISR, poll, enter/leave special mask mode).
 *  - Edge and level triggering per pin from the ELCR (writable bits:
 *    0xf8 on the master, 0xde on the slave: IRQ0, 1, 2, 8, 13 are always
 *    edge, as on PIIX).  ICW1 LTIM is ignored: on a PC the ELCR decides.
 *  - Fully nested priority with rotation, special mask mode (an in-service
 *    level that is masked no longer blocks lower levels), special fully
 *    nested mode on the master (the slave's IR2 in service does not block
 *    further, higher-priority slave requests).
 *  - Cascade: the slave's INT output drives master IR2 as a level, so a
 *    request the slave withdraws before INTA does not linger on the master.
 *  - INTA: highest-priority request to ISR (or straight through in AEOI,
 *    with rotation if enabled), edge requests leave the IRR; no request ->
 *    spurious IR7 of the chip answering (vector base + 7), ISR untouched.
 *  - Poll: the read after OCW3 P returns 0x80 | level and acknowledges it
 *    on that chip (0 if nothing is pending).
 * Missing: ICW3 (cascade is hard-wired to IR2), buffered mode, 8080/8085
 * mode (µPM=0 is treated as 8086), LTIM, the electrical quirk that a level
 * request must stay high until the first INTA.
 *
 * Locking: see pic.h; every function assumes the caller's lock is held.
 */
#include "pic.h"

#define MASTER	0
#define SLAVE	1
#define CASCADE_IRQ	2

static bool is_slave(const struct pic *pic, const struct pic_chip *c)
{
	return c == &pic->chip[SLAVE];
}

/* Priority (0 = highest) of the highest-priority bit set in mask; 8 if none. */
static int priority_of(const struct pic_chip *c, u8 mask)
{
	int p;

	for (p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->priority_add) & 7)))
			return p;
	return 8;
}

/* The IR level this chip would ask the CPU to service, or -1. */
static int chip_pending_irq(const struct pic *pic, const struct pic_chip *c)
{
	u8 in_service = c->isr;
	int req, cur;

	req = priority_of(c, c->irr & ~c->imr);
	if (req == 8)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (c->special_fully_nested_mode && !is_slave(pic, c))
		in_service &= ~(1u << CASCADE_IRQ);
	cur = priority_of(c, in_service);
	if (req >= cur)
		return -1;
	return (req + c->priority_add) & 7;
}

/* Drive one IR input of one chip; returns as pic_set_irq(). */
static int chip_set_line(struct pic_chip *c, unsigned int ir, bool level, bool force_level)
{
	u8 bit = 1u << ir;
	bool was = c->last_irr & bit;
	int ret;

	if (level)
		c->last_irr |= bit;
	else
		c->last_irr &= ~bit;

	if (force_level || (c->elcr & bit)) {
		if (level) {
			ret = (c->irr & bit) ? 0 : 1;
			c->irr |= bit;
		} else {
			c->irr &= ~bit;
			ret = 0;
		}
	} else {
		if (level && !was) {
			ret = (c->irr & bit) ? 0 : 1;
			c->irr |= bit;
		} else {
			ret = 0;
		}
	}
	if (c->imr & bit)
		ret = -1;
	return ret;
}

/* Recompute the cascade and the INTR output; report a change. */
static void pic_update(struct pic *pic)
{
	bool slave_int = chip_pending_irq(pic, &pic->chip[SLAVE]) >= 0;
	bool out;

	chip_set_line(&pic->chip[MASTER], CASCADE_IRQ, slave_int, true);
	out = chip_pending_irq(pic, &pic->chip[MASTER]) >= 0;
	if (out != pic->output) {
		pic->output = out;
		if (pic->ops && pic->ops->set_output)
			pic->ops->set_output(pic->opaque, out);
	}
}

static void notify_acked(struct pic *pic, unsigned int irq)
{
	if (pic->ops && pic->ops->irq_acked)
		pic->ops->irq_acked(pic->opaque, irq);
}

static void set_imr(struct pic *pic, struct pic_chip *c, u8 imr)
{
	u8 changed = c->imr ^ imr;
	unsigned int base = is_slave(pic, c) ? 8 : 0;
	unsigned int i;

	c->imr = imr;
	if (!changed || !pic->ops || !pic->ops->mask_changed)
		return;
	for (i = 0; i < 8; i++)
		if (changed & (1u << i))
			pic->ops->mask_changed(pic->opaque, base + i, imr & (1u << i));
}

/*
 * Level ir of chip c leaves service (an EOI, or AEOI at INTA): that is
 * the acknowledgement the ack listeners hear of, as upstream's
 * kvm_notify_acked_irq() at the PIC's ISR clear.  The master's cascade
 * input is not a device's; its slave reports for itself.
 */
static void chip_end_service(struct pic *pic, struct pic_chip *c, unsigned int ir)
{
	c->isr &= ~(1u << ir);
	if (is_slave(pic, c))
		notify_acked(pic, 8 + ir);
	else if (ir != CASCADE_IRQ)
		notify_acked(pic, ir);
}

/* INTA on one chip for level ir: IRR -> ISR (or AEOI). */
static void chip_ack(struct pic *pic, struct pic_chip *c, unsigned int ir)
{
	u8 bit = 1u << ir;

	/* A level request stays in the IRR while its line is high. */
	if (!(c->elcr & bit))
		c->irr &= ~bit;
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (ir + 1) & 7;
		chip_end_service(pic, c, ir);
	} else {
		c->isr |= bit;
	}
}

void pic_reset(struct pic *pic)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct pic_chip *c = &pic->chip[i];
		u8 lines = c->last_irr;

		memset(c, 0, sizeof(*c));
		c->last_irr = lines;
		c->elcr_mask = i == MASTER ? 0xf8 : 0xde;
	}
	pic->chip[MASTER].last_irr &= ~(1u << CASCADE_IRQ);
	pic_update(pic);
}

void pic_init(struct pic *pic, const struct pic_ops *ops, void *opaque)
{
	memset(pic, 0, sizeof(*pic));
	pic->ops = ops;
	pic->opaque = opaque;
	pic_reset(pic);
}

int pic_set_irq(struct pic *pic, unsigned int irq, int level)
{
	int ret;

	if (irq >= PIC_NR_IRQS)
		return -1;
	/* IR2 of the master is the cascade input; nothing else drives it. */
	if (irq == CASCADE_IRQ)
		return 0;
	ret = chip_set_line(&pic->chip[irq >> 3], irq & 7, level != 0, false);
	pic_update(pic);
	return ret;
}

bool pic_has_interrupt(const struct pic *pic)
{
	return pic->output;
}

bool pic_irq_masked(const struct pic *pic, unsigned int irq)
{
	if (irq >= PIC_NR_IRQS)
		return true;
	return pic->chip[irq >> 3].imr & (1u << (irq & 7));
}

u8 pic_acknowledge(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[MASTER], *s = &pic->chip[SLAVE];
	int irq = chip_pending_irq(pic, m), irq2;
	u8 vector;

	if (irq < 0) {
		/* The request went away between INTR and INTA: IR7. */
		pic_update(pic);
		return m->irq_base + 7;
	}
	chip_ack(pic, m, irq);
	if (irq == CASCADE_IRQ) {
		irq2 = chip_pending_irq(pic, s);
		if (irq2 >= 0) {
			chip_ack(pic, s, irq2);
			vector = s->irq_base + irq2;
		} else {
			vector = s->irq_base + 7;	/* spurious IRQ15 */
		}
	} else {
		vector = m->irq_base + irq;
	}
	pic_update(pic);
	return vector;
}

/* Non-specific EOI target: the highest-priority level in service. */
static int highest_in_service(const struct pic_chip *c)
{
	int p = priority_of(c, c->isr);

	return p == 8 ? -1 : (p + c->priority_add) & 7;
}

static void write_command(struct pic *pic, struct pic_chip *c, u8 val)
{
	int ir;

	if (val & 0x10) {			/* ICW1 */
		c->init4 = val & 1;
		c->single_mode = (val >> 1) & 1;
		set_imr(pic, c, 0);
		c->isr = 0;
		c->priority_add = 0;
		c->special_mask = 0;
		c->read_reg_select = 0;
		c->poll = 0;
		c->auto_eoi = 0;
		c->rotate_on_auto_eoi = 0;
		c->special_fully_nested_mode = 0;
		/* Edge sense reset: pending edges are forgotten; a line that
		 * is high must go low and high again.  Level requests remain. */
		c->irr &= c->last_irr & c->elcr;
		if (!is_slave(pic, c))
			c->irr |= c->last_irr & (1u << CASCADE_IRQ);
		c->init_state = 1;
		return;
	}
	if (val & 0x08) {			/* OCW3 */
		if (val & 0x04)
			c->poll = 1;
		if (val & 0x02)
			c->read_reg_select = val & 1;
		if (val & 0x40)
			c->special_mask = (val >> 5) & 1;
		return;
	}
	/* OCW2: R SL EOI in bits 7..5, level in bits 2..0. */
	switch (val >> 5) {
	case 0:		/* clear rotate in AEOI */
	case 4:		/* set rotate in AEOI */
		c->rotate_on_auto_eoi = val >> 7;
		return;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		ir = highest_in_service(c);
		if (ir < 0)
			return;
		if (val & 0x80)
			c->priority_add = (ir + 1) & 7;
		chip_end_service(pic, c, ir);
		return;
	case 3:		/* specific EOI */
		if (c->isr & (1u << (val & 7)))
			chip_end_service(pic, c, val & 7);
		return;
	case 6:		/* set priority: level L becomes the lowest */
		c->priority_add = (val + 1) & 7;
		return;
	case 7:		/* rotate on specific EOI */
		c->priority_add = (val + 1) & 7;
		if (c->isr & (1u << (val & 7)))
			chip_end_service(pic, c, val & 7);
		return;
	default:	/* 2: no operation */
		return;
	}
}

static void write_data(struct pic *pic, struct pic_chip *c, u8 val)
{
	switch (c->init_state) {
	case 0:					/* OCW1 */
		set_imr(pic, c, val);
		return;
	case 1:					/* ICW2 */
		c->irq_base = val & 0xf8;
		if (!c->single_mode)
			c->init_state = 2;
		else
			c->init_state = c->init4 ? 3 : 0;
		return;
	case 2:					/* ICW3: cascade is fixed */
		c->init_state = c->init4 ? 3 : 0;
		return;
	default:				/* ICW4 */
		c->auto_eoi = (val >> 1) & 1;
		c->special_fully_nested_mode = (val >> 4) & 1;
		c->init_state = 0;
		return;
	}
}

/* Poll read: acknowledge the highest request on this chip alone. */
static u8 chip_poll(struct pic *pic, struct pic_chip *c)
{
	int ir = chip_pending_irq(pic, c);

	c->poll = 0;
	if (ir < 0)
		return 0;
	chip_ack(pic, c, ir);
	return 0x80 | ir;
}

static struct pic_chip *chip_of_port(struct pic *pic, u16 port)
{
	switch (port) {
	case 0x20: case 0x21: case 0x4d0:
		return &pic->chip[MASTER];
	case 0xa0: case 0xa1: case 0x4d1:
		return &pic->chip[SLAVE];
	default:
		return NULL;
	}
}

bool pic_port_read(struct pic *pic, u16 port, u8 *val)
{
	struct pic_chip *c = chip_of_port(pic, port);

	if (!c)
		return false;
	if (port == 0x4d0 || port == 0x4d1)
		*val = c->elcr;
	else if (port & 1)
		*val = c->imr;
	else if (c->poll)
		*val = chip_poll(pic, c);
	else
		*val = c->read_reg_select ? c->isr : c->irr;
	pic_update(pic);
	return true;
}

bool pic_port_write(struct pic *pic, u16 port, u8 val)
{
	struct pic_chip *c = chip_of_port(pic, port);

	if (!c)
		return false;
	if (port == 0x4d0 || port == 0x4d1) {
		u8 old = c->elcr;

		c->elcr = val & c->elcr_mask;
		/* A pin turned level shows its line; one turned edge keeps
		 * what it has latched. */
		c->irr |= c->elcr & ~old & c->last_irr;
		c->irr &= ~(c->elcr & ~old & ~c->last_irr);
	} else if (port & 1) {
		write_data(pic, c, val);
	} else {
		write_command(pic, c, val);
	}
	pic_update(pic);
	return true;
}

int pic_get_state(const struct pic *pic, unsigned int chip, struct kvm_pic_state *st)
{
	const struct pic_chip *c;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	c = &pic->chip[chip];
	memset(st, 0, sizeof(*st));
	st->last_irr = c->last_irr;
	st->irr = c->irr;
	st->imr = c->imr;
	st->isr = c->isr;
	st->priority_add = c->priority_add;
	st->irq_base = c->irq_base;
	st->read_reg_select = c->read_reg_select;
	st->poll = c->poll;
	st->special_mask = c->special_mask;
	st->init_state = c->init_state;
	st->auto_eoi = c->auto_eoi;
	st->rotate_on_auto_eoi = c->rotate_on_auto_eoi;
	st->special_fully_nested_mode = c->special_fully_nested_mode;
	st->init4 = c->init4;
	st->elcr = c->elcr;
	st->elcr_mask = c->elcr_mask;
	return 0;
}

int pic_set_state(struct pic *pic, unsigned int chip, const struct kvm_pic_state *st)
{
	struct pic_chip *c;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	c = &pic->chip[chip];
	c->last_irr = st->last_irr;
	c->irr = st->irr;
	set_imr(pic, c, st->imr);
	c->isr = st->isr;
	c->priority_add = st->priority_add & 7;
	c->irq_base = st->irq_base & 0xf8;
	c->read_reg_select = !!st->read_reg_select;
	c->poll = !!st->poll;
	c->special_mask = !!st->special_mask;
	c->init_state = st->init_state > 3 ? 0 : st->init_state;
	c->auto_eoi = !!st->auto_eoi;
	c->rotate_on_auto_eoi = !!st->rotate_on_auto_eoi;
	c->special_fully_nested_mode = !!st->special_fully_nested_mode;
	c->init4 = !!st->init4;
	c->single_mode = 0;
	/* The writable ELCR bits are the chipset's, not the caller's. */
	c->elcr_mask = chip == KVM_IRQCHIP_PIC_MASTER ? 0xf8 : 0xde;
	c->elcr = st->elcr & c->elcr_mask;
	pic_update(pic);
	return 0;
}
