/*
 * Hard disks: an ATA PIO driver for the two legacy IDE channels (0x1F0/
 * 0x3F6, 0x170/0x376, polled with interrupts off through nIEN; READ/WRITE
 * MULTIPLE in blocks of up to 16 sectors when the drive has multiple mode)
 * and int 13h on top of it for BIOS drives 80h.. in probe order.
 *
 * int 13h: 00h reset, 01h status, 02h/03h CHS read/write, 04h verify,
 * 08h parameters, 0Ch seek, 0Dh reset, 10h ready, 11h recalibrate, 15h
 * type, 41h EDD check (version 3.0), 42h/43h extended read/write (also
 * 64-bit flat buffers), 44h verify, 47h seek, 48h parameters (EDD 3.0 with
 * the PCI/ATA device path).  No floppies and no ATAPI/CD boot: those calls
 * fail with AH=01h.
 */
#include "bios.h"

#define MAX_DISKS 4
#define ATA_SR_ERR 0x01
#define ATA_SR_DRQ 0x08
#define ATA_SR_DF 0x20
#define ATA_SR_BSY 0x80
#define ATA_ER_UNC 0x40
#define ATA_ER_IDNF 0x10
#define ATA_ER_ABRT 0x04

/* int 13h status codes */
#define DISK_OK 0x00
#define DISK_BAD_PARAM 0x01
#define DISK_NOT_FOUND 0x04
#define DISK_WRITE_PROTECT 0x03
#define DISK_CONTROLLER 0x20
#define DISK_ECC 0x10
#define DISK_TIMEOUT 0x80
#define DISK_NOT_READY 0xaa

struct disk {
	u16 cmd, ctl;      /* channel ports */
	u8 slave;
	u8 lba48;
	u64 sectors;
	u8 multiple;       /* sectors per DRQ block (READ/WRITE MULTIPLE), 0: off */
	struct chs geom;   /* what int 13h presents */
	char model[41];
	u8 channel;
};

static struct disk disks[MAX_DISKS];
int ndisks;

static u8 ata_status(struct disk *d)
{
	return inb((u16)(d->cmd + 7));
}

/* Wait until !BSY; with `drq`, until DRQ or an error.  Returns the status,
 * or -1 on timeout.  A busy drive is asked again after a pause that doubles
 * up to 256 us: every status read is a VM exit, and a drive that reads
 * its image asynchronously (QEMU's IDE) is otherwise polled thousands of
 * times a sector. */
static int ata_wait(struct disk *d, int drq, u32 ms)
{
	struct deadline t;
	u32 pause = 2;

	deadline_start(&t, ms);
	for (;;) {
		u8 s = ata_status(d);

		if (!(s & ATA_SR_BSY)) {
			if (!drq || (s & (ATA_SR_DRQ | ATA_SR_ERR | ATA_SR_DF)))
				return s;
		}
		if (deadline_expired(&t))
			return -1;
		udelay(pause);
		if (pause < 256)
			pause *= 2;
	}
}

static void ata_select(struct disk *d, u8 bits)
{
	outb((u16)(d->cmd + 6), (u8)(0xa0 | (d->slave << 4) | bits));
	inb(d->ctl); inb(d->ctl); inb(d->ctl); inb(d->ctl);   /* 400 ns */
}

static u8 ata_error_code(struct disk *d, int status)
{
	u8 err;

	if (status < 0)
		return DISK_TIMEOUT;
	err = inb((u16)(d->cmd + 1));
	if (err & ATA_ER_IDNF)
		return DISK_NOT_FOUND;
	if (err & ATA_ER_UNC)
		return DISK_ECC;
	return DISK_CONTROLLER;
}

static void ata_setup_lba(struct disk *d, u64 lba, u32 count, int ext)
{
	u16 p = d->cmd;

	if (ext) {
		ata_select(d, 0x40);
		outb((u16)(p + 2), (u8)(count >> 8));
		outb((u16)(p + 3), (u8)(lba >> 24));
		outb((u16)(p + 4), (u8)(lba >> 32));
		outb((u16)(p + 5), (u8)(lba >> 40));
		outb((u16)(p + 2), (u8)count);
		outb((u16)(p + 3), (u8)lba);
		outb((u16)(p + 4), (u8)(lba >> 8));
		outb((u16)(p + 5), (u8)(lba >> 16));
	} else {
		ata_select(d, (u8)(0x40 | ((lba >> 24) & 0x0f)));
		outb((u16)(p + 2), (u8)count);   /* 256 is written as 0 */
		outb((u16)(p + 3), (u8)lba);
		outb((u16)(p + 4), (u8)(lba >> 8));
		outb((u16)(p + 5), (u8)(lba >> 16));
	}
}

/* Transfers up to 256 sectors; *done counts those moved.  Returns a
 * DISK_* code.  With multiple mode on, READ/WRITE MULTIPLE move a DRQ block
 * of d->multiple sectors per status check (one string I/O of up to 8 KiB
 * instead of one per sector: fewer VM exits). */
static u8 ata_rw_chunk(struct disk *d, u64 lba, u32 count, u8 *buf, int write, u32 *done)
{
	static const u8 cmds[2][2][2] = {
		/* [multiple][ext][write] */
		{ { 0x20, 0x30 }, { 0x24, 0x34 } },   /* READ/WRITE SECTORS (EXT) */
		{ { 0xc4, 0xc5 }, { 0x29, 0x39 } },   /* READ/WRITE MULTIPLE (EXT) */
	};
	int ext = lba + count > 0x0fffffff;
	u32 block = d->multiple ? d->multiple : 1;
	int s;
	u32 i, n;

	if (ext && !d->lba48)
		return DISK_NOT_FOUND;
	if (ata_wait(d, 0, 2000) < 0)
		return DISK_TIMEOUT;
	ata_setup_lba(d, lba, count, ext);
	outb((u16)(d->cmd + 7), cmds[d->multiple != 0][ext][write != 0]);
	for (i = 0; i < count; i += n) {
		n = count - i < block ? count - i : block;
		s = ata_wait(d, 1, 5000);
		if (s < 0)
			return DISK_TIMEOUT;
		if (s & (ATA_SR_ERR | ATA_SR_DF))
			return ata_error_code(d, s);
		if (!(s & ATA_SR_DRQ))
			return DISK_CONTROLLER;
		if (write)
			outsw(d->cmd, buf + i * 512, 256 * n);
		else
			insw(d->cmd, buf + i * 512, 256 * n);
		*done += n;
	}
	s = ata_wait(d, 0, 5000);
	if (s < 0)
		return DISK_TIMEOUT;
	if (s & (ATA_SR_ERR | ATA_SR_DF))
		return ata_error_code(d, s);
	return DISK_OK;
}

static u8 ata_flush(struct disk *d)
{
	int s;

	ata_select(d, 0);
	outb((u16)(d->cmd + 7), d->lba48 ? 0xea : 0xe7);
	s = ata_wait(d, 0, 30000);
	if (s < 0)
		return DISK_TIMEOUT;
	return (s & (ATA_SR_ERR | ATA_SR_DF)) ? DISK_CONTROLLER : DISK_OK;
}

static u8 disk_rw(struct disk *d, u64 lba, u32 count, u8 *buf, int write, u32 *done)
{
	u8 ret = DISK_OK;

	*done = 0;
	if (lba > d->sectors || count > d->sectors - lba)
		return DISK_NOT_FOUND;
	while (count && ret == DISK_OK) {
		u32 n = count > 256 ? 256 : count;
		u32 before = *done;

		ret = ata_rw_chunk(d, lba, n, buf, write, done);
		lba += *done - before;
		buf += (*done - before) * 512;
		count -= *done - before;
	}
	if (write && *done && ret == DISK_OK)
		ret = ata_flush(d);
	return ret;
}

static void probe(u16 cmd, u16 ctl, u8 channel, u8 slave)
{
	struct disk *d = &disks[ndisks];
	u16 id[256];
	int s, i;
	u32 mb;

	d->cmd = cmd;
	d->ctl = ctl;
	d->slave = slave;
	d->channel = channel;
	outb(ctl, 0x02);                 /* nIEN: we poll */
	ata_select(d, 0);
	s = ata_status(d);
	if (s == 0 || s == 0xff)
		return;                      /* nothing there (or a floating bus) */
	if (ata_wait(d, 0, 1000) < 0)
		return;
	outb((u16)(cmd + 7), 0xec);      /* IDENTIFY DEVICE */
	s = ata_wait(d, 1, 1000);
	if (s < 0 || (s & ATA_SR_ERR) || !(s & ATA_SR_DRQ))
		return;                      /* ATAPI aborts IDENTIFY DEVICE: not a disk */
	insw(cmd, id, 256);
	d->lba48 = (id[83] & (1 << 10)) != 0;
	if (d->lba48)
		d->sectors = id[100] | (u64)id[101] << 16 | (u64)id[102] << 32 | (u64)id[103] << 48;
	else
		d->sectors = id[60] | (u32)id[61] << 16;
	if (!(id[49] & (1 << 9)) || !d->sectors) {
		printf("ata%d-%d: a disk without LBA, not supported\n", channel, slave);
		return;
	}
	d->multiple = 0;
	if (ata_multiple_sectors(id[47])) {
		u8 m = (u8)ata_multiple_sectors(id[47]);

		ata_select(d, 0);
		outb((u16)(cmd + 2), m);
		outb((u16)(cmd + 7), 0xc6);    /* SET MULTIPLE MODE */
		s = ata_wait(d, 0, 1000);
		if (s >= 0 && !(s & (ATA_SR_ERR | ATA_SR_DF)))
			d->multiple = m;
	}
	for (i = 0; i < 20; i++) {
		d->model[2 * i] = (char)(id[27 + i] >> 8);
		d->model[2 * i + 1] = (char)id[27 + i];
	}
	for (i = 39; i >= 0 && d->model[i] == ' '; i--)
		d->model[i] = 0;
	d->model[40] = 0;
	{
		struct chs idg = { id[1], id[3], id[6] };

		d->geom = bios_geometry(idg, d->sectors);
	}
	mb = (u32)(d->sectors >> 11);
	printf("Disk %02xh: ata%d-%d %s, %u MiB, CHS %u/%u/%u\n", 0x80 + ndisks, channel, slave,
	       d->model, mb, d->geom.cylinders, d->geom.heads, d->geom.sectors);
	ndisks++;
}

void disk_setup(void)
{
	static const u16 cmds[2] = { 0x1f0, 0x170 }, ctls[2] = { 0x3f6, 0x376 };
	int ch, dev;

	ndisks = 0;
	for (ch = 0; ch < 2; ch++)
		for (dev = 0; dev < 2 && ndisks < MAX_DISKS; dev++)
			probe(cmds[ch], ctls[ch], (u8)ch, (u8)dev);
	bda8(BDA_NUM_HD) = (u8)ndisks;
	if (!ndisks)
		printf("No hard disks found\n");
}

int disk_read_mbr(u8 drive, void *buf)
{
	u32 done;

	if (drive < 0x80 || drive - 0x80 >= ndisks)
		return -1;
	return disk_rw(&disks[drive - 0x80], 0, 1, buf, 0, &done) == DISK_OK ? 0 : -1;
}

/* ---- int 13h ---- */
static void disk_ret(struct bregs *r, u8 code)
{
	bda8(BDA_DISK_STATUS) = code;
	r->ah = code;
	set_cf(r, code != DISK_OK);
}

struct edd_dap {
	u8 size;
	u8 reserved;
	u16 count;
	u16 buf_off, buf_seg;
	u64 lba;
	u64 buf_flat;
} __attribute__((packed));

struct edd_params {
	u16 size;
	u16 flags;
	u32 cylinders;
	u32 heads;
	u32 sectors_per_track;
	u64 sectors;
	u16 bytes_per_sector;
	u32 dpte;
	u16 key;
	u8 path_len;
	u8 reserved1;
	u16 reserved2;
	char host_bus[4];
	char interface[8];
	u8 interface_path[8];
	u8 device_path[16];
	u8 reserved3;
	u8 checksum;
} __attribute__((packed));

static void edd_params(struct bregs *r, struct disk *d)
{
	struct edd_params *p = far_ptr(r->ds, r->si);
	u16 size = p->size;
	struct edd_params e;

	if (size < 0x1a) {
		disk_ret(r, DISK_BAD_PARAM);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.size = 0x1a;
	e.flags = 0x0002;                      /* CHS information valid */
	e.cylinders = d->geom.cylinders;
	e.heads = d->geom.heads;
	e.sectors_per_track = d->geom.sectors;
	e.sectors = d->sectors;
	e.bytes_per_sector = 512;
	if (size >= 0x1e) {
		e.size = 0x1e;
		e.dpte = 0xffffffffu;          /* no DPTE */
	}
	if (size >= (u16)sizeof(e)) {
		u16 ide = 0xffff;
		int bdf;

		for (bdf = 0; bdf < 256; bdf++)
			if (pci_read16((u16)bdf, 0) != 0xffff && pci_read16((u16)bdf, 0x0a) == 0x0101) {
				ide = (u16)bdf;
				break;
			}
		e.size = sizeof(e);
		e.key = 0xbedd;
		e.path_len = 44;
		memcpy(e.host_bus, ide != 0xffff ? "PCI " : "ISA ", 4);
		memcpy(e.interface, "ATA     ", 8);
		if (ide != 0xffff) {
			e.interface_path[0] = (u8)(ide >> 8);
			e.interface_path[1] = (u8)((ide >> 3) & 31);
			e.interface_path[2] = (u8)(ide & 7);
			e.interface_path[3] = d->channel;
		} else {
			e.interface_path[0] = (u8)d->cmd;
			e.interface_path[1] = (u8)(d->cmd >> 8);
		}
		e.device_path[0] = d->slave;
		e.checksum = (u8)-table_checksum((u8 *)&e.key, 44 - 1);
	}
	memcpy(p, &e, e.size);
	disk_ret(r, DISK_OK);
}

static void chs_rw(struct bregs *r, struct disk *d, int op)
{
	u32 cyl = r->ch | (u32)(r->cl & 0xc0) << 2;
	u32 sector = r->cl & 0x3f, head = r->dh, count = r->al, done = 0;
	int64_t lba = chs_to_lba(d->geom, cyl, head, sector);
	u8 ret;

	if (lba < 0 || count == 0 || count > 128) {
		r->al = 0;
		disk_ret(r, DISK_BAD_PARAM);
		return;
	}
	if (op == 0x04) {                       /* verify: the range exists */
		ret = (u64)lba + count <= d->sectors ? DISK_OK : DISK_NOT_FOUND;
		done = ret == DISK_OK ? count : 0;
	} else {
		ret = disk_rw(d, (u64)lba, count, far_ptr(r->es, r->bx), op == 0x03, &done);
	}
	r->al = (u8)done;
	disk_ret(r, ret);
}

static void ext_rw(struct bregs *r, struct disk *d, int op)
{
	struct edd_dap *dap = far_ptr(r->ds, r->si);
	u32 done = 0, count = dap->count;
	u8 *buf;
	u8 ret;

	if (dap->size < 0x10) {
		disk_ret(r, DISK_BAD_PARAM);
		return;
	}
	if (dap->buf_off == 0xffff && dap->buf_seg == 0xffff && dap->size >= 0x18) {
		if (dap->buf_flat >> 32) {
			dap->count = 0;
			disk_ret(r, DISK_BAD_PARAM);
			return;
		}
		buf = lin((u32)dap->buf_flat);
	} else {
		buf = far_ptr(dap->buf_seg, dap->buf_off);
	}
	if (op == 0x44 || op == 0x47) {
		ret = dap->lba <= d->sectors && count <= d->sectors - dap->lba ?
			DISK_OK : DISK_NOT_FOUND;
		done = ret == DISK_OK ? count : 0;
	} else {
		ret = disk_rw(d, dap->lba, count, buf, op == 0x43, &done);
	}
	if (op != 0x47)
		dap->count = (u16)done;
	disk_ret(r, ret);
}

void handle_13(struct bregs *r)
{
	struct disk *d;
	u8 op = r->ah;

	if (r->dl < 0x80 || r->dl - 0x80 >= ndisks) {
		/* no such drive; AH=15h answers "no drive" without an error */
		if (op == 0x15 && r->dl < 0x80) {
			r->ah = 0;
			set_cf(r, 0);
			return;
		}
		if (op == 0x08 && r->dl < 0x80) {   /* no floppy drives */
			r->ax = 0;
			r->bx = 0;
			r->cx = 0;
			r->dx = 0;
			set_cf(r, 1);
			r->ah = DISK_BAD_PARAM;
			return;
		}
		disk_ret(r, DISK_BAD_PARAM);
		return;
	}
	d = &disks[r->dl - 0x80];
	switch (op) {
	case 0x00: case 0x0d: case 0x10: case 0x11:
		disk_ret(r, ata_wait(d, 0, 2000) < 0 ? DISK_TIMEOUT : DISK_OK);
		return;
	case 0x01:
		r->ah = bda8(BDA_DISK_STATUS);
		set_cf(r, r->ah != 0);
		return;
	case 0x02: case 0x03: case 0x04:
		chs_rw(r, d, op);
		return;
	case 0x08: {
		u32 maxcyl = d->geom.cylinders - 1;

		if (maxcyl > 1023)
			maxcyl = 1023;
		r->al = 0;
		r->bl = 0;
		r->ch = (u8)maxcyl;
		r->cl = (u8)(((maxcyl >> 2) & 0xc0) | (d->geom.sectors & 0x3f));
		r->dh = (u8)(d->geom.heads - 1);
		r->dl = (u8)ndisks;
		disk_ret(r, DISK_OK);
		return;
	}
	case 0x0c: {
		u32 cyl = r->ch | (u32)(r->cl & 0xc0) << 2;

		disk_ret(r, chs_to_lba(d->geom, cyl, r->dh, 1) < 0 ? DISK_BAD_PARAM : DISK_OK);
		return;
	}
	case 0x15: {
		u64 n = (u64)d->geom.cylinders * d->geom.heads * d->geom.sectors;

		r->ah = 0x03;                   /* fixed disk */
		r->cx = (u16)(n >> 16);
		r->dx = (u16)n;
		set_cf(r, 0);
		return;
	}
	case 0x41:
		if (r->bx != 0x55aa) {
			disk_ret(r, DISK_BAD_PARAM);
			return;
		}
		r->bx = 0xaa55;
		r->ah = 0x30;                   /* EDD 3.0 */
		r->cx = 0x0005;                 /* fixed-disk access + EDD (48h) */
		set_cf(r, 0);
		return;
	case 0x42: case 0x43: case 0x44: case 0x47:
		ext_rw(r, d, op);
		return;
	case 0x48:
		edd_params(r, d);
		return;
	default:
		disk_ret(r, DISK_BAD_PARAM);
	}
}
