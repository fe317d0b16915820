/*
 * The VGA card's own BIOS: if a display controller (class 0300h) has a PCI
 * expansion ROM with a PC-AT image (code type 0), POST copies it to
 * 0xC0000 (the i440FX PAM registers make 0xC0000-0xDFFFF RAM), checks its
 * checksum, and calls its init entry (C000:0003) with AX = bus/devfn, as
 * the PCI Firmware Specification describes.  The card's BIOS then owns
 * int 10h; ours is chained in front of it to keep COM1 in step
 * (stub_int10_chain).  Other option ROMs (network boot) are not run.
 */
#include "bios.h"

#define ROM_SHADOW 0xc0000
#define ROM_SHADOW_END 0xe0000

extern char stub_int10_chain[];
extern volatile u32 vga_int10;
void call_option_rom(u32 entry, u32 ax);
void console_replay_post_log(void);
void console_serial_home(void);

static int find_vga(void)
{
	int bdf;

	for (bdf = 0; bdf < 256; bdf++)
		if (pci_read16((u16)bdf, 0) != 0xffff && pci_read16((u16)bdf, 0x0a) == 0x0300)
			return bdf;
	return -1;
}

/* The PC-AT image in the ROM at `rom`, NULL if there is none. */
static u8 *find_image(u32 rom, u16 vendor, u16 device, u32 *size)
{
	u32 off = 0;
	int n;

	for (n = 0; n < 8; n++) {
		u8 *img = lin(rom + off), *pcir;

		if (img[0] != 0x55 || img[1] != 0xaa)
			return NULL;
		pcir = img + (img[0x18] | img[0x19] << 8);
		if (memcmp(pcir, "PCIR", 4))
			return NULL;
		if (pcir[0x14] == 0 && (pcir[4] | pcir[5] << 8) == vendor &&
		    (pcir[6] | pcir[7] << 8) == device) {
			*size = (u32)img[2] * 512;
			return img;
		}
		if (pcir[0x15] & 0x80)
			return NULL;      /* the last image */
		off += (u32)(pcir[0x10] | pcir[0x11] << 8) * 512;
	}
	return NULL;
}

void vga_rom_init(void)
{
	int bdf = find_vga(), i;
	u32 rom, size = 0;
	u8 *img;

	if (bdf < 0)
		return;
	rom = pci_read32((u16)bdf, 0x30) & 0xfffff800u;
	if (!rom)
		return;
	pci_write32((u16)bdf, 0x30, rom | 1);
	img = find_image(rom, pci_read16((u16)bdf, 0), pci_read16((u16)bdf, 2), &size);
	if (!img || !size || size > ROM_SHADOW_END - ROM_SHADOW) {
		pci_write32((u16)bdf, 0x30, rom);
		if (img)
			printf("VGA: option ROM of %u bytes does not fit at C000h\n", size);
		return;
	}
	if (pci_read32(0, 0) == 0x12378086)
		for (i = 0x5a; i <= 0x5d; i++)
			pci_write8(0, (u8)i, 0x33);   /* C0000-DFFFF: RAM, read/write */
	memcpy(lin(ROM_SHADOW), img, size);
	i = memcmp(lin(ROM_SHADOW), img, size);
	pci_write32((u16)bdf, 0x30, rom);        /* ROM decode off again */
	if (i) {
		printf("VGA: C000h is not RAM; the card's BIOS is not run\n");
		return;
	}
	if (table_checksum(lin(ROM_SHADOW), size)) {
		printf("VGA: option ROM checksum is wrong; not run\n");
		return;
	}
	call_option_rom(0xc0000003u, (u32)bdf);
	vga_int10 = *(volatile u32 *)lin(0x10 * 4);
	*(volatile u16 *)lin(0x10 * 4) = (u16)((u32)(uintptr_t)stub_int10_chain - 0xf0000);
	*(volatile u16 *)lin(0x10 * 4 + 2) = 0xf000;
	console_serial_home();
	call_option_rom(0, 0x0003);     /* 80x25 text, as the screen was */
	console_replay_post_log();
	printf("VGA: %02x:%02x.%x BIOS (%u KiB) at C000h\n", bdf >> 8, (bdf >> 3) & 31, bdf & 7,
	       size >> 10);
}
