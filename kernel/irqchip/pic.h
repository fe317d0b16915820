/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Two cascaded Intel 8259A programmable interrupt controllers as wired in
 * a PC (master at ports 0x20/0x21, slave at 0xa0/0xa1 on the master's
 * IR2) plus the PIIX edge/level control registers (ELCR, ports
 * 0x4d0/0x4d1).  See pic.c for what is modelled and what is not.
 *
 * Interface for the glue (one struct pic per VM):
 *   pic_init()             at KVM_CREATE_IRQCHIP; ops/opaque are kept.
 *   pic_set_irq()          KVM_IRQ_LINE for a GSI routed to a PIC pin.
 *   pic_port_read/write()  guest IN/OUT on 0x20,0x21,0xa0,0xa1,0x4d0,0x4d1.
 *   pic_has_interrupt()    the INTR output (also reported via set_output).
 *   pic_acknowledge()      the two INTA cycles when the CPU takes the
 *                          interrupt: returns the vector (spurious IRQ7/15
 *                          when the request vanished).
 *   pic_get/set_state()    KVM_GET/SET_IRQCHIP for chip 0 (master), 1 (slave).
 * Callbacks (struct pic_ops): set_output(level) whenever INTR changes
 * (the glue kicks the vCPU whose LAPIC accepts ExtINT), optional
 * irq_acked(irq) when pin irq (0-15, never the cascade IR2) leaves
 * service: an EOI that clears its ISR bit, or INTA in auto-EOI mode
 * (upstream's ack-notifier point; the PIT's lost-tick reinjection waits for
 * it), optional mask_changed(irq, masked) when an IMR bit flips.
 *
 * Locking: the caller serialises every call on one struct pic (a VM-wide
 * spinlock); callbacks run under that lock and must not call back in.
 */
#ifndef KVM_IRQCHIP_PIC_H
#define KVM_IRQCHIP_PIC_H

#include "irqchip.h"

#define PIC_NR_IRQS	16

struct pic_ops {
	void (*set_output)(void *opaque, bool level);
	void (*irq_acked)(void *opaque, unsigned int irq);		/* optional */
	void (*mask_changed)(void *opaque, unsigned int irq, bool masked); /* optional */
};

/*
 * One 8259A.  Field names and meanings are those of struct kvm_pic_state
 * so get/set are plain copies:
 *   last_irr   level of each IR input as last driven (edge detection)
 *   irr/imr/isr  the three registers
 *   priority_add  the IR level with the highest priority (rotation)
 *   irq_base   ICW2 & 0xf8: vector of IR0
 *   read_reg_select  OCW3 RIS: next read of the command port gives
 *                    0 = IRR, 1 = ISR
 *   poll       OCW3 P: next read of the command port is a poll
 *   init_state 0 = operational, 1/2/3 = expecting ICW2/ICW3/ICW4
 *   init4      ICW1 IC4: an ICW4 follows
 *   elcr/elcr_mask  ELCR (1 = level) and its writable bits
 */
struct pic_chip {
	u8 last_irr, irr, imr, isr;
	u8 priority_add, irq_base;
	u8 read_reg_select, poll, special_mask, init_state;
	u8 auto_eoi, rotate_on_auto_eoi, special_fully_nested_mode, init4;
	u8 single_mode;		/* ICW1 SNGL; not in the ABI, kept for ICW3 */
	u8 elcr, elcr_mask;
};

struct pic {
	struct pic_chip chip[2];	/* 0 = master, 1 = slave */
	bool output;			/* INTR as last reported */
	const struct pic_ops *ops;
	void *opaque;
};

void pic_init(struct pic *pic, const struct pic_ops *ops, void *opaque);
void pic_reset(struct pic *pic);
/* Returns 1 if a new request was latched, 0 if it merged with a pending
 * one (or the line only fell), -1 if the pin is masked in the IMR. */
int pic_set_irq(struct pic *pic, unsigned int irq, int level);
bool pic_has_interrupt(const struct pic *pic);
u8 pic_acknowledge(struct pic *pic);
/* false: not a PIC port (the caller passes it on). */
bool pic_port_read(struct pic *pic, u16 port, u8 *val);
bool pic_port_write(struct pic *pic, u16 port, u8 val);
/* chip: KVM_IRQCHIP_PIC_MASTER or _SLAVE; -EINVAL otherwise. */
int pic_get_state(const struct pic *pic, unsigned int chip, struct kvm_pic_state *st);
int pic_set_state(struct pic *pic, unsigned int chip, const struct kvm_pic_state *st);
/* IMR bit of an irq 0..15 (the slave's pins also need master IR2 open). */
bool pic_irq_masked(const struct pic *pic, unsigned int irq);

#endif /* KVM_IRQCHIP_PIC_H */
