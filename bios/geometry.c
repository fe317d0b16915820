/* The CHS view int 13h gives of an LBA disk, and the DRQ block size it reads in. */
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
