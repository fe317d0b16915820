/*
 * Booting: int 19h reads sector 0 of each hard disk in turn to 0:7C00 and
 * jumps to the first that ends in 55AAh, with DL = its drive number.
 * With none, int 18h says so and halts (interrupts stay on: the machine can
 * still be stopped from outside).  int 14h: COM1 services.
 */
#include "bios.h"

void handle_19(struct bregs *r)
{
	int i;

	(void)r;
	for (i = 0; i < ndisks; i++) {
		u8 *mbr = lin(BOOT_SECTOR);

		if (disk_read_mbr((u8)(0x80 + i), mbr)) {
			printf("Disk %02xh: read error on sector 0\n", 0x80 + i);
			continue;
		}
		if (mbr[510] != 0x55 || mbr[511] != 0xaa) {
			printf("Disk %02xh: no boot signature (55AAh) in sector 0\n", 0x80 + i);
			continue;
		}
		printf("Booting from disk %02xh...\n", 0x80 + i);
		boot_drive = (u8)(0x80 + i);
		bios_action = ACTION_BOOT;
		return;
	}
	handle_18(r);
}

void handle_18(struct bregs *r)
{
	(void)r;
	printf("No bootable disk: attach a disk image with a boot sector (-hda disk.img).\n"
	       "System halted.\n");
	bios_action = ACTION_HALT;
}

void handle_14(struct bregs *r)
{
	int c;

	if (r->dx != 0) {              /* only COM1 */
		r->ah = 0x80;
		return;
	}
	switch (r->ah) {
	case 0x00:                     /* initialise: we keep 115200 8N1 */
	case 0x03:
		r->ah = inb(0x3fd);
		r->al = inb(0x3fe);
		return;
	case 0x01:
		serial_putc((char)r->al);
		r->ah = inb(0x3fd);
		return;
	case 0x02:
		c = serial_getc();
		if (c < 0) {
			r->ah = 0x80;      /* timeout */
			return;
		}
		r->al = (u8)c;
		r->ah = inb(0x3fd) & 0x1e;
		return;
	default:
		r->ah = 0x80;
	}
}
