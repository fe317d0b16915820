/* The CHS view int 13h gives of an LBA disk, and how it moves sectors: the
 * DRQ block size (PIO), the DMA mode and the PRD table (DMA). */
#include "tables.h"

struct chs bios_geometry(struct chs id, uint64_t total)
{
	static const uint32_t heads[] = { 16, 32, 64, 128, 255 };
	uint32_t t = total > 0xffffffffull ? 0xffffffffu : (uint32_t)total;
	struct chs g;
	unsigned i;

	if (id.cylinders && id.heads && id.sectors && id.cylinders <= 1024 &&
	    id.heads <= 16 && id.sectors <= 63)
		return id;
	g.sectors = 63;
	g.heads = 255;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		if (t / (heads[i] * 63u) <= 1024) {
			g.heads = heads[i];
			break;
		}
	}
	g.cylinders = t / (g.heads * g.sectors);
	if (g.cylinders > 1024)
		g.cylinders = 1024;
	if (g.cylinders == 0)
		g.cylinders = 1;
	return g;
}

int64_t chs_to_lba(struct chs g, uint32_t cyl, uint32_t head, uint32_t sector)
{
	if (sector < 1 || sector > g.sectors || head >= g.heads || cyl >= g.cylinders)
		return -1;
	return ((int64_t)cyl * g.heads + head) * g.sectors + (sector - 1);
}

unsigned ata_multiple_sectors(uint16_t id47)
{
	unsigned max = id47 & 0xff, m = 16;

	if (max < 2)
		return 0;
	while (m > max)
		m >>= 1;
	return m;
}

uint8_t ata_dma_mode(uint16_t id53, uint16_t id63, uint16_t id88, int udma_max)
{
	int i;

	for (i = udma_max > 6 ? 6 : udma_max; i >= 0; i--)
		if ((id53 & 4) && (id88 & (1u << i)))
			return (uint8_t)(0x40 | i);
	for (i = 2; i >= 0; i--)
		if (id63 & (1u << i))
			return (uint8_t)(0x20 | i);
	return 0;
}

int ide_build_prd(uint32_t *prd, int max, uint32_t addr, uint32_t len)
{
	int n = 0;

	if (!len || (addr & 1) || (len & 1) || addr + len < addr)
		return -1;
	while (len) {
		uint32_t take = 0x10000 - (addr & 0xffff);

		if (take > len)
			take = len;
		if (n == max)
			return -1;
		prd[2 * n] = addr;
		prd[2 * n + 1] = (take & 0xffff) | (take == len ? 0x80000000u : 0);
		addr += take;
		len -= take;
		n++;
	}
	return n;
}
