/*
 * Memory: the e820 map (from fw_cfg etc/e820, else the CMOS sizes QEMU and
 * kvm-run write), the two allocation zones the ACPI loader asks for, and
 * the memory services of int 15h (E820h, E801h, 88h, 87h), with the rest of
 * int 15h: A20 (24xxh), system configuration (C0h), wait (86h).
 *
 * Layout below 1 MiB: 0-0x9FBFF RAM, 0x9FC00 1 KiB EBDA, 0xE0000-0xFFFFF
 * this BIOS (reserved).  The "high" zone for ACPI tables is the top 256 KiB
 * of RAM below 4 GiB, reserved.
 */
#include "bios.h"

#define HIGH_ZONE_SIZE (256 * 1024)
#define FSEG_POOL_SIZE 8192

struct e820_map e820;
static u32 high_next, high_end;
static u8 fseg_pool[FSEG_POOL_SIZE] __attribute__((section(".fseg"), aligned(16)));
static u32 fseg_next;

static u8 cmos_read(u8 reg)
{
	outb(0x70, reg | 0x80);  /* NMI stays disabled while we look */
	return inb(0x71);
}

static void e820_from_cmos(void)
{
	u32 ext_kb = cmos_read(0x30) | cmos_read(0x31) << 8;
	u32 above16 = cmos_read(0x34) | cmos_read(0x35) << 8;
	u64 above4g = (u64)(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16) << 16;
	u64 low = above16 ? 0x1000000 + ((u64)above16 << 16) : 0x100000 + ((u64)ext_kb << 10);

	e820_add(&e820, 0, low, E820_RAM);
	if (above4g)
		e820_add(&e820, 0x100000000ull, above4g, E820_RAM);
}

void memory_setup(void)
{
	u8 buf[20 * E820_MAX];
	int n, i;
	u64 top;

	e820_init(&e820);
	n = fwcfg_read_file("etc/e820", buf, sizeof(buf));
	if (n >= 20) {
		for (i = 0; i + 20 <= n && i < (int)sizeof(buf); i += 20) {
			u64 start, size;
			u32 type;

			memcpy(&start, buf + i, 8);
			memcpy(&size, buf + i + 8, 8);
			memcpy(&type, buf + i + 16, 4);
			e820_add(&e820, start, size, type);
		}
	} else {
		e820_from_cmos();
	}
	/* the legacy holes, whatever the source said */
	e820_add(&e820, EBDA_BASE, 0xa0000 - EBDA_BASE, E820_RESERVED);
	e820_add(&e820, 0xa0000, 0x40000, E820_HOLE);
	e820_add(&e820, 0xe0000, 0x20000, E820_RESERVED);
	e820_add(&e820, 0xfffe0000ull, 0x20000, E820_RESERVED);  /* the BIOS at 4 GiB */

	top = e820_ram_end_from(&e820, 0x100000);
	if (top >= 0x100000 + 2 * HIGH_ZONE_SIZE) {
		high_end = (u32)top;
		high_next = high_end - HIGH_ZONE_SIZE;
		e820_add(&e820, high_next, HIGH_ZONE_SIZE, E820_RESERVED);
	}
	bda16(BDA_MEMSIZE_KB) = EBDA_BASE >> 10;
	bda16(BDA_EBDA_SEG) = EBDA_BASE >> 4;
	memset(lin(EBDA_BASE), 0, 0x400);
	*(u8 *)lin(EBDA_BASE) = 1;       /* EBDA size in KiB */
	fseg_next = (u32)(uintptr_t)fseg_pool;
}

static u32 align_up(u32 v, u32 a)
{
	return (v + a - 1) & ~(a - 1);
}

u32 high_alloc(u32 size, u32 align)
{
	u32 a;

	if (!high_end || align == 0)
		return 0;
	a = align_up(high_next, align < 16 ? 16 : align);
	if (a < high_next || a + size > high_end || a + size < a)
		return 0;
	high_next = a + size;
	memset(lin(a), 0, size);
	return a;
}

u32 fseg_alloc(u32 size, u32 align)
{
	u32 end = (u32)(uintptr_t)fseg_pool + FSEG_POOL_SIZE, a;

	a = align_up(fseg_next, align < 16 ? 16 : align);
	if (a + size > end || a + size < a)
		return 0;
	fseg_next = a + size;
	memset(lin(a), 0, size);
	return a;
}

/* int 15h C0h: the system configuration table */
static u8 sys_config[] __attribute__((section(".fseg"), aligned(16))) = {
	8, 0,       /* bytes that follow */
	0xfc,       /* model: AT */
	0x00,       /* submodel */
	0x00,       /* BIOS revision */
	0x64,       /* feature 1: second 8259, RTC, EBDA allocated */
	0x00, 0x00, 0x00, 0x00,
};

static void unsupported(struct bregs *r)
{
	r->ah = 0x86;
	set_cf(r, 1);
}

static void block_move(struct bregs *r)
{
	u8 *gdt = far_ptr(r->es, r->si);
	u8 *src_d = gdt + 0x10, *dst_d = gdt + 0x18;
	u32 src = src_d[2] | src_d[3] << 8 | src_d[4] << 16 | (u32)src_d[7] << 24;
	u32 dst = dst_d[2] | dst_d[3] << 8 | dst_d[4] << 16 | (u32)dst_d[7] << 24;
	u32 len = (u32)r->cx * 2;

	if (r->cx > 0x8000) {
		r->ah = 0x01;
		set_cf(r, 1);
		return;
	}
	memmove(lin(dst), lin(src), len);
	r->ah = 0;
	set_cf(r, 0);
}

void handle_15(struct bregs *r)
{
	switch (r->ah) {
	case 0x24:
		switch (r->al) {
		case 0x00:
		case 0x01:
			outb(0x92, (u8)((inb(0x92) & ~0x03) | (r->al ? 0x02 : 0)));
			r->ah = 0;
			set_cf(r, 0);
			return;
		case 0x02:
			r->al = (inb(0x92) >> 1) & 1;
			r->ah = 0;
			set_cf(r, 0);
			return;
		case 0x03:
			r->bx = 0x0003;  /* keyboard controller and port 92h */
			r->ah = 0;
			set_cf(r, 0);
			return;
		}
		unsupported(r);
		return;
	case 0x4f:          /* keyboard intercept: keep the scancode */
		set_cf(r, 1);
		return;
	case 0x86: {        /* wait CX:DX microseconds */
		u32 us = (u32)r->cx << 16 | r->dx;

		while (us) {
			u32 step = us > 10000 ? 10000 : us;

			udelay(step);
			us -= step;
		}
		r->ah = 0;
		set_cf(r, 0);
		return;
	}
	case 0x87:
		block_move(r);
		return;
	case 0x88: {
		u64 end = e820_ram_end_from(&e820, 0x100000);
		u32 kb = (u32)((end - 0x100000) >> 10);

		r->ax = (u16)(kb > 0xfc00 ? 0xfc00 : kb);
		set_cf(r, 0);
		return;
	}
	case 0x90:
	case 0x91:          /* device busy / interrupt complete */
		r->ah = 0;
		set_cf(r, 0);
		return;
	case 0xc0:
		r->es = (u16)(((u32)(uintptr_t)sys_config) >> 4);
		r->bx = (u16)(((u32)(uintptr_t)sys_config) & 15);
		r->ah = 0;
		set_cf(r, 0);
		return;
	case 0xe8:
		if (r->al == 0x01) {
			u32 kb, blocks;

			e820_e801(&e820, &kb, &blocks);
			r->ax = r->cx = (u16)kb;
			r->bx = r->dx = (u16)blocks;
			set_cf(r, 0);
			return;
		}
		if (r->al == 0x20 && r->edx == 0x534d4150 && r->ecx >= 20) {
			u32 i = r->ebx;
			struct e820_entry *dst = far_ptr(r->es, r->di);

			if (i >= (u32)e820.count) {
				unsupported(r);
				return;
			}
			memcpy(dst, &e820.e[i], 20);
			r->eax = 0x534d4150;
			r->ecx = 20;
			r->ebx = i + 1 < (u32)e820.count ? i + 1 : 0;
			set_cf(r, 0);
			return;
		}
		unsupported(r);
		return;
	default:
		/* APM (53h), PS/2 mouse (C2h) and the rest: not supported */
		unsupported(r);
	}
}

void handle_12(struct bregs *r)
{
	r->ax = bda16(BDA_MEMSIZE_KB);
}

void handle_11(struct bregs *r)
{
	r->ax = bda16(BDA_EQUIPMENT);
}
