/*
 * Keyboard: IRQ 1 reads scancode set 1 (the i8042 translates) into the BDA
 * ring (0x41E-0x43D) and the shift flags (0x417); int 16h reads that ring
 * and COM1, so a headless VM can be typed at over the serial line.
 * int 16h: 00h/10h read (waits), 01h/11h peek, 02h/12h shift flags, 03h
 * typematic (accepted), 05h store, 0Ah keyboard ID.
 * Serial input maps CR/LF to Enter, DEL/BS to Backspace, TAB, ESC; other
 * escape sequences arrive as their characters.
 */
#include "bios.h"

#define KBD_DATA 0x60
#define KBD_STATUS 0x64
#define SHIFT_R 0x01
#define SHIFT_L 0x02
#define CTRL 0x04
#define ALT 0x08

static const char plain[0x3a] =
	"\0\x1b" "1234567890-=\b\t" "qwertyuiop[]\r\0" "asdfghjkl;'`\0\\" "zxcvbnm,./\0*\0 ";
static const char shifted[0x3a] =
	"\0\x1b" "!@#$%^&*()_+\b\t" "QWERTYUIOP{}\r\0" "ASDFGHJKL:\"~\0|" "ZXCVBNM<>?\0*\0 ";

static int kbd_push(u16 key)
{
	u16 head = bda16(BDA_KBD_HEAD), tail = bda16(BDA_KBD_TAIL);
	u16 start = bda16(BDA_KBD_START), end = bda16(BDA_KBD_END);
	u16 next = (u16)(tail + 2);

	if (next >= end)
		next = start;
	if (next == head)
		return -1;                 /* full */
	*(volatile u16 *)lin(BDA + tail) = key;
	bda16(BDA_KBD_TAIL) = next;
	return 0;
}

static int kbd_peek(u16 *key, int remove)
{
	u16 head = bda16(BDA_KBD_HEAD), tail = bda16(BDA_KBD_TAIL);

	if (head == tail)
		return 0;
	*key = *(volatile u16 *)lin(BDA + head);
	if (remove) {
		head = (u16)(head + 2);
		if (head >= bda16(BDA_KBD_END))
			head = bda16(BDA_KBD_START);
		bda16(BDA_KBD_HEAD) = head;
	}
	return 1;
}

static int kbd_ring_full(void)
{
	u16 next = (u16)(bda16(BDA_KBD_TAIL) + 2);

	if (next >= bda16(BDA_KBD_END))
		next = bda16(BDA_KBD_START);
	return next == bda16(BDA_KBD_HEAD);
}

/*
 * COM1's received characters into the ring, as many as it has room for:
 * the rest wait in the UART (whose FIFO holds off the sender) instead of
 * being dropped, so a line typed faster than it is read arrives whole.
 */
static void serial_to_ring(void)
{
	int c;

	while (!kbd_ring_full() && (c = serial_getc()) >= 0) {
		u16 key;

		switch (c) {
		case '\r': case '\n': key = 0x1c0d; break;
		case 0x7f: case 0x08: key = 0x0e08; break;
		case '\t': key = 0x0f09; break;
		case 0x1b: key = 0x011b; break;
		default: {
			int sc;

			key = (u16)c;
			for (sc = 0; sc < 0x3a; sc++)
				if (plain[sc] == c || shifted[sc] == c) {
					key |= (u16)(sc << 8);
					break;
				}
		}
		}
		kbd_push(key);
	}
}

void handle_irq1(struct bregs *r)
{
	u8 sc, flags;

	(void)r;
	if (!(inb(KBD_STATUS) & 0x01))
		goto eoi;
	sc = inb(KBD_DATA);
	flags = bda8(BDA_KBD_FLAGS0);
	switch (sc & 0x7f) {
	case 0x2a: flags = (u8)((sc & 0x80) ? flags & ~SHIFT_L : flags | SHIFT_L); break;
	case 0x36: flags = (u8)((sc & 0x80) ? flags & ~SHIFT_R : flags | SHIFT_R); break;
	case 0x1d: flags = (u8)((sc & 0x80) ? flags & ~CTRL : flags | CTRL); break;
	case 0x38: flags = (u8)((sc & 0x80) ? flags & ~ALT : flags | ALT); break;
	default:
		if (sc & 0x80 || sc == 0xe0)
			break;
		if (sc < 0x3a) {
			char c = (flags & (SHIFT_L | SHIFT_R)) ? shifted[sc] : plain[sc];

			if ((flags & CTRL) && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 1);
			else if ((flags & CTRL) && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 1);
			kbd_push((u16)(sc << 8 | (u8)c));
		} else {
			kbd_push((u16)(sc << 8));   /* F-keys, cursor keys: scancode only */
		}
	}
	bda8(BDA_KBD_FLAGS0) = flags;
eoi:
	outb(0x20, 0x20);
}

void kbd_setup(void)
{
	int i;

	bda16(BDA_KBD_START) = 0x1e;
	bda16(BDA_KBD_END) = 0x3e;
	bda16(BDA_KBD_HEAD) = 0x1e;
	bda16(BDA_KBD_TAIL) = 0x1e;
	/* Drain the controller, then: keyboard interrupt on, system flag,
	 * translation to set 1, mouse port off. */
	for (i = 0; i < 16 && (inb(KBD_STATUS) & 0x01); i++)
		inb(KBD_DATA);
	for (i = 0; i < 100000 && (inb(KBD_STATUS) & 0x02); i++)
		;
	outb(KBD_STATUS, 0x60);
	for (i = 0; i < 100000 && (inb(KBD_STATUS) & 0x02); i++)
		;
	outb(KBD_DATA, 0x65);
}

void handle_16(struct bregs *r)
{
	u16 key;

	serial_to_ring();
	switch (r->ah) {
	case 0x00:
	case 0x10:
		if (!kbd_peek(&key, 1)) {
			bios_action = ACTION_WAIT;   /* sti; hlt; then ask again */
			return;
		}
		r->ax = key;
		return;
	case 0x01:
	case 0x11:
		if (kbd_peek(&key, 0)) {
			r->ax = key;
			r->flags &= ~FLAG_ZF;
		} else {
			r->flags |= FLAG_ZF;
		}
		return;
	case 0x02:
		r->al = bda8(BDA_KBD_FLAGS0);
		return;
	case 0x12:
		r->al = bda8(BDA_KBD_FLAGS0);
		r->ah = 0;
		return;
	case 0x03:
		return;
	case 0x05:
		r->al = kbd_push(r->cx) ? 1 : 0;
		return;
	case 0x0a:
		r->bx = 0xab83;                      /* MF2 keyboard */
		return;
	default:
		return;
	}
}
