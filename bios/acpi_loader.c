/*
 * QEMU's ACPI linker/loader script, etc/table-loader: 128-byte commands
 * (docs/specs/fw_cfg.rst names the file; hw/acpi/bios-linker-loader.c
 * defines the layout):
 *
 *   u32 command
 *   1 ALLOCATE       char file[56]; u32 align; u8 zone (1 high, 2 f-segment)
 *   2 ADD_POINTER    char dest[56]; char src[56]; u32 offset; u8 size
 *                    dest[offset..+size] (little endian) += address of src
 *   3 ADD_CHECKSUM   char file[56]; u32 offset; u32 start; u32 length
 *                    file[offset] -= sum(file[start..start+length))
 *   4 WRITE_POINTER  char dest[56]; char src[56]; u32 dst_offset;
 *                    u32 src_offset; u8 size
 *                    fw_cfg file dest[dst_offset] = address of src + src_offset
 *
 * Every offset and size is checked against the file it names; a bad script
 * stops with an error rather than writing outside a table.
 */
#include "tables.h"
#include "bstring.h"

#define CMD_SIZE 128

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void name_copy(char *dst, const uint8_t *src)
{
	memcpy(dst, src, LOADER_FILESZ);
	dst[LOADER_FILESZ - 1] = 0;
}

static struct loader_file *find(struct loader_result *res, const char *name)
{
	int i;

	for (i = 0; i < res->nfiles; i++)
		if (!strncmp(res->files[i].name, name, LOADER_FILESZ))
			return &res->files[i];
	return NULL;
}

uint32_t loader_file_addr(const struct loader_result *res, const char *name)
{
	int i;

	for (i = 0; i < res->nfiles; i++)
		if (!strncmp(res->files[i].name, name, LOADER_FILESZ))
			return res->files[i].addr;
	return 0;
}

static int fail(struct loader_result *res, const char *why)
{
	if (!res->error)
		res->error = why;
	return -1;
}

static int range_ok(uint32_t off, uint32_t len, uint32_t size)
{
	return off <= size && len <= size - off;
}

static int do_allocate(const uint8_t *c, const struct loader_ops *ops,
		       struct loader_result *res)
{
	char name[LOADER_FILESZ];
	uint32_t align = get32(c + 4 + 56), size, addr;
	uint8_t zone = c[4 + 60];
	struct loader_file *f;

	name_copy(name, c + 4);
	if (find(res, name))
		return fail(res, "ALLOCATE of a file twice");
	if (res->nfiles >= LOADER_MAX_FILES)
		return fail(res, "too many files");
	if (zone != LOADER_ZONE_HIGH && zone != LOADER_ZONE_FSEG)
		return fail(res, "ALLOCATE in an unknown zone");
	if (align == 0)
		align = 1;
	if (align & (align - 1))
		return fail(res, "ALLOCATE alignment is not a power of two");
	if (ops->file_size(ops->ctx, name, &size))
		return fail(res, "ALLOCATE of a file fw_cfg does not have");
	addr = ops->alloc(ops->ctx, zone, size ? size : 1, align);
	if (!addr)
		return fail(res, "no room for an ACPI file");
	if (ops->read_file(ops->ctx, name, addr, size))
		return fail(res, "reading an ACPI file from fw_cfg failed");
	f = &res->files[res->nfiles++];
	memcpy(f->name, name, LOADER_FILESZ);
	f->addr = addr;
	f->size = size;
	return 0;
}

static int do_add_pointer(const uint8_t *c, const struct loader_ops *ops,
			  struct loader_result *res)
{
	char dname[LOADER_FILESZ], sname[LOADER_FILESZ];
	uint32_t offset = get32(c + 4 + 112);
	uint8_t size = c[4 + 116];
	struct loader_file *d, *s;
	uint64_t v = 0;
	uint8_t *p;
	int i;

	name_copy(dname, c + 4);
	name_copy(sname, c + 4 + 56);
	d = find(res, dname);
	s = find(res, sname);
	if (!d || !s)
		return fail(res, "ADD_POINTER names a file not allocated");
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return fail(res, "ADD_POINTER size is not 1, 2, 4 or 8");
	if (!range_ok(offset, size, d->size))
		return fail(res, "ADD_POINTER outside its file");
	p = ops->ptr(ops->ctx, d->addr + offset);
	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	v += s->addr;
	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return 0;
}

static int do_add_checksum(const uint8_t *c, const struct loader_ops *ops,
			   struct loader_result *res)
{
	char name[LOADER_FILESZ];
	uint32_t offset = get32(c + 4 + 56), start = get32(c + 4 + 60);
	uint32_t length = get32(c + 4 + 64);
	struct loader_file *f;
	uint8_t *p;

	name_copy(name, c + 4);
	f = find(res, name);
	if (!f)
		return fail(res, "ADD_CHECKSUM names a file not allocated");
	if (!range_ok(offset, 1, f->size) || !range_ok(start, length, f->size))
		return fail(res, "ADD_CHECKSUM outside its file");
	p = ops->ptr(ops->ctx, f->addr);
	p[offset] = (uint8_t)(p[offset] - table_checksum(p + start, length));
	return 0;
}

static int do_write_pointer(const uint8_t *c, const struct loader_ops *ops,
			    struct loader_result *res)
{
	char dname[LOADER_FILESZ], sname[LOADER_FILESZ];
	uint32_t dst_offset = get32(c + 4 + 112), src_offset = get32(c + 4 + 116);
	uint8_t size = c[4 + 120];
	struct loader_file *s;
	uint32_t dsize;
	uint64_t v;
	uint8_t buf[8];
	int i;

	name_copy(dname, c + 4);
	name_copy(sname, c + 4 + 56);
	s = find(res, sname);
	if (!s)
		return fail(res, "WRITE_POINTER source not allocated");
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return fail(res, "WRITE_POINTER size is not 1, 2, 4 or 8");
	if (ops->file_size(ops->ctx, dname, &dsize) || !range_ok(dst_offset, size, dsize))
		return fail(res, "WRITE_POINTER outside its fw_cfg file");
	if (src_offset >= s->size && !(src_offset == 0 && s->size == 0))
		return fail(res, "WRITE_POINTER source offset outside its file");
	if (!ops->write_file)
		return fail(res, "WRITE_POINTER needs fw_cfg DMA writes");
	v = (uint64_t)s->addr + src_offset;
	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	if (ops->write_file(ops->ctx, dname, dst_offset, buf, size))
		return fail(res, "WRITE_POINTER fw_cfg write failed");
	return 0;
}

int acpi_run_loader(const uint8_t *script, uint32_t len, const struct loader_ops *ops,
		    struct loader_result *res)
{
	uint32_t off;

	memset(res, 0, sizeof(*res));
	if (len % CMD_SIZE)
		return fail(res, "etc/table-loader is not a whole number of commands");
	for (off = 0; off < len; off += CMD_SIZE) {
		const uint8_t *c = script + off;
		int r;

		switch (get32(c)) {
		case 0:
			continue; /* padding */
		case LOADER_ALLOCATE:
			r = do_allocate(c, ops, res);
			break;
		case LOADER_ADD_POINTER:
			r = do_add_pointer(c, ops, res);
			break;
		case LOADER_ADD_CHECKSUM:
			r = do_add_checksum(c, ops, res);
			break;
		case LOADER_WRITE_POINTER:
			r = do_write_pointer(c, ops, res);
			break;
		default:
			res->skipped++;
			continue;
		}
		if (r)
			return -1;
		res->commands++;
	}
	return 0;
}
