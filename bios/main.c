/*
 * POST, as one list: serial and screen, interrupt controllers and vectors,
 * BIOS data area, memory map, CPUs, PCI, the VGA card's BIOS, ACPI, SMBIOS, keyboard, clock, disks; then
 * entry.asm goes to real mode and int 19h boots.
 */
#include "bios.h"

/* entry.asm stubs, linked in the F segment */
extern char stub_int10[], stub_int11[], stub_int12[], stub_int13[], stub_int14[];
extern char stub_int15[], stub_int16[], stub_int18[], stub_int19[], stub_int1a[];
extern char stub_irq0[], stub_irq1[], stub_irq_master[], stub_irq_slave[], stub_iret[];

static void set_vector(int n, const char *stub)
{
	u32 a = (u32)(uintptr_t)stub;

	((volatile u16 *)lin(0))[n * 2] = (u16)(a - 0xf0000);
	((volatile u16 *)lin(0))[n * 2 + 1] = 0xf000;
}

static void ivt_init(void)
{
	int i;

	for (i = 0; i < 256; i++)
		set_vector(i, stub_iret);
	for (i = 0; i < 8; i++) {
		set_vector(0x08 + i, stub_irq_master);
		set_vector(0x70 + i, stub_irq_slave);
	}
	set_vector(0x08, stub_irq0);
	set_vector(0x09, stub_irq1);
	set_vector(0x10, stub_int10);
	set_vector(0x11, stub_int11);
	set_vector(0x12, stub_int12);
	set_vector(0x13, stub_int13);
	set_vector(0x14, stub_int14);
	set_vector(0x15, stub_int15);
	set_vector(0x16, stub_int16);
	set_vector(0x18, stub_int18);
	set_vector(0x19, stub_int19);
	set_vector(0x1a, stub_int1a);
	/* table pointers nobody should follow: zero, not an iret stub */
	for (i = 0x1d; i <= 0x1f; i++)
		((volatile u32 *)lin(0))[i] = 0;
	((volatile u32 *)lin(0))[0x41] = 0;
	((volatile u32 *)lin(0))[0x46] = 0;
}

static void pic_init(void)
{
	outb(0x20, 0x11);              /* ICW1: edge, cascade, ICW4 */
	outb(0xa0, 0x11);
	outb(0x21, 0x08);              /* ICW2: vectors 08h and 70h */
	outb(0xa1, 0x70);
	outb(0x21, 0x04);              /* ICW3: slave on IRQ 2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);              /* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);              /* everything masked until POST is done */
	outb(0xa1, 0xff);
}

static void bda_init(void)
{
	memset(lin(BDA), 0, 0x100);
	bda16(BDA_COM1) = 0x3f8;
	/* equipment: 1 serial port, 80x25 colour, no floppies, x87 present */
	bda16(BDA_EQUIPMENT) = 0x0200 | 0x0020 | 0x0002;
}

void bios_post(void)
{
	u64 ram = 0;
	int i;

	serial_init();
	pit_init();
	bda_init();
	console_init();
	printf("%s (built %s)\n", BIOS_NAME, __DATE__);
	pic_init();
	ivt_init();
	memory_setup();
	for (i = 0; i < e820.count; i++)
		if (e820.e[i].type == E820_RAM)
			ram += e820.e[i].size;
	cpu_setup();
	printf("Memory: %u MiB, %d CPU%s\n", (u32)(ram >> 20), ncpus, ncpus > 1 ? "s" : "");
	pci_setup();
	vga_rom_init();
	acpi_setup();
	smbios_setup();
	kbd_setup();
	clock_setup();
	disk_setup();
	console_end_post();
	outb(0x21, 0xf8);              /* unmask IRQ 0 (timer), 1 (keyboard), 2 (cascade) */
	outb(0xa1, 0xff);
}
