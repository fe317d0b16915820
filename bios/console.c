/*
 * Text output: int 10h on the VGA text buffer (mode 3, 80x25, 8 pages at
 * 0xB8000), mirrored to COM1 (0x3F8, 115200 8N1) so a headless VM shows
 * what the screen shows.  What works: modes 2/3/7 as 80x25 text, cursor,
 * scrolling, characters and attributes, strings, the EGA/VGA
 * identification calls.  Missing: graphics modes, fonts, palettes (those
 * calls return without effect), VBE (AX=4Fxxh reports "not supported":
 * AL != 4Fh).
 *
 * Without a display controller (PCI class 0300h) on bus 0 the screen lives
 * in RAM and only COM1 shows it.
 *
 * When the VGA card brings its own BIOS (a PCI option ROM, vga_rom_init),
 * that BIOS owns int 10h and the screen; ours then only mirrors the text
 * to COM1 (handle_10_mirror, called before the card's handler).
 */
#include "bios.h"

#define COM1 0x3f8
#define VGA_TEXT 0xb8000
#define COLS 80
#define ROWS 25
#define PAGE_BYTES 0x1000

static int serial_ok;
/* Where the serial terminal's cursor is, in screen coordinates, so that
 * characters written at a cursor position (AH=09h/0Ah, as syslinux's
 * console does) come out on the serial line in the right place too. */
static u8 srow, scol;

void serial_init(void)
{
	outb(COM1 + 1, 0x00);      /* no interrupts */
	outb(COM1 + 3, 0x80);      /* DLAB */
	outb(COM1 + 0, 0x01);      /* divisor 1: 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);      /* 8N1 */
	outb(COM1 + 2, 0x07);      /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);      /* DTR, RTS */
	serial_ok = inb(COM1 + 5) != 0xff;
}

void serial_putc(char c)
{
	int i;

	if (!serial_ok)
		return;
	for (i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (u8)c);
}

int serial_getc(void)
{
	if (!serial_ok || !(inb(COM1 + 5) & 0x01))
		return -1;
	return inb(COM1);
}

static void serial_move_to(u8 row, u8 col)
{
	int n;

	if (row != srow) {
		for (n = row > srow ? row - srow : 1; n > 0; n--) {
			serial_putc('\r');
			serial_putc('\n');
		}
		srow = row;
		scol = 0;
	}
	if (col < scol) {
		serial_putc('\r');
		scol = 0;
	}
	for (; scol < col && scol < 80; scol++)
		serial_putc(' ');
}

static void serial_char_at(u8 row, u8 col, u8 ch)
{
	serial_move_to(row, col);
	serial_putc((char)(ch >= 32 && ch < 127 ? ch : ' '));
	scol++;
}

/* Without a display controller there is no text buffer: the screen is
 * kept in RAM instead (one page), so the int 10h logic is the same and a
 * VM without VGA pays no MMIO exit per character. */
static int vga_present;
static u16 text_shadow[ROWS * COLS];

static volatile u16 *cell(u8 page, u8 row, u8 col)
{
	if (!vga_present)
		return &text_shadow[row * COLS + col];
	return (volatile u16 *)lin(VGA_TEXT + page * PAGE_BYTES + (row * COLS + col) * 2);
}

static void crtc_write(u8 reg, u8 v)
{
	if (!vga_present)
		return;
	outb(0x3d4, reg);
	outb(0x3d5, v);
}

static void update_hw_cursor(void)
{
	u8 page = bda8(BDA_VIDEO_PAGE);
	u16 pos = bda16(BDA_CURSOR_POS + page * 2);
	u16 off = (u16)(page * PAGE_BYTES / 2 + (pos >> 8) * COLS + (pos & 0xff));

	crtc_write(0x0e, (u8)(off >> 8));
	crtc_write(0x0f, (u8)off);
}

static void get_cursor(u8 page, u8 *row, u8 *col)
{
	u16 pos = bda16(BDA_CURSOR_POS + (page & 7) * 2);

	*row = (u8)(pos >> 8);
	*col = (u8)pos;
}

static void set_cursor(u8 page, u8 row, u8 col)
{
	bda16(BDA_CURSOR_POS + (page & 7) * 2) = (u16)(row << 8 | col);
	if ((page & 7) == bda8(BDA_VIDEO_PAGE))
		update_hw_cursor();
}

/* Scroll the window (r0,c0)-(r1,c1) of `page` up (n > 0) or down (n < 0);
 * n == 0 or |n| > height clears it.  New lines get attribute attr. */
static void scroll(u8 page, int n, u8 attr, u8 r0, u8 c0, u8 r1, u8 c1)
{
	int h, r, c;

	if (r1 >= ROWS)
		r1 = ROWS - 1;
	if (c1 >= COLS)
		c1 = COLS - 1;
	if (r0 > r1 || c0 > c1)
		return;
	h = r1 - r0 + 1;
	if (n == 0 || n >= h || -n >= h)
		n = h;
	if (n > 0) {
		for (r = r0; r <= r1; r++)
			for (c = c0; c <= c1; c++)
				*cell(page, (u8)r, (u8)c) = r + n <= r1 ?
					*cell(page, (u8)(r + n), (u8)c) : (u16)(attr << 8 | ' ');
	} else {
		n = -n;
		for (r = r1; r >= r0; r--)
			for (c = c0; c <= c1; c++)
				*cell(page, (u8)r, (u8)c) = r - n >= r0 ?
					*cell(page, (u8)(r - n), (u8)c) : (u16)(attr << 8 | ' ');
	}
}

static void teletype(u8 page, char ch, int attr)
{
	u8 row, col;

	page &= 7;
	get_cursor(page, &row, &col);
	switch (ch) {
	case 7:
		break;
	case 8:
		if (col)
			col--;
		break;
	case '\r':
		col = 0;
		break;
	case '\n':
		row++;
		break;
	case '\t':
		do {
			*cell(page, row, col) = (u16)((*cell(page, row, col) & 0xff00) | ' ');
			col++;
		} while (col % 8 && col < COLS);
		break;
	default:
		if (attr >= 0)
			*cell(page, row, col) = (u16)(attr << 8 | (u8)ch);
		else
			*cell(page, row, col) = (u16)((*cell(page, row, col) & 0xff00) | (u8)ch);
		col++;
	}
	if (col >= COLS) {
		col = 0;
		row++;
	}
	if (row >= ROWS) {
		scroll(page, 1, 0x07, 0, 0, ROWS - 1, COLS - 1);
		row = ROWS - 1;
	}
	set_cursor(page, row, col);
}

/* A character as teletype output at (row, col): the serial cursor goes
 * there, the character goes out, and the serial cursor moves the way the
 * screen's does. */
static void serial_tty(u8 row, u8 col, u8 ch)
{
	serial_move_to(row, col);
	serial_putc((char)ch);
	switch (ch) {
	case '\r':
		scol = 0;
		break;
	case '\n':
		if (srow < ROWS - 1)
			srow++;
		break;
	case 8:
		if (scol)
			scol--;
		break;
	case 7:
		break;
	case '\t':
		scol = (u8)((scol + 8) & ~7);
		if (scol >= COLS)
			scol = COLS - 1;
		break;
	default:
		if (++scol >= COLS) {
			scol = 0;
			if (srow < ROWS - 1)
				srow++;
		}
	}
}

static void serial_tty_at_cursor(u8 ch)
{
	u8 row, col;

	get_cursor(bda8(BDA_VIDEO_PAGE), &row, &col);
	serial_tty(row, col, ch);
}

/* POST messages, kept to show them again once a VGA BIOS has cleared the
 * screen. */
static char post_log[2048];
static u32 post_log_len;
static int post_logging = 1;

void console_putc(char c)
{
	serial_tty_at_cursor((u8)c);
	teletype(bda8(BDA_VIDEO_PAGE), c, -1);
	if (post_logging && post_log_len < sizeof(post_log))
		post_log[post_log_len++] = c;
}

void console_replay_post_log(void)
{
	u32 i;

	for (i = 0; i < post_log_len; i++)
		teletype(bda8(BDA_VIDEO_PAGE), post_log[i], -1);
	/* the serial line has all of it already */
	get_cursor(bda8(BDA_VIDEO_PAGE), &srow, &scol);
}

/* POST's output ends its lines, so the serial terminal is at the start of
 * one: a mode set now needs no new line there. */
void console_serial_home(void)
{
	srow = scol = 0;
}

void console_end_post(void)
{
	post_logging = 0;
}

/* The serial side of an int 10h call, before the screen side. */
void handle_10_mirror(struct bregs *r)
{
	u8 row, col, page = bda8(BDA_VIDEO_PAGE);
	u32 i;

	switch (r->ah) {
	case 0x00:
		if (!(r->al & 0x80) && (srow || scol)) {
			serial_putc('\r');
			serial_putc('\n');
		}
		srow = scol = 0;
		break;
	case 0x06:
		if (r->ch == 0 && r->dh >= ROWS - 1) {
			/* the whole height moves up: so does the serial cursor's row */
			u8 n = (r->al == 0 || r->al >= ROWS) ? ROWS : r->al;

			srow = srow >= n ? (u8)(srow - n) : 0;
		}
		break;
	case 0x09:
	case 0x0a:
		if ((r->bh & 7) != page)
			break;
		get_cursor(page, &row, &col);
		for (i = 0; i < r->cx && col + i < COLS; i++)
			serial_char_at(row, (u8)(col + i), r->al);
		break;
	case 0x0e:
		if ((r->bh & 7) == page || r->bh == 0)
			serial_tty_at_cursor(r->al);
		break;
	case 0x13: {
		u8 *p = far_ptr(r->es, r->bp);

		if ((r->bh & 7) != page)
			break;
		row = r->dh;
		col = r->dl;
		for (i = 0; i < r->cx; i++) {
			u8 ch = *p++;

			if (r->al & 2)
				p++;
			serial_tty(row, col, ch);
			row = srow;
			col = scol;
		}
		break;
	}
	}
}

static void set_mode(u8 mode)
{
	int clear = !(mode & 0x80);
	int p;

	mode &= 0x7f;
	bda8(BDA_VIDEO_MODE) = (mode == 7 || mode == 2) ? mode : 3;
	bda16(BDA_VIDEO_COLS) = COLS;
	bda16(BDA_VIDEO_PAGESIZE) = PAGE_BYTES;
	bda16(BDA_VIDEO_PAGESTART) = 0;
	bda8(BDA_VIDEO_PAGE) = 0;
	bda16(BDA_CRTC_BASE) = 0x3d4;
	bda8(BDA_VIDEO_ROWS) = ROWS - 1;
	bda16(BDA_CHAR_HEIGHT) = 16;
	bda16(BDA_CURSOR_SHAPE) = 0x0607;
	for (p = 0; p < 8; p++)
		bda16(BDA_CURSOR_POS + p * 2) = 0;
	if (clear)
		for (p = 0; p < ROWS * COLS; p++)
			*cell(0, (u8)(p / COLS), (u8)(p % COLS)) = 0x0720;
	crtc_write(0x0c, 0);       /* display start: page 0 */
	crtc_write(0x0d, 0);
	update_hw_cursor();
}

void console_init(void)
{
	int bdf;

	for (bdf = 0; bdf < 256 && !vga_present; bdf++)
		vga_present = pci_read16((u16)bdf, 0) != 0xffff &&
			      pci_read16((u16)bdf, 0x0a) == 0x0300;
	set_mode(3);
}

void handle_10(struct bregs *r)
{
	u8 row, col;

	handle_10_mirror(r);
	switch (r->ah) {
	case 0x00:
		set_mode(r->al);
		r->al = (r->al & 0x7f) > 7 ? 0x20 : 0x30;
		break;
	case 0x01:
		bda16(BDA_CURSOR_SHAPE) = r->cx;
		crtc_write(0x0a, r->ch);
		crtc_write(0x0b, r->cl);
		break;
	case 0x02:
		set_cursor(r->bh, r->dh, r->dl);
		break;
	case 0x03:
		get_cursor(r->bh, &row, &col);
		r->dh = row;
		r->dl = col;
		r->cx = bda16(BDA_CURSOR_SHAPE);
		break;
	case 0x05:
		bda8(BDA_VIDEO_PAGE) = r->al & 7;
		bda16(BDA_VIDEO_PAGESTART) = (u16)((r->al & 7) * PAGE_BYTES);
		crtc_write(0x0c, (u8)(((r->al & 7) * PAGE_BYTES / 2) >> 8));
		crtc_write(0x0d, 0);
		update_hw_cursor();
		break;
	case 0x06:
	case 0x07:
		scroll(bda8(BDA_VIDEO_PAGE), r->ah == 0x06 ? r->al : -(int)r->al, r->bh,
		       r->ch, r->cl, r->dh, r->dl);
		break;
	case 0x08:
		get_cursor(r->bh, &row, &col);
		r->ax = *cell(r->bh & 7, row, col);
		break;
	case 0x09:
	case 0x0a: {
		u32 i, pos;

		get_cursor(r->bh, &row, &col);
		pos = row * COLS + col;
		for (i = 0; i < r->cx && pos + i < ROWS * COLS; i++) {
			volatile u16 *c = cell(r->bh & 7, 0, 0) + pos + i;

			*c = r->ah == 0x09 ? (u16)(r->bl << 8 | r->al) : (u16)((*c & 0xff00) | r->al);
		}
		break;
	}
	case 0x0e:
		teletype(r->bh, (char)r->al, -1);
		break;
	case 0x0f:
		r->al = bda8(BDA_VIDEO_MODE);
		r->ah = COLS;
		r->bh = bda8(BDA_VIDEO_PAGE);
		break;
	case 0x11:
		if (r->al == 0x30) {   /* font information */
			r->cx = bda16(BDA_CHAR_HEIGHT);
			r->dl = bda8(BDA_VIDEO_ROWS);
			r->es = 0;
			r->bp = 0;
		}
		break;
	case 0x12:
		if (r->bl == 0x10) {   /* EGA information: colour, 256 KiB */
			r->bh = 0;
			r->bl = 3;
			r->cx = 0x0009;
		}
		break;
	case 0x13: {               /* write string */
		u8 *s = far_ptr(r->es, r->bp);
		u8 page = r->bh & 7, orow, ocol;
		u32 i;

		get_cursor(page, &orow, &ocol);
		set_cursor(page, r->dh, r->dl);
		for (i = 0; i < r->cx; i++) {
			u8 ch = *s++;
			u8 attr = r->bl;

			if (r->al & 2)
				attr = *s++;
			teletype(page, (char)ch, (ch < 32) ? -1 : attr);
		}
		if (!(r->al & 1))
			set_cursor(page, orow, ocol);
		break;
	}
	case 0x1a:
		if (r->al == 0x00) {   /* display combination: VGA colour */
			r->al = 0x1a;
			r->bl = 0x08;
			r->bh = 0x00;
		}
		break;
	default:
		/* palettes, fonts, graphics and VBE (4Fxx): not supported; AL is
		 * left as it was, which VBE callers read as "not supported". */
		break;
	}
}
