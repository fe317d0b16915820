/*
 * PCI: configuration mechanism #1, enumeration of bus 0 with BAR placement
 * (pci_alloc.c), the i440FX/PIIX3 interrupt routing (PIRQA-D -> IRQ 10, 10,
 * 11, 11, level-triggered in the ELCR, as SeaBIOS does, so QEMU's ACPI
 * link devices agree), the $PIR table, chipset setup (PIIX IDE decode,
 * PIIX4 ACPI PM I/O at 0x600 and SMBus at 0x700, which QEMU's ACPI tables
 * describe), and the PCI BIOS of int 1Ah (B1xxh, real-mode entry only).
 * Missing: buses behind PCI-PCI bridges are not scanned.
 */
#include "bios.h"

#define PCI_IO_BASE 0xc000
#define PCI_IO_END 0x10000
#define PCI_MEM_BASE 0xe0000000u
#define PCI_MEM_END 0xfec00000u     /* the IO-APIC and the rest above it stay free */
#define PIIX_PM_IO 0x600
#define PIIX_SMBUS_IO 0x700
#define MAX_BARS 96

static const u8 pirq_irq[4] = { 10, 10, 11, 11 };
static u16 piix_bdf = 0xffff;     /* PIIX3/4 ISA bridge, the interrupt router */

static u32 cfg_addr(u16 bdf, u8 reg)
{
	return 0x80000000u | (u32)bdf << 8 | (reg & 0xfc);
}

u32 pci_read32(u16 bdf, u8 reg)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	return inl(0xcfc);
}

u16 pci_read16(u16 bdf, u8 reg)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	return inw((u16)(0xcfc + (reg & 2)));
}

u8 pci_read8(u16 bdf, u8 reg)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	return inb((u16)(0xcfc + (reg & 3)));
}

void pci_write32(u16 bdf, u8 reg, u32 v)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	outl(0xcfc, v);
}

void pci_write16(u16 bdf, u8 reg, u16 v)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	outw((u16)(0xcfc + (reg & 2)), v);
}

void pci_write8(u16 bdf, u8 reg, u8 v)
{
	outl(0xcf8, cfg_addr(bdf, reg));
	outb((u16)(0xcfc + (reg & 3)), v);
}

/* Next function on bus 0 after `bdf` (-1 to start); -1 at the end. */
static int pci_next(int bdf)
{
	for (;;) {
		if (bdf < 0)
			bdf = 0;
		else if ((bdf & 7) == 0 && !(pci_read8((u16)bdf, 0x0e) & 0x80))
			bdf += 8;  /* single-function device */
		else
			bdf++;
		if (bdf >= 256)
			return -1;
		if (pci_read16((u16)bdf, 0x00) != 0xffff)
			return bdf;
		if ((bdf & 7) == 0)
			bdf += 7;  /* no function 0: skip the slot */
	}
}

static int compat_ide_bar(u16 bdf, int bar)
{
	u16 cls = pci_read16(bdf, 0x0a);
	u8 progif = pci_read8(bdf, 0x09);

	if (cls != 0x0101 || bar > 3)
		return 0;
	return bar < 2 ? !(progif & 0x01) : !(progif & 0x04);
}

static int collect_bars(u16 bdf, struct pci_bar_req *reqs, int n)
{
	int bar;

	if ((pci_read8(bdf, 0x0e) & 0x7f) != 0)
		return n;  /* bridges and CardBus: not handled */
	for (bar = 0; bar < 7 && n < MAX_BARS; bar++) {
		u8 reg = bar == 6 ? 0x30 : (u8)(0x10 + bar * 4);
		u32 orig = pci_read32(bdf, reg), v, size;
		int is_io, is_64 = 0;

		if (compat_ide_bar(bdf, bar))
			continue;
		pci_write32(bdf, reg, bar == 6 ? 0xfffff800u : 0xffffffffu);
		v = pci_read32(bdf, reg);
		pci_write32(bdf, reg, orig);
		if (!v || v == 0xffffffffu)
			continue;
		is_io = bar != 6 && (v & 1);
		if (is_io) {
			size = ~(v & 0xfffffffcu) + 1;
			size &= 0xffff;
		} else if (bar == 6) {
			size = ~(v & 0xfffff800u) + 1;
		} else {
			is_64 = ((v >> 1) & 3) == 2;
			size = ~(v & 0xfffffff0u) + 1;
			if (is_64) {
				u32 hi_orig = pci_read32(bdf, (u8)(reg + 4)), hi;

				pci_write32(bdf, (u8)(reg + 4), 0xffffffffu);
				hi = pci_read32(bdf, (u8)(reg + 4));
				pci_write32(bdf, (u8)(reg + 4), hi_orig);
				if (hi != 0xffffffffu) {
					printf("PCI %02x:%02x.%x BAR%d: 4 GiB or larger, left unassigned\n",
					       bdf >> 8, (bdf >> 3) & 31, bdf & 7, bar);
					bar++;
					continue;
				}
			}
		}
		if (size) {
			reqs[n].bdf = bdf;
			reqs[n].bar = (u8)bar;
			reqs[n].is_io = (u8)is_io;
			reqs[n].is_64 = (u8)is_64;
			reqs[n].size = size;
			n++;
		}
		if (is_64)
			bar++;
	}
	return n;
}

static void chipset_setup(u16 bdf, u16 vendor, u16 device)
{
	if (vendor != 0x8086)
		return;
	switch (device) {
	case 0x7000:               /* PIIX3 ISA bridge */
	case 0x7110: {             /* PIIX4 ISA bridge */
		int i;
		u8 elcr0 = inb(0x4d0), elcr1 = inb(0x4d1);

		piix_bdf = bdf;
		for (i = 0; i < 4; i++) {
			pci_write8(bdf, (u8)(0x60 + i), pirq_irq[i]);
			if (pirq_irq[i] < 8)
				elcr0 |= (u8)(1 << pirq_irq[i]);
			else
				elcr1 |= (u8)(1 << (pirq_irq[i] - 8));
		}
		outb(0x4d0, elcr0);
		outb(0x4d1, elcr1);
		break;
	}
	case 0x7010:               /* PIIX3 IDE */
	case 0x7111:               /* PIIX4 IDE */
		pci_write16(bdf, 0x40, 0x8000);   /* primary channel decode */
		pci_write16(bdf, 0x42, 0x8000);   /* secondary */
		break;
	case 0x7113:               /* PIIX4 ACPI power management */
		pci_write32(bdf, 0x40, PIIX_PM_IO | 1);
		pci_write8(bdf, 0x80, (u8)(pci_read8(bdf, 0x80) | 0x01));
		pci_write32(bdf, 0x90, PIIX_SMBUS_IO | 1);
		pci_write8(bdf, 0xd2, 0x09);
		pci_write8(bdf, 0x3c, 9);           /* SCI */
		break;
	}
}

static void build_pir(const u8 *slots, int nslots)
{
	u8 tmp[32 + 16 * 32];
	size_t size;
	u32 addr;

	if (piix_bdf == 0xffff)
		return;
	size = pirq_build_table(tmp, sizeof(tmp), slots, nslots, (u8)piix_bdf, 0x8086,
				pci_read16(piix_bdf, 0x02), 0xdef8);
	addr = size ? fseg_alloc((u32)size, 16) : 0;
	if (addr)
		memcpy(lin(addr), tmp, size);
}

void pci_setup(void)
{
	static struct pci_bar_req reqs[MAX_BARS];
	struct pci_window io = { PCI_IO_BASE, PCI_IO_END }, mem = { PCI_MEM_BASE, PCI_MEM_END };
	u8 slots[32];
	int nslots = 0, n = 0, bdf, i, failed, ndev = 0;

	for (bdf = pci_next(-1); bdf >= 0; bdf = pci_next(bdf)) {
		u16 vendor = pci_read16((u16)bdf, 0x00), device = pci_read16((u16)bdf, 0x02);
		u16 cmd = pci_read16((u16)bdf, 0x04);

		ndev++;
		pci_write16((u16)bdf, 0x04, cmd & ~0x0007);  /* no decode while sizing */
		if ((bdf & 7) == 0 && nslots < 32)
			slots[nslots++] = (u8)(bdf >> 3);
		chipset_setup((u16)bdf, vendor, device);
		n = collect_bars((u16)bdf, reqs, n);
	}
	failed = pci_alloc_bars(reqs, n, io, mem);
	for (i = 0; i < n; i++) {
		struct pci_bar_req *r = &reqs[i];
		u8 reg = r->bar == 6 ? 0x30 : (u8)(0x10 + r->bar * 4);

		if (!r->addr) {
			printf("PCI %02x:%02x.%x BAR%d (%u bytes): no room, left unassigned\n",
			       r->bdf >> 8, (r->bdf >> 3) & 31, r->bdf & 7, r->bar, r->size);
			continue;
		}
		pci_write32(r->bdf, reg, r->addr);   /* ROM BAR: address, decode off */
		if (r->is_64)
			pci_write32(r->bdf, (u8)(reg + 4), 0);
	}
	for (bdf = pci_next(-1); bdf >= 0; bdf = pci_next(bdf)) {
		u8 pin = pci_read8((u16)bdf, 0x3d);
		u16 cmd = pci_read16((u16)bdf, 0x04) | 0x0007;  /* I/O, memory, bus master */
		u16 vendor = pci_read16((u16)bdf, 0x00), device = pci_read16((u16)bdf, 0x02);

		if (pin >= 1 && pin <= 4 && !(vendor == 0x8086 && device == 0x7113))
			pci_write8((u16)bdf, 0x3c, pirq_irq[pirq_for_pin(bdf >> 3, pin)]);
		pci_write16((u16)bdf, 0x04, cmd);
	}
	build_pir(slots, nslots);
	printf("PCI: %d functions on bus 0, %d BARs assigned%s\n", ndev, n - failed,
	       failed ? " (some did not fit)" : "");
}

/* ---- PCI BIOS (int 1Ah AX=B1xxh) ---- */
#define PCIBIOS_OK 0x00
#define PCIBIOS_BAD_FUNC 0x81
#define PCIBIOS_BAD_VENDOR 0x83
#define PCIBIOS_NOT_FOUND 0x86
#define PCIBIOS_BAD_REG 0x87
#define PCIBIOS_SET_FAILED 0x88
#define PCIBIOS_BUFFER_SMALL 0x89

static void pcibios_ret(struct bregs *r, u8 code)
{
	r->ah = code;
	set_cf(r, code != PCIBIOS_OK);
}

static const u8 *find_pir(void)
{
	u32 a;

	for (a = 0xf0000; a < 0x100000; a += 16)
		if (!memcmp(lin(a), "$PIR", 4))
			return lin(a);
	return NULL;
}

void handle_pcibios(struct bregs *r)
{
	u16 bdf = r->bx & 0xff00 ? 0xffff : r->bx;  /* bus 0 only */
	u8 reg = (u8)r->di;
	int d, idx;

	switch (r->al) {
	case 0x01:
		r->edx = 0x20494350;   /* "PCI " */
		r->al = 0x01;          /* configuration mechanism #1 */
		r->bx = 0x0210;        /* version 2.10 */
		r->cl = 0;             /* last bus */
		r->edi = 0;            /* no protected-mode entry point */
		pcibios_ret(r, PCIBIOS_OK);
		return;
	case 0x02:                 /* find device CX in vendor DX, index SI */
	case 0x03:                 /* find class ECX[23:0], index SI */
		if (r->al == 0x02 && r->dx == 0xffff) {
			pcibios_ret(r, PCIBIOS_BAD_VENDOR);
			return;
		}
		idx = r->si;
		for (d = pci_next(-1); d >= 0; d = pci_next(d)) {
			int match = r->al == 0x02 ?
				(pci_read16((u16)d, 0) == r->dx && pci_read16((u16)d, 2) == r->cx) :
				((pci_read32((u16)d, 8) >> 8) == (r->ecx & 0xffffff));

			if (match && idx-- == 0) {
				r->bx = (u16)d;
				pcibios_ret(r, PCIBIOS_OK);
				return;
			}
		}
		pcibios_ret(r, PCIBIOS_NOT_FOUND);
		return;
	case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d:
		if (bdf == 0xffff) {
			pcibios_ret(r, PCIBIOS_NOT_FOUND);
			return;
		}
		if (((r->al == 0x09 || r->al == 0x0c) && (reg & 1)) ||
		    ((r->al == 0x0a || r->al == 0x0d) && (reg & 3)) || r->di > 0xff) {
			pcibios_ret(r, PCIBIOS_BAD_REG);
			return;
		}
		switch (r->al) {
		case 0x08: r->cl = pci_read8(bdf, reg); break;
		case 0x09: r->cx = pci_read16(bdf, reg); break;
		case 0x0a: r->ecx = pci_read32(bdf, reg); break;
		case 0x0b: pci_write8(bdf, reg, r->cl); break;
		case 0x0c: pci_write16(bdf, reg, r->cx); break;
		case 0x0d: pci_write32(bdf, reg, r->ecx); break;
		}
		pcibios_ret(r, PCIBIOS_OK);
		return;
	case 0x0e: {               /* get IRQ routing options, ES:DI buffer */
		const u8 *pir = find_pir();
		u16 *buf = far_ptr(r->es, r->di);
		u16 need;

		if (!pir) {
			pcibios_ret(r, PCIBIOS_BAD_FUNC);
			return;
		}
		need = (u16)((pir[6] | pir[7] << 8) - 32);
		if (buf[0] < need) {
			buf[0] = need;
			pcibios_ret(r, PCIBIOS_BUFFER_SMALL);
			return;
		}
		buf[0] = need;
		memcpy(far_ptr(buf[2], buf[1]), pir + 32, need);
		r->bx = 0;             /* no PCI-exclusive IRQs */
		pcibios_ret(r, PCIBIOS_OK);
		return;
	}
	case 0x0f: {               /* set PCI IRQ: BX device, CL pin (0Ah-0Dh), CH irq */
		u8 pin = (u8)(r->cl - 0x0a);

		if (bdf == 0xffff || pin > 3 || piix_bdf == 0xffff || r->ch > 15) {
			pcibios_ret(r, PCIBIOS_SET_FAILED);
			return;
		}
		pci_write8(piix_bdf, (u8)(0x60 + pirq_for_pin(bdf >> 3, pin + 1)), r->ch);
		pcibios_ret(r, PCIBIOS_OK);
		return;
	}
	default:
		pcibios_ret(r, PCIBIOS_BAD_FUNC);
	}
}
