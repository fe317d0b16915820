/* String functions, formatted output and PIT-based delays. */
#include "bios.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* ---- formatting: %s %c %d %u %x %X with width/zero padding, l/ll ---- */
struct out {
	char *buf;
	size_t len, pos;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_num(struct out *o, u64 v, unsigned base, int width, char pad, int upper)
{
	char tmp[24];
	int n = 0;

	do {
		unsigned d;
		u64 q;

		/* 64-bit division without libgcc: base is 10 or 16 */
		if (base == 16) {
			d = v & 15;
			q = v >> 4;
		} else {
			u32 hi = (u32)(v >> 32), lo = (u32)v, rhi = hi % 10;
			u32 qlo = 0;
			int i;

			/* long division of (rhi:lo) by 10, bit by bit */
			for (i = 31; i >= 0; i--) {
				qlo <<= 1;
				rhi = (rhi << 1) | ((lo >> i) & 1);
				if (rhi >= 10) {
					rhi -= 10;
					qlo |= 1;
				}
			}
			d = rhi;
			q = ((u64)(hi / 10) << 32) | qlo;
		}
		tmp[n++] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
		v = q;
	} while (v);
	while (n < width--)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct out o = { buf, len, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		u64 v;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = (int)strlen(s);

			while (n < width--)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t sv = lng >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int);

			if (sv < 0) {
				put(&o, '-');
				sv = -sv;
			}
			put_num(&o, (u64)sv, 10, width, pad, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng >= 2 ? va_arg(ap, u64) : va_arg(ap, u32);
			put_num(&o, v, *fmt == 'u' ? 10 : 16, width, pad, *fmt == 'X');
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
		}
	}
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = 0;
	return (int)o.pos;
}

int snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

void printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (p = buf; *p; p++) {
		if (*p == '\n')
			console_putc('\r');
		console_putc(*p);
	}
}

/* ---- time ----
 * The PIT (channel 0, counting down from 65536 at 1.193182 MHz) is the
 * reference; POST measures the TSC against it once, and deadlines then read
 * the TSC, which costs a VM no exit (port reads of the PIT each do). */
#define PIT_HZ 1193182u

static u32 tsc_per_ms;     /* 0: no TSC, deadlines poll the PIT */

static u16 pit_count(void)
{
	u8 lo, hi;

	outb(0x43, 0x00);          /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (u16)(lo | hi << 8);
}

static u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (u64)hi << 32;
}

static void pit_wait_ticks(u32 ticks)
{
	u16 last = pit_count();

	while (ticks) {
		u16 now = pit_count(), passed = (u16)(last - now);

		last = now;
		if (passed >= ticks)
			break;
		ticks -= passed;
	}
}

void pit_init(void)
{
	u32 a, b, c, d;
	u64 t0, t1;

	outb(0x43, 0x34);          /* channel 0, lo/hi, mode 2 (rate generator) */
	outb(0x40, 0);
	outb(0x40, 0);             /* count 65536: 18.2 Hz */
	cpuid(1, &a, &b, &c, &d);
	if (!(d & (1 << 4)))
		return;
	t0 = rdtsc();
	pit_wait_ticks(PIT_HZ / 100);   /* 10 ms */
	t1 = rdtsc();
	if (t1 - t0 < 10000 || t1 - t0 > 0xffffffffull)
		return;                  /* a TSC below 1 MHz or above 400 GHz: not used */
	tsc_per_ms = (u32)(t1 - t0) / 10;
}

void deadline_start(struct deadline *d, u32 ms)
{
	if (tsc_per_ms) {
		d->tsc_end = rdtsc() + (u64)ms * tsc_per_ms;
		return;
	}
	d->left_ticks = ms * (PIT_HZ / 1000) + 1;
	d->last = pit_count();
}

int deadline_expired(struct deadline *d)
{
	u16 now, passed;

	if (tsc_per_ms)
		return rdtsc() >= d->tsc_end;
	now = pit_count();
	passed = (u16)(d->last - now);   /* counts down, wraps at 65536 */
	d->last = now;
	if (passed >= d->left_ticks)
		return 1;
	d->left_ticks -= passed;
	return 0;
}

void udelay(u32 us)
{
	if (tsc_per_ms) {
		u64 end = rdtsc() + (u64)us * (tsc_per_ms / 1000 + 1);

		while (rdtsc() < end)
			;
		return;
	}
	pit_wait_ticks(us + us / 5 + 1);   /* 1.2 PIT ticks per microsecond */
}
