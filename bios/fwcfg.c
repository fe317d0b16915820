/*
 * QEMU's firmware configuration interface (docs/specs/fw_cfg.rst), as QEMU
 * and kvm-run provide it: selector port 0x510 (16-bit), data port 0x511
 * (8-bit), DMA address ports 0x514/0x518 (big endian).  Files are found
 * through the directory at key 0x19: a big-endian count, then 64-byte
 * entries { be32 size; be16 select; u16 reserved; char name[56]; }.
 */
#include "bios.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

static u32 be32(u32 v)
{
	return __builtin_bswap32(v);
}

void fwcfg_read_key(u16 key, void *buf, u32 len)
{
	outw(FW_CFG_PORT_SEL, key);
	insb(FW_CFG_PORT_DATA, buf, len);
}

int fwcfg_present(void)
{
	char sig[4];

	fwcfg_read_key(FW_CFG_SIGNATURE, sig, 4);
	return !memcmp(sig, "QEMU", 4);
}

int fwcfg_dma_present(void)
{
	u32 id = 0;

	if (!fwcfg_present())
		return 0;
	fwcfg_read_key(FW_CFG_ID, &id, 4);
	return (id & 2) != 0;
}

int fwcfg_find(const char *name, u16 *key, u32 *size)
{
	u32 count, i;
	struct {
		u32 size;
		u16 select;
		u16 reserved;
		char name[56];
	} e;

	if (!fwcfg_present())
		return -1;
	outw(FW_CFG_PORT_SEL, FW_CFG_FILE_DIR);
	insb(FW_CFG_PORT_DATA, &count, 4);
	count = be32(count);
	for (i = 0; i < count && i < 4096; i++) {
		insb(FW_CFG_PORT_DATA, &e, sizeof(e));
		if (!strncmp(e.name, name, sizeof(e.name))) {
			*key = __builtin_bswap16(e.select);
			*size = be32(e.size);
			return 0;
		}
	}
	return -1;
}

int fwcfg_read_file(const char *name, void *buf, u32 len)
{
	u16 key;
	u32 size;

	if (fwcfg_find(name, &key, &size))
		return -1;
	fwcfg_read_key(key, buf, len < size ? len : size);
	return (int)size;
}

struct fwcfg_dma {
	u32 control;
	u32 length;
	u32 addr_hi;
	u32 addr_lo;
} __attribute__((packed, aligned(16)));

static int fwcfg_dma(u32 control, u32 length, const void *data)
{
	static struct fwcfg_dma d;
	struct deadline t;

	d.control = be32(control);
	d.length = be32(length);
	d.addr_hi = 0;
	d.addr_lo = be32((u32)(uintptr_t)data);
	__asm__ volatile("" : : : "memory");
	outl(FW_CFG_PORT_DMA, 0);
	outl(FW_CFG_PORT_DMA + 4, be32((u32)(uintptr_t)&d));
	deadline_start(&t, 1000);
	for (;;) {
		u32 c = be32(*(volatile u32 *)&d.control);

		if (c & FW_CFG_DMA_ERROR)
			return -1;
		if (!c)
			return 0;
		if (deadline_expired(&t))
			return -1;
	}
}

int fwcfg_write_file(const char *name, u32 offset, const void *data, u32 len)
{
	u16 key;
	u32 size;

	if (!fwcfg_dma_present() || fwcfg_find(name, &key, &size) ||
	    offset > size || len > size - offset)
		return -1;
	if (fwcfg_dma((u32)key << 16 | FW_CFG_DMA_SELECT | (offset ? FW_CFG_DMA_SKIP : 0),
		      offset, 0))
		return -1;
	return fwcfg_dma(FW_CFG_DMA_WRITE, len, data);
}
