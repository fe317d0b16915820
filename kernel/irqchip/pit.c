// SPDX-License-Identifier: GPL-2.0-only
/*
 * 8254 PIT, from the Intel 8254 datasheet (counter modes 0-5, control
 * word, counter latch, read-back command, status byte) and the PC/AT
 * wiring: 1.193182 MHz clock, channels 0 and 1 gated high, channel 0 OUT
 * on IRQ0, channel 2 gate and OUT on port 0x61 (bits 0 and 5).
 *
 * Time is the caller's ns clock; a channel counts from count_load_time
 * (the ABI's meaning: the host time at which the count was loaded) and
 * its counter and OUT are functions of the elapsed input clocks
 * d = (now - count_load_time) * 1193182 / 10^9, for a count N:
 *   mode 0  OUT low, rises at d = N and stays high; counter N - d (wraps)
 *   mode 1  as mode 0, triggered at load and at each gate rising edge
 *   mode 2  OUT low only while d mod N = N - 1; counter N - d mod N
 *   mode 3  OUT high for the first ceil(N/2) of every N clocks; the
 *           counter steps by two within each half
 *   mode 4  OUT high, low for the one clock d = N; counter N - d (wraps)
 *   mode 5  as mode 4, triggered at load and at each gate rising edge
 * Modes 6 and 7 are 2 and 3.  BCD channels count modulo 10000 and are
 * read and written in BCD; a count of 0 means 65536 (10000 in BCD).
 * Between a control word and the count, OUT is low in mode 0 and high
 * otherwise, and the status byte's NULL COUNT bit is set.
 *
 * Gate: a rising edge restarts modes 1, 2, 3 and 5; gate low holds OUT
 * high in modes 2 and 3.  Not modelled: gate low pausing modes 0 and 4,
 * the mode 0 "first byte written stops counting" rule, and odd counts in
 * mode 3 read back exactly.
 *
 * IRQ0 and lost ticks.  The next OUT0 rising edge (d = N in modes 0/1,
 * N + 1 in 4/5, every multiple of N in 2/3, never closer than
 * PIT_MIN_PERIOD_NS apart in periodic modes: shorter periods are
 * stretched, as upstream does to protect the host) is what the glue arms
 * its hrtimer for.  With reinjection on (upstream's default):
 *   - each expiry adds the number of edges that passed to `pending`
 *     (more than one if the hrtimer ran late) and pulses IRQ0 if no
 *     earlier pulse is outstanding (irq_ack);
 *   - when the guest acknowledges IRQ0, irq_ack is set and one tick is
 *     taken off pending; if ticks remain, the next pulse goes out at once.
 *   So every tick reaches the guest, one at a time, each after the
 *   previous one was acknowledged.  Unmasking IRQ0 and loading channel 0
 *   forget the backlog (pending = 0, irq_ack = 1).  With reinjection off,
 *   every expiry pulses IRQ0 once and missed edges are lost.
 *
 * Locking: see pit.h.
 */
#include "pit.h"

#define NS_PER_SEC	1000000000ull

static u64 ticks_of(u64 ns)
{
	return irqchip_muldiv64(ns, PIT_FREQ_HZ, NS_PER_SEC);
}

/* The first ns at which ticks_of() reaches k. */
static u64 ns_of(u64 k)
{
	u64 ns = irqchip_muldiv64(k, NS_PER_SEC, PIT_FREQ_HZ);

	while (ticks_of(ns) < k)
		ns++;
	return ns;
}

static u8 ch_mode(const struct pit_channel *c)
{
	return c->mode > 5 ? c->mode - 4 : c->mode;
}

static bool periodic(const struct pit_channel *c)
{
	return ch_mode(c) == 2 || ch_mode(c) == 3;
}

static u64 elapsed_ticks(const struct pit_channel *c, u64 now)
{
	return (s64)now > c->count_load_time ? ticks_of(now - (u64)c->count_load_time) : 0;
}

static u32 bin_to_bcd(u32 v)
{
	return (v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12);
}

static u32 bcd_to_bin(u32 v)
{
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 +
	       ((v >> 12) & 0xf) * 1000;
}

u32 pit_current_count(const struct pit *pit, unsigned int channel, u64 now)
{
	const struct pit_channel *c = &pit->ch[channel];
	u64 d = elapsed_ticks(c, now), n = c->count, wrap = c->bcd ? 10000 : 0x10000;
	u64 p, h, q, v;

	if (!n)
		return 0;
	switch (ch_mode(c)) {
	case 2:
		v = n - d % n;
		break;
	case 3:
		p = d % n;
		h = (n + 1) / 2;
		q = p < h ? p : p - h;
		v = n - 2 * q;
		break;
	default:
		v = (n + wrap - d % wrap) % wrap;
		break;
	}
	return (u32)(v % wrap);	/* 65536 (10000) reads as 0 */
}

bool pit_output(const struct pit *pit, unsigned int channel, u64 now)
{
	const struct pit_channel *c = &pit->ch[channel];
	u64 d = elapsed_ticks(c, now), n = c->count;

	if (c->null_count || !n)
		return ch_mode(c) != 0;
	if (!c->gate && periodic(c))
		return true;
	switch (ch_mode(c)) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return n < 2 || d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default:		/* 4, 5 */
		return d != n;
	}
}

/* ---- channel 0 -> IRQ0 ---------------------------------------------- */

static bool clamped(const struct pit_channel *c)
{
	return ns_of(c->count) < PIT_MIN_PERIOD_NS;
}

/* Time of periodic edge k (k >= 1). */
static u64 edge_time(const struct pit_channel *c, u64 k)
{
	if (clamped(c))
		return (u64)c->count_load_time + k * PIT_MIN_PERIOD_NS;
	return (u64)c->count_load_time + ns_of(k * c->count);
}

/* Index of the last periodic edge at or before now (0 = none yet). */
static u64 edges_until(const struct pit_channel *c, u64 now)
{
	u64 el;

	if ((s64)now <= c->count_load_time)
		return 0;
	el = now - (u64)c->count_load_time;
	if (clamped(c))
		return el / PIT_MIN_PERIOD_NS;
	return ticks_of(el) / c->count;
}

static void reset_reinject(struct pit *pit)
{
	pit->pending = 0;
	pit->irq_ack = true;
}

static void set_irq0_deadline(struct pit *pit, u64 deadline)
{
	if (deadline == pit->irq0_next_ns)
		return;
	pit->irq0_next_ns = deadline;
	if (pit->ops && pit->ops->timer_changed)
		pit->ops->timer_changed(pit->opaque, deadline);
}

/* Channel 0 was (re)loaded or restored: schedule its next rising edge. */
static void schedule_irq0(struct pit *pit, u64 now)
{
	const struct pit_channel *c = &pit->ch[0];
	u64 next = 0;

	if (!c->null_count && c->count && c->gate) {
		switch (ch_mode(c)) {
		case 0:
		case 1:
			next = (u64)c->count_load_time + ns_of(c->count);
			break;
		case 4:
		case 5:
			next = (u64)c->count_load_time + ns_of(c->count + 1);
			break;
		default:
			pit->irq0_tick = edges_until(c, now) + 1;
			next = edge_time(c, pit->irq0_tick);
			break;
		}
		/* A one-shot edge already behind us (restored state) has
		 * happened on the other side. */
		if (!periodic(c) && next <= now)
			next = 0;
	}
	set_irq0_deadline(pit, next);
}

static void pulse(struct pit *pit)
{
	if (pit->ops && pit->ops->irq0_pulse)
		pit->ops->irq0_pulse(pit->opaque);
}

u64 pit_timer_expired(struct pit *pit, u64 now)
{
	const struct pit_channel *c = &pit->ch[0];
	u64 n = 1, k;

	if (!pit->irq0_next_ns || now < pit->irq0_next_ns)
		return pit->irq0_next_ns;
	if (periodic(c)) {
		k = edges_until(c, now);
		n = k >= pit->irq0_tick ? k - pit->irq0_tick + 1 : 1;
		pit->irq0_tick = k + 1;
		pit->irq0_next_ns = edge_time(c, pit->irq0_tick);
	} else {
		pit->irq0_next_ns = 0;
	}
	if (!pit->reinject) {
		pulse(pit);
	} else {
		pit->pending += (u32)(n > 0xffff ? 0xffff : n);
		if (pit->irq_ack) {
			pit->irq_ack = false;
			pulse(pit);
		}
	}
	return pit->irq0_next_ns;
}

void pit_irq0_acked(struct pit *pit)
{
	if (!pit->reinject)
		return;
	pit->irq_ack = true;
	if (pit->pending)
		pit->pending--;
	if (pit->pending) {
		pit->irq_ack = false;
		pulse(pit);
	}
}

void pit_irq0_mask_changed(struct pit *pit, bool masked)
{
	/* Ticks that piled up while the guest had IRQ0 masked are not owed. */
	if (!masked)
		reset_reinject(pit);
}

void pit_set_reinject(struct pit *pit, bool reinject)
{
	/* As upstream: asking for the current policy changes nothing. */
	if (pit->reinject == reinject)
		return;
	pit->reinject = reinject;
	reset_reinject(pit);
}

/* ---- ports ------------------------------------------------------------ */

static void load_count(struct pit *pit, unsigned int i, u32 val, u64 now)
{
	struct pit_channel *c = &pit->ch[i];

	if (c->bcd)
		val = bcd_to_bin(val);
	if (!val)
		val = c->bcd ? 10000 : 0x10000;
	c->count = val;
	c->count_load_time = (s64)now;
	c->null_count = false;
	if (i == 0) {
		reset_reinject(pit);
		pit->irq0_next_ns = 0;
		schedule_irq0(pit, now);
	}
}

static void latch_count(struct pit *pit, unsigned int i, u64 now)
{
	struct pit_channel *c = &pit->ch[i];
	u32 v;

	if (c->count_latched)
		return;		/* the first latch holds until read */
	v = pit_current_count(pit, i, now);
	c->latched_count = c->bcd ? bin_to_bcd(v) : v;
	c->count_latched = c->rw_mode;
}

static void latch_status(struct pit *pit, unsigned int i, u64 now)
{
	struct pit_channel *c = &pit->ch[i];

	if (c->status_latched)
		return;
	c->status = (pit_output(pit, i, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
		    (c->rw_mode << 4) | (c->mode << 1) | c->bcd;
	c->status_latched = 1;
}

static void write_control(struct pit *pit, u8 val, u64 now)
{
	unsigned int sel = val >> 6, i;
	struct pit_channel *c;

	if (sel == 3) {				/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(pit, i, now);
			if (!(val & 0x10))
				latch_status(pit, i, now);
		}
		return;
	}
	c = &pit->ch[sel];
	if (!(val & 0x30)) {			/* counter latch */
		latch_count(pit, sel, now);
		return;
	}
	c->rw_mode = (val >> 4) & 3;
	c->mode = (val >> 1) & 7;
	c->bcd = val & 1;
	c->read_state = c->write_state = c->rw_mode;
	c->count_latched = 0;
	c->status_latched = 0;
	c->null_count = true;
	if (sel == 0)
		set_irq0_deadline(pit, 0);
}

static u8 byte_of(u32 v, u8 state)
{
	return (state == PIT_RW_MSB || state == PIT_RW_WORD1) ? v >> 8 : v;
}

static u8 read_counter(struct pit *pit, unsigned int i, u64 now)
{
	struct pit_channel *c = &pit->ch[i];
	u32 v;
	u8 b;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		b = byte_of(c->latched_count, c->count_latched);
		c->count_latched = c->count_latched == PIT_RW_WORD0 ? PIT_RW_MSB : 0;
		return b;
	}
	v = pit_current_count(pit, i, now);
	if (c->bcd)
		v = bin_to_bcd(v);
	b = byte_of(v, c->read_state);
	if (c->read_state == PIT_RW_WORD0)
		c->read_state = PIT_RW_WORD1;
	else if (c->read_state == PIT_RW_WORD1)
		c->read_state = PIT_RW_WORD0;
	return b;
}

static void write_counter(struct pit *pit, unsigned int i, u8 val, u64 now)
{
	struct pit_channel *c = &pit->ch[i];

	switch (c->write_state) {
	case PIT_RW_LSB:
		load_count(pit, i, val, now);
		break;
	case PIT_RW_MSB:
		load_count(pit, i, (u32)val << 8, now);
		break;
	case PIT_RW_WORD0:
		c->write_latch = val;
		c->write_state = PIT_RW_WORD1;
		break;
	case PIT_RW_WORD1:
		load_count(pit, i, c->write_latch | ((u32)val << 8), now);
		c->write_state = PIT_RW_WORD0;
		break;
	default:		/* no control word yet */
		break;
	}
}

static void set_gate2(struct pit *pit, bool gate, u64 now)
{
	struct pit_channel *c = &pit->ch[2];
	u8 m = ch_mode(c);

	if (gate && !c->gate && !c->null_count && (m == 1 || m == 2 || m == 3 || m == 5))
		c->count_load_time = (s64)now;	/* rising edge retriggers */
	c->gate = gate;
}

bool pit_port_read(struct pit *pit, u16 port, u8 *val, u64 now)
{
	switch (port) {
	case 0x40: case 0x41: case 0x42:
		*val = read_counter(pit, port - 0x40, now);
		return true;
	case 0x43:
		*val = 0xff;		/* the control register is write-only */
		return true;
	case 0x61:
		/* Refresh request toggles every 15.085 µs (PC/AT). */
		*val = (pit->ch[2].gate ? 1 : 0) |
		       (pit->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON ? 2 : 0) |
		       ((now / 15085) & 1 ? 0x10 : 0) |
		       (pit_output(pit, 2, now) ? 0x20 : 0);
		return true;
	default:
		return false;
	}
}

bool pit_port_write(struct pit *pit, u16 port, u8 val, u64 now)
{
	switch (port) {
	case 0x40: case 0x41: case 0x42:
		write_counter(pit, port - 0x40, val, now);
		return true;
	case 0x43:
		write_control(pit, val, now);
		return true;
	case 0x61:
		set_gate2(pit, val & 1, now);
		if (val & 2)
			pit->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
		else
			pit->flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
		return true;
	default:
		return false;
	}
}

/* ---- state ------------------------------------------------------------ */

void pit_reset(struct pit *pit, u64 now)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct pit_channel *c = &pit->ch[i];

		memset(c, 0, sizeof(*c));
		c->gate = i != 2;	/* channel 2's gate is port 0x61 bit 0 */
		c->count = 0x10000;
		c->count_load_time = (s64)now;
		c->null_count = true;
	}
	pit->flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	reset_reinject(pit);
	set_irq0_deadline(pit, 0);
}

void pit_init(struct pit *pit, u32 flags, const struct pit_ops *ops, void *opaque, u64 now)
{
	memset(pit, 0, sizeof(*pit));
	pit->ops = ops;
	pit->opaque = opaque;
	pit->reinject = true;
	pit->flags = flags & KVM_PIT_FLAGS_HPET_LEGACY;
	pit_reset(pit, now);
}

void pit_get_state(const struct pit *pit, struct kvm_pit_state2 *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < 3; i++) {
		const struct pit_channel *c = &pit->ch[i];
		struct kvm_pit_channel_state *s = &st->channels[i];

		s->count = c->count;
		s->latched_count = c->latched_count;
		s->count_latched = c->count_latched;
		s->status_latched = c->status_latched;
		s->status = c->status;
		s->read_state = c->read_state;
		s->write_state = c->write_state;
		s->write_latch = c->write_latch;
		s->rw_mode = c->rw_mode;
		s->mode = c->mode;
		s->bcd = c->bcd;
		s->gate = c->gate;
		s->count_load_time = c->count_load_time;
	}
	st->flags = pit->flags;
}

void pit_set_state(struct pit *pit, const struct kvm_pit_state2 *st, u64 now)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct pit_channel *c = &pit->ch[i];
		const struct kvm_pit_channel_state *s = &st->channels[i];

		c->count = s->count > 0x10000 ? 0x10000 : s->count;
		if (!c->count)
			c->count = 0x10000;
		c->latched_count = s->latched_count;
		c->count_latched = s->count_latched > PIT_RW_WORD0 ? 0 : s->count_latched;
		c->status_latched = !!s->status_latched;
		c->status = s->status;
		c->read_state = s->read_state > PIT_RW_WORD1 ? PIT_RW_LSB : s->read_state;
		c->write_state = s->write_state > PIT_RW_WORD1 ? PIT_RW_LSB : s->write_state;
		c->write_latch = s->write_latch;
		c->rw_mode = s->rw_mode & 3;
		c->mode = s->mode & 7;
		c->bcd = !!s->bcd;
		c->gate = i == 2 ? !!s->gate : 1;
		c->count_load_time = s->count_load_time;
		c->null_count = c->rw_mode == 0;
	}
	pit->flags = st->flags & (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON);
	reset_reinject(pit);
	pit->irq0_next_ns = 0;
	schedule_irq0(pit, now);
}
