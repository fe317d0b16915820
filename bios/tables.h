/*
 * The BIOS's table-building logic, free of hardware access so that the same
 * C files build into the firmware (gcc -m32 -ffreestanding) and into the
 * host unit tests (tests/unit/bios_tables_test.cc):
 *
 *   e820.c        the memory map behind int 15h E820/E801/88h
 *   pci_alloc.c   PCI BAR placement in the I/O and 32-bit memory windows
 *   pirq.c        i440FX/PIIX3 INTx swizzle and the $PIR routing table
 *   acpi_loader.c QEMU's etc/table-loader interpreter (ALLOCATE,
 *                 ADD_POINTER, ADD_CHECKSUM, WRITE_POINTER)
 *   geometry.c    the CHS geometry int 13h presents for an LBA disk, and
 *                 its READ/WRITE MULTIPLE block size
 */
#ifndef BIOS_TABLES_H
#define BIOS_TABLES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- e820 ---------------------------------------------------------------- */
#define E820_HOLE 0
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_UNUSABLE 5
#define E820_MAX 32

struct e820_entry {
	uint64_t start;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct e820_map {
	int count;
	struct e820_entry e[E820_MAX];
};

void e820_init(struct e820_map *m);
/* Marks [start, start+size) as type, replacing whatever overlapped it;
 * neighbours of the same type merge; type E820_HOLE (0) just removes.  Returns 0, or -1 if the table is full. */
int e820_add(struct e820_map *m, uint64_t start, uint64_t size, uint32_t type);
/* RAM (type 1) below 4 GiB that starts at or above `from`, contiguous from
 * `from`: the end of the usable block that begins there. */
uint64_t e820_ram_end_from(const struct e820_map *m, uint64_t from);
/* int 15h E801: KiB between 1 and 16 MiB, 64 KiB blocks between 16 MiB and 4 GiB. */
void e820_e801(const struct e820_map *m, uint32_t *kb_1m_16m, uint32_t *blocks_16m_4g);

/* ---- PCI BAR allocation --------------------------------------------------- */
struct pci_bar_req {
	uint16_t bdf;       /* bus << 8 | dev << 3 | fn */
	uint8_t bar;        /* 0..5, 6 = expansion ROM */
	uint8_t is_io;
	uint8_t is_64;
	uint8_t pad;
	uint32_t size;      /* a power of two */
	uint32_t addr;      /* out: assigned address, 0 if it did not fit */
};

struct pci_window {
	uint32_t base;      /* first address */
	uint32_t end;       /* one past the last */
};

/* Places every request, largest first, each aligned to its size.  Returns
 * the number that did not fit (their addr stays 0). */
int pci_alloc_bars(struct pci_bar_req *reqs, int n, struct pci_window io,
		   struct pci_window mem);

/* ---- PCI interrupt routing ----------------------------------------------- */
/* i440FX/PIIX3 board wiring (QEMU's piix3 and SeaBIOS agree): device `slot`
 * pin INTx (1 = INTA) reaches PIRQ ((pin - 1) + (slot - 1)) & 3. */
int pirq_for_pin(int slot, int pin);

/* The PCI IRQ Routing Table ($PIR, Microsoft's PCI IRQ Routing Table
 * Specification 1.0): header + one 16-byte entry per slot in `slots`.
 * Link values are the PIIX3 PIRQ route control registers 0x60..0x63.
 * Returns the table size, or 0 if it does not fit in `len`. */
size_t pirq_build_table(uint8_t *buf, size_t len, const uint8_t *slots, int nslots,
			uint8_t router_devfn, uint16_t router_vendor,
			uint16_t router_device, uint16_t irq_bitmap);
uint8_t table_checksum(const uint8_t *p, size_t len);

/* ---- ACPI linker/loader (QEMU docs/specs/fw_cfg.rst, hw/acpi/bios-linker-loader.c) */
#define LOADER_FILESZ 56
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_WRITE_POINTER 4
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
#define LOADER_MAX_FILES 16

struct loader_ops {
	void *ctx;
	/* fw_cfg file size; -1 if there is no such file */
	int (*file_size)(void *ctx, const char *name, uint32_t *size);
	/* guest-physical address of `size` bytes in `zone`, 0 on failure */
	uint32_t (*alloc)(void *ctx, int zone, uint32_t size, uint32_t align);
	/* where guest-physical `addr` can be read and written */
	uint8_t *(*ptr)(void *ctx, uint32_t addr);
	/* copy the fw_cfg file into addr; 0 or -1 */
	int (*read_file)(void *ctx, const char *name, uint32_t addr, uint32_t size);
	/* write `len` bytes into fw_cfg file `name` at `offset`; 0 or -1 */
	int (*write_file)(void *ctx, const char *name, uint32_t offset, const void *data,
			  uint32_t len);
};

struct loader_file {
	char name[LOADER_FILESZ];
	uint32_t addr;
	uint32_t size;
};

struct loader_result {
	int nfiles;
	struct loader_file files[LOADER_MAX_FILES];
	int commands;   /* commands carried out */
	int skipped;    /* commands with an unknown type (the spec says: ignore) */
	const char *error; /* first error, NULL if none */
};

/* Runs the etc/table-loader script `script` (len bytes, 128-byte entries).
 * Returns 0, or -1 with res->error set (processing stops at the error). */
int acpi_run_loader(const uint8_t *script, uint32_t len, const struct loader_ops *ops,
		    struct loader_result *res);
/* The allocated address of `name`, 0 if it was not allocated. */
uint32_t loader_file_addr(const struct loader_result *res, const char *name);

/* ---- disk geometry ------------------------------------------------------- */
struct chs {
	uint32_t cylinders;
	uint32_t heads;
	uint32_t sectors;
};

/* The geometry int 13h AH=02/03/08 use: the drive's own (IDENTIFY words
 * 1/3/6) when it has at most 1024 cylinders, else an LBA-assist translation
 * (heads 16/32/64/128/255, 63 sectors), cylinders capped at 1024. */
struct chs bios_geometry(struct chs identify, uint64_t total_sectors);
/* LBA of a CHS address (sector counts from 1); -1 if out of the geometry. */
int64_t chs_to_lba(struct chs g, uint32_t cyl, uint32_t head, uint32_t sector);
/* The DRQ block size int 13h asks for with SET MULTIPLE MODE, from IDENTIFY
 * word 47 (low byte: the most sectors per block the drive allows): the
 * largest power of two up to that and 16; 0 (multiple mode off) below 2. */
unsigned ata_multiple_sectors(uint16_t id47);

#ifdef __cplusplus
}
#endif
#endif
