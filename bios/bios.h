/*
 * Our legacy PC BIOS: shared declarations.
 *
 * Everything in C runs in 32-bit flat protected mode with interrupts off:
 * POST directly, and every BIOS service through entry.asm's trampoline,
 * which saves the caller's registers in a struct bregs on the caller's
 * stack, switches to protected mode and our own stack, calls the C handler
 * with a pointer to that frame, and returns to real mode with the frame
 * (possibly changed) as the caller's new registers.  Real-mode addresses
 * are therefore plain linear numbers here: seg * 16 + off.
 *
 * Limits: services are for real-mode callers (a virtual-8086 caller would
 * fault on the switch to protected mode); a caller in "unreal" mode gets
 * 64 KiB segment limits back; the A20 gate is left enabled.
 */
#ifndef BIOS_H
#define BIOS_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "bstring.h"
#include "tables.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define BIOS_NAME "kvm-run BIOS"

/* Register frame the trampoline builds (entry.asm; order matters). */
struct bregs {
	u16 gs, fs, es, ds;
	union { u32 edi; u16 di; };
	union { u32 esi; u16 si; };
	union { u32 ebp; u16 bp; };
	u32 esp_unused;
	union { u32 ebx; u16 bx; struct { u8 bl, bh; }; };
	union { u32 edx; u16 dx; struct { u8 dl, dh; }; };
	union { u32 ecx; u16 cx; struct { u8 cl, ch; }; };
	union { u32 eax; u16 ax; struct { u8 al, ah; }; };
	u32 handler;
	u16 ip, cs, flags;
} __attribute__((packed));

#define FLAG_CF 0x0001
#define FLAG_ZF 0x0040
#define FLAG_IF 0x0200

static inline void set_cf(struct bregs *r, int on)
{
	if (on)
		r->flags |= FLAG_CF;
	else
		r->flags &= ~FLAG_CF;
}

static inline void *lin(u32 addr) { return (void *)(uintptr_t)addr; }
static inline void *far_ptr(u16 seg, u16 off) { return lin(((u32)seg << 4) + off); }

/* ---- port I/O ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void insw(u16 port, void *buf, u32 n)
{
	__asm__ volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void outsw(u16 port, const void *buf, u32 n)
{
	__asm__ volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void insb(u16 port, void *buf, u32 n)
{
	__asm__ volatile("rep insb" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (u64)hi << 32;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* ---- BIOS data area (0x400) ---- */
#define BDA 0x400
#define bda8(off) (*(volatile u8 *)lin(BDA + (off)))
#define bda16(off) (*(volatile u16 *)lin(BDA + (off)))
#define bda32(off) (*(volatile u32 *)lin(BDA + (off)))
#define BDA_COM1 0x00
#define BDA_EQUIPMENT 0x10
#define BDA_MEMSIZE_KB 0x13
#define BDA_KBD_FLAGS0 0x17
#define BDA_KBD_HEAD 0x1a
#define BDA_KBD_TAIL 0x1c
#define BDA_VIDEO_MODE 0x49
#define BDA_VIDEO_COLS 0x4a
#define BDA_VIDEO_PAGESIZE 0x4c
#define BDA_VIDEO_PAGESTART 0x4e
#define BDA_CURSOR_POS 0x50
#define BDA_CURSOR_SHAPE 0x60
#define BDA_VIDEO_PAGE 0x62
#define BDA_CRTC_BASE 0x63
#define BDA_TICKS 0x6c
#define BDA_MIDNIGHT 0x70
#define BDA_DISK_STATUS 0x74
#define BDA_NUM_HD 0x75
#define BDA_KBD_START 0x80
#define BDA_KBD_END 0x82
#define BDA_VIDEO_ROWS 0x84
#define BDA_CHAR_HEIGHT 0x85
#define BDA_EBDA_SEG 0x0e

#define EBDA_BASE 0x9fc00      /* 1 KiB extended BDA; base memory 639 KiB */
#define BOOT_SECTOR 0x7c00

/* entry.asm */
#define ACTION_NONE 0
#define ACTION_WAIT 1          /* sti; hlt; call the handler again */
#define ACTION_BOOT 2          /* jump to 0:7c00 with DL = boot_drive */
#define ACTION_HALT 3          /* sti; hlt forever */
extern volatile u8 bios_action;
extern volatile u8 boot_drive;

/* lib.c */
int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
int snprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pit_init(void);
void udelay(u32 us);
/* A deadline: TSC time, else PIT time (then poll deadline_expired() at
 * least every 50 ms). */
struct deadline { u64 tsc_end; u32 left_ticks; u16 last; };
void deadline_start(struct deadline *d, u32 ms);
int deadline_expired(struct deadline *d);

/* console.c: VGA text + COM1 */
void serial_init(void);
void serial_putc(char c);
int serial_getc(void);          /* -1 if nothing waiting */
void console_init(void);
void console_putc(char c);      /* teletype to page 0 and COM1 */
void handle_10(struct bregs *r);
void handle_10_mirror(struct bregs *r);
void console_end_post(void);
void vga_rom_init(void);

/* fwcfg.c */
int fwcfg_present(void);
int fwcfg_dma_present(void);
void fwcfg_read_key(u16 key, void *buf, u32 len);
int fwcfg_find(const char *name, u16 *key, u32 *size);
int fwcfg_read_file(const char *name, void *buf, u32 len);
int fwcfg_write_file(const char *name, u32 offset, const void *data, u32 len);
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_FILE_DIR 0x19

/* memory.c */
extern struct e820_map e820;
void memory_setup(void);
u32 high_alloc(u32 size, u32 align);
u32 fseg_alloc(u32 size, u32 align);
void handle_15(struct bregs *r);
void handle_12(struct bregs *r);
void handle_11(struct bregs *r);

/* pci.c */
u32 pci_read32(u16 bdf, u8 reg);
u16 pci_read16(u16 bdf, u8 reg);
u8 pci_read8(u16 bdf, u8 reg);
void pci_write32(u16 bdf, u8 reg, u32 v);
void pci_write16(u16 bdf, u8 reg, u16 v);
void pci_write8(u16 bdf, u8 reg, u8 v);
void pci_setup(void);
void handle_pcibios(struct bregs *r);

/* acpi.c */
void acpi_setup(void);
void smbios_setup(void);
void cpu_setup(void);
extern int ncpus;

/* ata.c / disk.c */
void disk_setup(void);
void handle_13(struct bregs *r);
int disk_read_mbr(u8 drive, void *buf);
extern int ndisks;

/* kbd.c */
void kbd_setup(void);
void handle_16(struct bregs *r);
void handle_irq1(struct bregs *r);

/* clock.c */
void clock_setup(void);
void handle_1a(struct bregs *r);

/* boot.c */
void handle_19(struct bregs *r);
void handle_18(struct bregs *r);
void handle_14(struct bregs *r);

#endif
