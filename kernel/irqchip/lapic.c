// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local APIC, from the Intel SDM vol. 3A chapter 10 (xAPIC and x2APIC)
 * and the x2APIC specification.
 *
 * What works:
 *  - The xAPIC page: ID (bits 31:24, writable), version 0x00050014
 *    (version 0x14 like upstream KVM; "max LVT entry" 5 = the six LVTs
 *    timer, thermal, performance, LINT0, LINT1, error; no CMCI, whose
 *    register at 0x2f0 reads 0 and ignores writes), TPR, PPR, EOI, LDR,
 *    DFR (flat/cluster), SVR (bits 9:0: vector, software enable, focus),
 *    ISR/TMR/IRR, ESR with write-to-latch semantics, ICR, LVTs, timer.
 *    APR and RRD read 0.  Accesses to reserved offsets read 0, writes are
 *    ignored (no "illegal register address" error, as upstream).
 *  - Priority: PPR = TPR if TPR[7:4] >= ISRV[7:4] else ISRV & 0xf0; the
 *    highest IRR vector is deliverable when its class is above PPR's.
 *  - EOI clears the highest ISR bit; a vector whose TMR bit is set (it
 *    arrived level-triggered) is broadcast to the IOAPIC.  Directed EOI
 *    (SVR bit 12) is not offered.  Edge vectors the glue marked with
 *    lapic_set_eoi_notify() are reported too (ack notifiers).
 *  - Accepting: fixed/lowest-priority set IRR (and TMR for level), with
 *    vectors 0..15 rejected into ESR bit 6; NMI, SMI, INIT, SIPI and
 *    ExtINT become pending events for the glue.  A software-disabled APIC
 *    drops fixed interrupts but takes NMI/SMI/INIT/SIPI; a hardware-
 *    disabled one takes nothing.
 *  - IPIs: all delivery modes but remote read/ExtINT, physical and logical
 *    (flat, cluster, x2APIC cluster) destinations, broadcast, the three
 *    shorthands; fixed/lowest-priority vectors 0..15 set ESR bit 5 and are
 *    not sent; INIT level de-assert is dropped (SDM: not supported since
 *    Pentium 4).  Lowest priority picks the target with the lowest TPR,
 *    breaking ties round robin.
 *  - SVR software disable sets every LVT mask and keeps them set.
 *  - Timer: bus clock 1 GHz (1 ns per tick, like upstream KVM), divide
 *    1..128 from TDCR, one-shot, periodic (scheduled no closer than
 *    LAPIC_MIN_PERIOD_NS; the current count follows the guest's period;
 *    missed periods coalesce into one interrupt) and TSC-deadline
 *    (IA32_TSC_DEADLINE reads 0 and ignores writes in other modes; a
 *    deadline already passed fires at once; it clears on expiry).  A
 *    timer-mode change disarms the timer and zeroes TMICT.  A TDCR write
 *    while counting keeps the current count and counts on at the new rate.
 *  - x2APIC: MSRs 0x802..0x83f with the #GP rules: not in x2APIC mode,
 *    reserved or absent registers (APR, RRD, DFR, CMCI, ICR2...), reads of
 *    EOI/SELF_IPI, writes of read-only registers, non-zero EOI/ESR writes,
 *    reserved bits in TPR/SVR/LVT/TDCR/SELF_IPI or in bits 63:32 of a
 *    non-ICR write.  ID is the 32-bit initial ID, LDR is derived from it
 *    (cluster = ID[31:4] in bits 31:16, bit ID[3:0] in 15:0).  ICR is one
 *    64-bit MSR; its reserved bits are ignored, not faulted.
 *  - IA32_APIC_BASE: reserved bits (7:0, 9, >= MAXPHYADDR, EXTD without
 *    x2APIC support) and EN=0/EXTD=1 fault; a guest cannot go x2APIC ->
 *    xAPIC nor disabled -> x2APIC (the host can).  Going to x2APIC loads
 *    the 32-bit ID and derived LDR; disabling returns the registers to
 *    their power-up values (SDM 10.4.3: state "may be lost").
 *  - KVM_GET/SET_LAPIC: the page with TMCCT filled in on get; in x2APIC
 *    mode the ID travels in xAPIC format (ID << 24) as upstream does
 *    without KVM_CAP_X2APIC_API, and LDR is recomputed on set; set
 *    restarts the timer so that it continues from the saved TMCCT.
 *  - Reset: SDM 10.4.7.1 values; the BSP's LINT0 comes up unmasked in
 *    ExtINT mode (upstream KVM's default LINT0_REENABLED quirk) so the PIC
 *    reaches a guest that never touches its APIC.
 * Missing: level-triggered LINT remote IRR, focus processor checking,
 * lowest-priority by APR, the CMCI LVT, directed EOI, APIC virtualisation.
 *
 * Locking: see lapic.h.
 */
#include "lapic.h"

#define REG(apic, off)	((apic)->regs[(off) >> 2])
#define ARRAY_SIZE_LVT	(sizeof(lvt_offset) / sizeof(lvt_offset[0]))

static const u32 lvt_offset[] = {
	[LAPIC_LVT_TIMER] = LAPIC_LVTT, [LAPIC_LVT_THERMAL] = LAPIC_LVTTHMR,
	[LAPIC_LVT_PERF] = LAPIC_LVTPC, [LAPIC_LVT_LINT0] = LAPIC_LVT0,
	[LAPIC_LVT_LINT1] = LAPIC_LVT1, [LAPIC_LVT_ERROR] = LAPIC_LVTERR,
};

/* ---- bitmaps: 256 bits spread over eight registers 16 bytes apart --- */

static bool vec_test(const struct lapic *apic, u32 base, u8 v)
{
	return apic->regs[(base >> 2) + (v >> 5) * 4] & (1u << (v & 31));
}

static void vec_set(struct lapic *apic, u32 base, u8 v)
{
	apic->regs[(base >> 2) + (v >> 5) * 4] |= 1u << (v & 31);
}

static void vec_clear(struct lapic *apic, u32 base, u8 v)
{
	apic->regs[(base >> 2) + (v >> 5) * 4] &= ~(1u << (v & 31));
}

static int vec_highest(const struct lapic *apic, u32 base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = apic->regs[(base >> 2) + i * 4];

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* ---- modes ----------------------------------------------------------- */

bool lapic_hw_enabled(const struct lapic *apic)
{
	return apic->apic_base & LAPIC_BASE_ENABLE;
}

bool lapic_sw_enabled(const struct lapic *apic)
{
	return REG(apic, LAPIC_SPIV) & LAPIC_SPIV_ENABLE;
}

bool lapic_x2apic_mode(const struct lapic *apic)
{
	return (apic->apic_base & (LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD)) ==
	       (LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD);
}

u64 lapic_base_address(const struct lapic *apic)
{
	return apic->apic_base & ~0xfffull;
}

u32 lapic_id(const struct lapic *apic)
{
	return lapic_x2apic_mode(apic) ? REG(apic, LAPIC_ID) : REG(apic, LAPIC_ID) >> 24;
}

static u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

static u32 timer_mode(const struct lapic *apic)
{
	return REG(apic, LAPIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

/* ---- priority -------------------------------------------------------- */

static void update_ppr(struct lapic *apic)
{
	u32 tpr = REG(apic, LAPIC_TASKPRI) & 0xff;
	int isrv = vec_highest(apic, LAPIC_ISR);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	REG(apic, LAPIC_PROCPRI) = (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

int lapic_has_interrupt(const struct lapic *apic)
{
	int v;

	if (!lapic_hw_enabled(apic))
		return -1;
	v = vec_highest(apic, LAPIC_IRR);
	if (v < 0 || ((u32)v & 0xf0) <= (REG(apic, LAPIC_PROCPRI) & 0xf0))
		return -1;
	return v;
}

int lapic_acknowledge(struct lapic *apic)
{
	int v = lapic_has_interrupt(apic);

	if (v < 0)
		return -1;
	vec_clear(apic, LAPIC_IRR, v);
	vec_set(apic, LAPIC_ISR, v);
	update_ppr(apic);
	return v;
}

static void lapic_eoi(struct lapic *apic)
{
	int v = vec_highest(apic, LAPIC_ISR);

	if (v < 0)
		return;
	vec_clear(apic, LAPIC_ISR, v);
	update_ppr(apic);
	if ((vec_test(apic, LAPIC_TMR, v) || (apic->eoi_notify[v >> 5] & (1u << (v & 31)))) &&
	    apic->ops && apic->ops->eoi_broadcast)
		apic->ops->eoi_broadcast(apic->opaque, v);
}

void lapic_set_eoi_notify(struct lapic *apic, u8 vector, bool notify)
{
	if (notify)
		apic->eoi_notify[vector >> 5] |= 1u << (vector & 31);
	else
		apic->eoi_notify[vector >> 5] &= ~(1u << (vector & 31));
}

u64 lapic_get_cr8(const struct lapic *apic)
{
	return (REG(apic, LAPIC_TASKPRI) >> 4) & 0xf;
}

void lapic_set_cr8(struct lapic *apic, u64 cr8)
{
	REG(apic, LAPIC_TASKPRI) = (cr8 & 0xf) << 4;
	update_ppr(apic);
}

/* ---- accepting interrupts -------------------------------------------- */

static void kick(struct lapic *apic)
{
	if (apic->ops && apic->ops->kick)
		apic->ops->kick(apic->opaque);
}

static void signal_error(struct lapic *apic, u32 esr_bit)
{
	u32 lvt = REG(apic, LAPIC_LVTERR);

	apic->esr_pending |= esr_bit;
	/* The error LVT is fixed delivery; an illegal vector there would
	 * only report itself again. */
	if (!(lvt & LAPIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		lapic_accept_interrupt(apic, LAPIC_DM_FIXED, lvt & 0xff, false);
}

int lapic_accept_interrupt(struct lapic *apic, u8 delivery_mode, u8 vector, bool level_trigger)
{
	if (!lapic_hw_enabled(apic))
		return 0;

	switch (delivery_mode) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if (!lapic_sw_enabled(apic))
			return 0;
		if (vector < 16) {
			signal_error(apic, LAPIC_ESR_RECV_ILLEGAL);
			return 0;
		}
		if (level_trigger)
			vec_set(apic, LAPIC_TMR, vector);
		else
			vec_clear(apic, LAPIC_TMR, vector);
		if (vec_test(apic, LAPIC_IRR, vector))
			return 0;	/* coalesced with the pending one */
		vec_set(apic, LAPIC_IRR, vector);
		break;
	case LAPIC_DM_NMI:
		apic->nmi_pending++;
		break;
	case LAPIC_DM_SMI:
		apic->smi_pending = true;
		break;
	case LAPIC_DM_INIT:
		/*
		 * A SIPI still latched from before this INIT reached a CPU
		 * that was not waiting for one (SDM 8.4.4 ignores it): the
		 * second SIPI of an INIT-SIPI-SIPI sequence that arrived
		 * after the CPU had started and halted.  Left latched, it
		 * was taken as the SIPI of this INIT, so the next INIT
		 * started the CPU at the old vector at once (firmware's AP
		 * trampoline page, long since overwritten) and the OS's own
		 * SIPI came too late.  Only a SIPI that arrives after the
		 * INIT belongs to it.
		 */
		apic->init_pending = true;
		apic->sipi_pending = false;
		break;
	case LAPIC_DM_STARTUP:
		apic->sipi_pending = true;
		apic->sipi_vector = vector;
		break;
	case LAPIC_DM_EXTINT:
		apic->extint_pending = true;
		break;
	default:
		return 0;
	}
	kick(apic);
	return 1;
}

void lapic_raise_lvt(struct lapic *apic, enum lapic_lvt lvt)
{
	u32 val = REG(apic, lvt_offset[lvt]);
	u8 mode = (val >> 8) & 7;
	bool level = false;

	if (val & LAPIC_LVT_MASKED)
		return;
	/* Timer and error have no delivery-mode field: always fixed. */
	if (lvt == LAPIC_LVT_TIMER || lvt == LAPIC_LVT_ERROR)
		mode = LAPIC_DM_FIXED;
	if (lvt == LAPIC_LVT_LINT0 || lvt == LAPIC_LVT_LINT1)
		level = val & (1u << 15);
	if (mode == LAPIC_DM_FIXED && (val & 0xff) < 16) {
		signal_error(apic, LAPIC_ESR_RECV_ILLEGAL);
		return;
	}
	lapic_accept_interrupt(apic, mode, val & 0xff, level);
}

bool lapic_lvt0_nmi_mode(const struct lapic *apic)
{
	u32 lvt0 = REG(apic, LAPIC_LVT0);

	return !(lvt0 & LAPIC_LVT_MASKED) && ((lvt0 >> 8) & 7) == LAPIC_DM_NMI;
}

void lapic_pit_tick_lint0(struct lapic *apic)
{
	/* The PIC's INTR already reaches an ExtINT LINT0: nothing more. */
	if (((REG(apic, LAPIC_LVT0) >> 8) & 7) == LAPIC_DM_EXTINT)
		return;
	lapic_raise_lvt(apic, LAPIC_LVT_LINT0);
}

bool lapic_accepts_pic_intr(const struct lapic *apic)
{
	u32 lvt0 = REG(apic, LAPIC_LVT0);

	/* Without an enabled APIC the INTR pin goes straight to the core. */
	if (!lapic_hw_enabled(apic))
		return true;
	return !(lvt0 & LAPIC_LVT_MASKED) && ((lvt0 >> 8) & 7) == LAPIC_DM_EXTINT;
}

/* ---- destinations ---------------------------------------------------- */

static bool match_physical(const struct lapic *t, const struct irq_msg *m)
{
	if (lapic_x2apic_mode(t)) {
		if (m->dest == (m->dest_x2apic ? 0xffffffffu : 0xffu))
			return true;
		return m->dest == REG(t, LAPIC_ID);
	}
	if (m->dest_x2apic && m->dest == 0xffffffffu)
		return true;
	if ((m->dest & 0xff) == 0xff)
		return true;
	return (m->dest & 0xff) == REG(t, LAPIC_ID) >> 24;
}

static bool match_logical(const struct lapic *t, const struct irq_msg *m)
{
	u32 ldr = REG(t, LAPIC_LDR);
	u8 mda;

	if (lapic_x2apic_mode(t)) {
		if (!m->dest_x2apic)
			return (m->dest & 0xff) == 0xff;
		if (m->dest == 0xffffffffu)
			return true;
		return (m->dest >> 16) == (ldr >> 16) && (m->dest & ldr & 0xffff);
	}
	mda = m->dest & 0xff;
	if (mda == 0xff || (m->dest_x2apic && m->dest == 0xffffffffu))
		return true;
	if ((REG(t, LAPIC_DFR) >> 28) == 0xf)		/* flat */
		return (ldr >> 24) & mda;
	/* cluster: high nibble selects the cluster, low nibble the members */
	return (ldr >> 28) == (u32)(mda >> 4) && ((ldr >> 24) & mda & 0xf);
}

bool lapic_match_dest(const struct lapic *target, const struct lapic *src,
		      const struct irq_msg *msg)
{
	if (!lapic_hw_enabled(target))
		return false;
	switch (msg->shorthand) {
	case LAPIC_SH_SELF:
		return target == src;
	case LAPIC_SH_ALL_INCL_SELF:
		return true;
	case LAPIC_SH_ALL_EXCL_SELF:
		return target != src;
	default:
		return msg->dest_logical ? match_logical(target, msg) : match_physical(target, msg);
	}
}

int lapic_deliver_msg(struct lapic *const *apics, unsigned int n, const struct lapic *src,
		      const struct irq_msg *msg, unsigned int *rr_cursor)
{
	bool lowest = msg->delivery_mode == LAPIC_DM_LOWEST ||
		      (msg->redir_hint && msg->delivery_mode == LAPIC_DM_FIXED);
	unsigned int i, start = rr_cursor ? *rr_cursor : 0;
	int best = -1, delivered = 0;
	u32 best_tpr = 0x100;

	if (msg->delivery_mode == LAPIC_DM_INIT && msg->level_trigger && !msg->assert)
		return 0;	/* INIT level de-assert: a no-op */

	for (i = 0; i < n; i++) {
		unsigned int k = n ? (start + i) % n : 0;
		struct lapic *t = apics[k];

		if (!t || !lapic_match_dest(t, src, msg))
			continue;
		if (lowest) {
			u32 tpr = REG(t, LAPIC_TASKPRI) & 0xf0;

			if (tpr < best_tpr) {
				best_tpr = tpr;
				best = k;
			}
			continue;
		}
		delivered += lapic_accept_interrupt(t, msg->delivery_mode, msg->vector,
						    msg->level_trigger);
	}
	if (lowest && best >= 0) {
		delivered = lapic_accept_interrupt(apics[best], LAPIC_DM_FIXED, msg->vector,
						   msg->level_trigger);
		if (rr_cursor)
			*rr_cursor = (best + 1) % n;
	}
	return delivered;
}

/* ---- timer ----------------------------------------------------------- */

static u32 timer_divide(const struct lapic *apic)
{
	u32 tdcr = REG(apic, LAPIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr >> 1) & 4);

	return v == 7 ? 1 : 2u << v;
}

static u64 timer_period_ns(const struct lapic *apic)
{
	return (u64)REG(apic, LAPIC_TMICT) * timer_divide(apic);
}

static void set_deadline(struct lapic *apic, u64 deadline)
{
	if (deadline == apic->timer_deadline_ns)
		return;
	apic->timer_deadline_ns = deadline;
	if (apic->ops && apic->ops->timer_changed)
		apic->ops->timer_changed(apic->opaque, deadline);
}

static u64 scheduled_period(const struct lapic *apic)
{
	u64 p = timer_period_ns(apic);

	if (timer_mode(apic) == LAPIC_TIMER_PERIODIC && p < LAPIC_MIN_PERIOD_NS)
		p = LAPIC_MIN_PERIOD_NS;
	return p;
}

/* (Re)start counting from TMICT at load time `load`. */
static void timer_start(struct lapic *apic, u64 load, u64 now)
{
	u64 deadline, p;

	apic->timer_load_ns = load;
	if (timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		return;
	if (!REG(apic, LAPIC_TMICT)) {
		set_deadline(apic, 0);
		return;
	}
	p = scheduled_period(apic);
	deadline = load + p;
	if (timer_mode(apic) == LAPIC_TIMER_PERIODIC && deadline <= now)
		deadline += ((now - deadline) / p + 1) * p;
	set_deadline(apic, deadline ? deadline : 1);
}

u32 lapic_timer_current_count(const struct lapic *apic, u64 now)
{
	u32 tmict = REG(apic, LAPIC_TMICT);
	u64 period = timer_period_ns(apic), elapsed;

	if (!tmict || timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		return 0;
	if (timer_mode(apic) == LAPIC_TIMER_ONESHOT && !apic->timer_deadline_ns)
		return 0;	/* expired (or restored as expired) */
	/* Modular difference: the load time may sit "before zero" after a
	 * TDCR change or a restore; a now older than the load reads full. */
	elapsed = now - apic->timer_load_ns;
	if ((s64)elapsed < 0)
		elapsed = 0;
	if (timer_mode(apic) == LAPIC_TIMER_PERIODIC)
		elapsed %= period;
	else if (elapsed >= period)
		return 0;
	return tmict - (u32)(elapsed / timer_divide(apic));
}

u64 lapic_timer_expired(struct lapic *apic, u64 now)
{
	u64 p;

	if (!apic->timer_deadline_ns || now < apic->timer_deadline_ns)
		return apic->timer_deadline_ns;
	lapic_raise_lvt(apic, LAPIC_LVT_TIMER);
	if (timer_mode(apic) == LAPIC_TIMER_PERIODIC && REG(apic, LAPIC_TMICT)) {
		p = scheduled_period(apic);
		apic->timer_deadline_ns += ((now - apic->timer_deadline_ns) / p + 1) * p;
	} else {
		if (timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
			apic->tsc_deadline = 0;
		apic->timer_deadline_ns = 0;
	}
	return apic->timer_deadline_ns;
}

u64 lapic_read_tsc_deadline(const struct lapic *apic)
{
	return timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE ? apic->tsc_deadline : 0;
}

void lapic_write_tsc_deadline(struct lapic *apic, u64 value, u64 guest_tsc, u64 now)
{
	u64 delta;

	if (timer_mode(apic) != LAPIC_TIMER_TSCDEADLINE)
		return;
	apic->tsc_deadline = value;
	if (!value) {
		set_deadline(apic, 0);
		return;
	}
	if (value <= guest_tsc || !apic->tsc_khz) {
		/* Already due: fire now, nothing to arm. */
		set_deadline(apic, 0);
		lapic_raise_lvt(apic, LAPIC_LVT_TIMER);
		apic->tsc_deadline = 0;
		return;
	}
	delta = value - guest_tsc;
	/* Cap at ~292 years so the conversion cannot overflow. */
	if (delta / apic->tsc_khz >= (~0ull - now) / 1000000ull)
		delta = ((~0ull - now) / 1000000ull - 1) * apic->tsc_khz;
	set_deadline(apic, now + irqchip_muldiv64(delta, 1000000ull, apic->tsc_khz));
}

/* ---- register writes ------------------------------------------------- */

static void mask_all_lvts(struct lapic *apic)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE_LVT; i++)
		REG(apic, lvt_offset[i]) |= LAPIC_LVT_MASKED;
}

static u32 lvt_writable(const struct lapic *apic, u32 off)
{
	switch (off) {
	case LAPIC_LVTT:
		return 0x000100ff | LAPIC_TIMER_PERIODIC |
		       (apic->tsc_deadline_supported ? LAPIC_TIMER_TSCDEADLINE : 0);
	case LAPIC_LVTTHMR:
	case LAPIC_LVTPC:
		return 0x000107ff;
	case LAPIC_LVT0:
	case LAPIC_LVT1:
		return 0x0001a7ff;	/* not remote IRR (14), delivery status (12) */
	default:			/* LAPIC_LVTERR */
		return 0x000100ff;
	}
}

static void send_icr(struct lapic *apic)
{
	u32 lo = REG(apic, LAPIC_ICR), hi = REG(apic, LAPIC_ICR2);
	struct irq_msg msg = {
		.vector = lo & 0xff,
		.delivery_mode = (lo >> 8) & 7,
		.dest_logical = lo & (1u << 11),
		.assert = lo & (1u << 14),
		.level_trigger = lo & (1u << 15),
		.shorthand = (lo >> 18) & 3,
	};

	if (lapic_x2apic_mode(apic)) {
		msg.dest = hi;
		msg.dest_x2apic = true;
	} else {
		msg.dest = hi >> 24;
	}
	switch (msg.delivery_mode) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if (msg.vector < 16) {
			signal_error(apic, LAPIC_ESR_SEND_ILLEGAL);
			return;
		}
		break;
	case LAPIC_DM_REMOTE_READ:
	case LAPIC_DM_EXTINT:
		return;			/* not sendable by IPI */
	case LAPIC_DM_INIT:
		if (msg.level_trigger && !msg.assert)
			return;		/* INIT level de-assert */
		break;
	}
	if (apic->ops && apic->ops->send_ipi)
		apic->ops->send_ipi(apic->opaque, &msg);
}

/*
 * Write one register.  strict: an x2APIC MSR write, where reserved bits
 * and read-only registers fault; returns LAPIC_MSR_GP then, else 0.
 */
static int reg_write(struct lapic *apic, u32 off, u32 val, bool strict, u64 now)
{
	u32 old, mask;
	u64 cur;

	switch (off) {
	case LAPIC_ID:
		if (strict)
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_ID) = val & 0xff000000u;
		return 0;
	case LAPIC_TASKPRI:
		if (strict && (val & ~0xffu))
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_TASKPRI) = val & 0xff;
		update_ppr(apic);
		return 0;
	case LAPIC_EOI:
		if (strict && val)
			return LAPIC_MSR_GP;
		lapic_eoi(apic);
		return 0;
	case LAPIC_LDR:
		if (strict)
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_LDR) = val & 0xff000000u;
		return 0;
	case LAPIC_DFR:
		if (strict)
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_DFR) = val | 0x0fffffffu;
		return 0;
	case LAPIC_SPIV:
		mask = 0x3ff;
		if (strict && (val & ~mask))
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_SPIV) = val & mask;
		if (!(val & LAPIC_SPIV_ENABLE))
			mask_all_lvts(apic);
		return 0;
	case LAPIC_ESR:
		if (strict && val)
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_ESR) = apic->esr_pending;
		apic->esr_pending = 0;
		return 0;
	case LAPIC_ICR:
		REG(apic, LAPIC_ICR) = val & ~(1u << 12);	/* delivery status: idle */
		send_icr(apic);
		return 0;
	case LAPIC_ICR2:
		if (strict)
			return LAPIC_MSR_GP;
		REG(apic, LAPIC_ICR2) = val & 0xff000000u;
		return 0;
	case LAPIC_LVTT:
	case LAPIC_LVTTHMR:
	case LAPIC_LVTPC:
	case LAPIC_LVT0:
	case LAPIC_LVT1:
	case LAPIC_LVTERR:
		mask = lvt_writable(apic, off);
		/*
		 * Delivery status (12) and remote IRR (14) are read-only:
		 * software writes back what it read, so they never fault
		 * (upstream KVM ignores them too).
		 */
		if (strict && (val & ~(mask | (1u << 12) | (1u << 14))))
			return LAPIC_MSR_GP;
		old = REG(apic, off);
		val &= mask;
		if (!lapic_sw_enabled(apic))
			val |= LAPIC_LVT_MASKED;
		REG(apic, off) = (old & ~mask) | val;
		if (off == LAPIC_LVTT && (old & LAPIC_TIMER_MODE_MASK) != (val & LAPIC_TIMER_MODE_MASK)) {
			/* A mode change disarms the timer. */
			REG(apic, LAPIC_TMICT) = 0;
			apic->tsc_deadline = 0;
			set_deadline(apic, 0);
		}
		return 0;
	case LAPIC_TMICT:
		if (timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
			return 0;
		REG(apic, LAPIC_TMICT) = val;
		timer_start(apic, now, now);
		return 0;
	case LAPIC_TDCR:
		if (strict && (val & ~0xbu))
			return LAPIC_MSR_GP;
		cur = lapic_timer_current_count(apic, now);
		REG(apic, LAPIC_TDCR) = val & 0xb;
		if (cur && timer_mode(apic) != LAPIC_TIMER_TSCDEADLINE)
			timer_start(apic, now - (REG(apic, LAPIC_TMICT) - cur) * timer_divide(apic),
				    now);
		return 0;
	case LAPIC_SELF_IPI:
		if (!strict)
			return 0;	/* x2APIC only */
		if (val & ~0xffu)
			return LAPIC_MSR_GP;
		if ((val & 0xff) < 16)
			signal_error(apic, LAPIC_ESR_SEND_ILLEGAL);
		else
			lapic_accept_interrupt(apic, LAPIC_DM_FIXED, val & 0xff, false);
		return 0;
	default:
		/* VER, PPR, ISR/TMR/IRR, TMCCT: read only; others reserved. */
		return strict ? LAPIC_MSR_GP : 0;
	}
}

static u32 reg_read(const struct lapic *apic, u32 off, u64 now)
{
	switch (off) {
	case LAPIC_TMCCT:
		return lapic_timer_current_count(apic, now);
	case LAPIC_ARBPRI:
	case LAPIC_RRD:
	case LAPIC_EOI:
	case LAPIC_SELF_IPI:
	case LAPIC_LVTCMCI:
		return 0;
	default:
		if (off >= 0x400)
			return 0;
		return REG(apic, off);
	}
}

bool lapic_mmio_read(struct lapic *apic, u32 offset, unsigned int len, u32 *val, u64 now)
{
	u32 v;

	if (!lapic_hw_enabled(apic) || lapic_x2apic_mode(apic) || offset >= 0x1000)
		return false;
	v = reg_read(apic, offset & ~0xfu, now) >> ((offset & 3) * 8);
	if ((offset & 0xf) >= 4)
		v = 0;
	*val = len >= 4 ? v : v & ((1u << (len * 8)) - 1);
	return true;
}

bool lapic_mmio_write(struct lapic *apic, u32 offset, unsigned int len, u32 val, u64 now)
{
	if (!lapic_hw_enabled(apic) || lapic_x2apic_mode(apic) || offset >= 0x1000)
		return false;
	/* Only aligned 32-bit stores reach a register (SDM 10.4.1). */
	if (len == 4 && !(offset & 0xf) && offset < 0x400)
		reg_write(apic, offset, val, false, now);
	return true;
}

/* ---- x2APIC MSRs ----------------------------------------------------- */

static bool x2apic_readable(u32 off)
{
	switch (off) {
	case LAPIC_ID: case LAPIC_LVR: case LAPIC_TASKPRI: case LAPIC_PROCPRI:
	case LAPIC_LDR: case LAPIC_SPIV: case LAPIC_ESR: case LAPIC_ICR:
	case LAPIC_LVTT: case LAPIC_LVTTHMR: case LAPIC_LVTPC: case LAPIC_LVT0:
	case LAPIC_LVT1: case LAPIC_LVTERR: case LAPIC_TMICT: case LAPIC_TMCCT:
	case LAPIC_TDCR:
		return true;
	default:
		return off >= LAPIC_ISR && off < LAPIC_ESR;	/* ISR, TMR, IRR */
	}
}

int lapic_msr_read(struct lapic *apic, u32 msr, u64 *val, u64 now)
{
	u32 off = (msr - 0x800) << 4;

	if (msr < 0x800 || msr > 0x8ff || !lapic_x2apic_mode(apic) || !x2apic_readable(off))
		return LAPIC_MSR_GP;
	if (off == LAPIC_ICR)
		*val = REG(apic, LAPIC_ICR) | ((u64)REG(apic, LAPIC_ICR2) << 32);
	else
		*val = reg_read(apic, off, now);
	return 0;
}

int lapic_msr_write(struct lapic *apic, u32 msr, u64 val, u64 now)
{
	u32 off = (msr - 0x800) << 4;

	if (msr < 0x800 || msr > 0x8ff || !lapic_x2apic_mode(apic))
		return LAPIC_MSR_GP;
	if (off == LAPIC_ICR) {
		REG(apic, LAPIC_ICR2) = val >> 32;
		return reg_write(apic, LAPIC_ICR, (u32)val, true, now);
	}
	if (val >> 32)
		return LAPIC_MSR_GP;
	return reg_write(apic, off, (u32)val, true, now);
}

/* ---- reset, APIC base ------------------------------------------------ */

static void reset_registers(struct lapic *apic, u32 id_reg)
{
	unsigned int i;

	memset(apic->regs, 0, sizeof(apic->regs));
	REG(apic, LAPIC_ID) = id_reg;
	REG(apic, LAPIC_LVR) = LAPIC_VERSION;
	REG(apic, LAPIC_DFR) = 0xffffffffu;
	REG(apic, LAPIC_SPIV) = 0xff;
	for (i = 0; i < ARRAY_SIZE_LVT; i++)
		REG(apic, lvt_offset[i]) = LAPIC_LVT_MASKED;
	if (lapic_x2apic_mode(apic))
		REG(apic, LAPIC_LDR) = x2apic_ldr(id_reg);
	apic->esr_pending = 0;
	apic->tsc_deadline = 0;
	apic->timer_load_ns = 0;
	set_deadline(apic, 0);
}

void lapic_reset(struct lapic *apic, bool bsp)
{
	apic->apic_base = LAPIC_DEFAULT_BASE | LAPIC_BASE_ENABLE | (bsp ? LAPIC_BASE_BSP : 0);
	reset_registers(apic, apic->initial_id << 24);
	if (bsp)	/* LINT0 unmasked, ExtINT: the PIC is connected */
		REG(apic, LAPIC_LVT0) = LAPIC_DM_EXTINT << 8;
	apic->nmi_pending = 0;
	apic->smi_pending = apic->init_pending = apic->sipi_pending = false;
	apic->extint_pending = false;
}

void lapic_init(struct lapic *apic, u32 id, bool bsp, const struct lapic_ops *ops, void *opaque)
{
	memset(apic, 0, sizeof(*apic));
	apic->initial_id = id;
	apic->maxphyaddr = 52;
	apic->ops = ops;
	apic->opaque = opaque;
	lapic_reset(apic, bsp);
}

void lapic_init_signal(struct lapic *apic)
{
	/* INIT: power-up state except the APIC ID and IA32_APIC_BASE. */
	reset_registers(apic, REG(apic, LAPIC_ID));
	apic->nmi_pending = 0;
	apic->smi_pending = apic->init_pending = apic->sipi_pending = false;
	apic->extint_pending = false;
}

int lapic_set_base(struct lapic *apic, u64 value, bool host_initiated)
{
	u64 reserved = 0x2ffull, old = apic->apic_base;
	bool old_en = old & LAPIC_BASE_ENABLE, old_x2 = lapic_x2apic_mode(apic);
	bool en = value & LAPIC_BASE_ENABLE, x2 = value & LAPIC_BASE_EXTD;

	if (apic->maxphyaddr < 64)
		reserved |= ~0ull << apic->maxphyaddr;
	if (!apic->x2apic_supported)
		reserved |= LAPIC_BASE_EXTD;
	if (value & reserved)
		return LAPIC_MSR_GP;
	if (x2 && !en)
		return LAPIC_MSR_GP;		/* invalid state */
	if (!host_initiated) {
		if (old_x2 && en && !x2)
			return LAPIC_MSR_GP;	/* x2APIC -> xAPIC */
		if (!old_en && x2)
			return LAPIC_MSR_GP;	/* disabled -> x2APIC */
	}
	apic->apic_base = value;
	if (!en) {
		if (old_en)
			reset_registers(apic, apic->initial_id << 24);
	} else if (x2 && !old_x2) {
		REG(apic, LAPIC_ID) = apic->initial_id;
		REG(apic, LAPIC_LDR) = x2apic_ldr(apic->initial_id);
		REG(apic, LAPIC_ICR2) = 0;
	} else if (!x2 && old_x2) {		/* host only */
		REG(apic, LAPIC_ID) = apic->initial_id << 24;
		REG(apic, LAPIC_LDR) = 0;
	}
	return 0;
}

/* ---- KVM_GET/SET_LAPIC ----------------------------------------------- */

void lapic_get_state(const struct lapic *apic, struct kvm_lapic_state *st, u64 now)
{
	u32 v;

	memcpy(st->regs, apic->regs, sizeof(st->regs));
	v = lapic_timer_current_count(apic, now);
	memcpy(st->regs + LAPIC_TMCCT, &v, 4);
	if (lapic_x2apic_mode(apic)) {
		v = REG(apic, LAPIC_ID) << 24;
		memcpy(st->regs + LAPIC_ID, &v, 4);
	}
}

int lapic_set_state(struct lapic *apic, const struct kvm_lapic_state *st, u64 now)
{
	u32 tmcct, tmict;

	memcpy(apic->regs, st->regs, sizeof(apic->regs));
	tmcct = REG(apic, LAPIC_TMCCT);
	REG(apic, LAPIC_LVR) = LAPIC_VERSION;
	if (lapic_x2apic_mode(apic)) {
		REG(apic, LAPIC_ID) >>= 24;
		REG(apic, LAPIC_LDR) = x2apic_ldr(REG(apic, LAPIC_ID));
	}
	REG(apic, LAPIC_DFR) |= 0x0fffffffu;
	REG(apic, LAPIC_TMCCT) = 0;
	REG(apic, LAPIC_ICR) &= ~(1u << 12);
	if (!lapic_sw_enabled(apic))
		mask_all_lvts(apic);
	update_ppr(apic);
	apic->esr_pending = 0;

	/* Continue the timer from the saved current count. */
	tmict = REG(apic, LAPIC_TMICT);
	if (timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE) {
		REG(apic, LAPIC_TMICT) = 0;
		set_deadline(apic, 0);
	} else if (!tmict || !tmcct) {
		/* Nothing loaded, or a one-shot that already expired. */
		apic->timer_load_ns = now;
		set_deadline(apic, 0);
		if (tmict && timer_mode(apic) == LAPIC_TIMER_PERIODIC)
			timer_start(apic, now, now);
	} else {
		if (tmcct > tmict)
			tmcct = tmict;
		timer_start(apic, now - (u64)(tmict - tmcct) * timer_divide(apic), now);
	}
	if (lapic_has_interrupt(apic) >= 0)
		kick(apic);
	return 0;
}
