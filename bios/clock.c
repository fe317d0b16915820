/*
 * Time: the BDA tick count (IRQ 0 in entry.asm, 18.2 Hz from the PIT),
 * set from the RTC at POST; int 1Ah 00h-05h (ticks, RTC time and date in
 * BCD as the CMOS keeps them) and B1xxh (the PCI BIOS, pci.c).
 */
#include "bios.h"

static u8 cmos_get(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_set(u8 reg, u8 v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static int rtc_wait_update(void)
{
	struct deadline t;

	deadline_start(&t, 20);
	while (cmos_get(0x0a) & 0x80)
		if (deadline_expired(&t))
			return -1;
	return 0;
}

static u32 bcd(u8 v, int binary)
{
	return binary ? v : (u32)((v >> 4) * 10 + (v & 15));
}

void clock_setup(void)
{
	u8 b = cmos_get(0x0b);
	int bin = b & 0x04;
	u32 secs, ticks;

	/* 24-hour mode, no RTC interrupts; keep the data format the CMOS has */
	cmos_set(0x0b, (u8)((b | 0x02) & ~0x70));
	rtc_wait_update();
	secs = bcd(cmos_get(0x04), bin) * 3600 + bcd(cmos_get(0x02), bin) * 60 +
	       bcd(cmos_get(0x00), bin);
	ticks = (u32)(((u64)secs * 1193182) >> 16);   /* seconds * 18.2065 */
	bda32(BDA_TICKS) = ticks;
	bda8(BDA_MIDNIGHT) = 0;
}

void handle_1a(struct bregs *r)
{
	switch (r->ah) {
	case 0x00:
		r->cx = (u16)(bda32(BDA_TICKS) >> 16);
		r->dx = (u16)bda32(BDA_TICKS);
		r->al = bda8(BDA_MIDNIGHT);
		bda8(BDA_MIDNIGHT) = 0;
		set_cf(r, 0);
		return;
	case 0x01:
		bda32(BDA_TICKS) = (u32)r->cx << 16 | r->dx;
		bda8(BDA_MIDNIGHT) = 0;
		set_cf(r, 0);
		return;
	case 0x02:
		if (rtc_wait_update()) {
			set_cf(r, 1);
			return;
		}
		r->ch = cmos_get(0x04);
		r->cl = cmos_get(0x02);
		r->dh = cmos_get(0x00);
		r->dl = (cmos_get(0x0b) & 0x01) ? 1 : 0;
		set_cf(r, 0);
		return;
	case 0x03:
		rtc_wait_update();
		cmos_set(0x04, r->ch);
		cmos_set(0x02, r->cl);
		cmos_set(0x00, r->dh);
		cmos_set(0x0b, (u8)((cmos_get(0x0b) & ~0x01) | (r->dl & 1)));
		set_cf(r, 0);
		return;
	case 0x04:
		if (rtc_wait_update()) {
			set_cf(r, 1);
			return;
		}
		r->ch = cmos_get(0x32);
		r->cl = cmos_get(0x09);
		r->dh = cmos_get(0x08);
		r->dl = cmos_get(0x07);
		set_cf(r, 0);
		return;
	case 0x05:
		rtc_wait_update();
		cmos_set(0x32, r->ch);
		cmos_set(0x09, r->cl);
		cmos_set(0x08, r->dh);
		cmos_set(0x07, r->dl);
		set_cf(r, 0);
		return;
	case 0xb1:
		handle_pcibios(r);
		return;
	default:
		r->ah = 0x86;
		set_cf(r, 1);
	}
}
