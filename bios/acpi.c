/*
 * ACPI and CPUs.  The ACPI tables come from fw_cfg, built by the VMM (QEMU,
 * or kvm-run): etc/table-loader says which files to place where and how to
 * link them (acpi_loader.c); etc/acpi/rsdp lands in the F segment, where
 * an OS finds it.  The same tables describe every CPU (MADT), so the OS
 * starts the application processors itself.
 *
 * cpu_setup: MTRRs as firmware leaves them (enabled, write-back by default,
 * the VGA window uncached, the PCI hole 0xE0000000-4 GiB uncached) and the
 * local APIC in virtual-wire mode (LINT0 ExtINT, LINT1 NMI) so the PIC's
 * interrupts reach this CPU.
 */
#include "bios.h"

int ncpus = 1;

static int ld_file_size(void *ctx, const char *name, u32 *size)
{
	u16 key;

	(void)ctx;
	return fwcfg_find(name, &key, size);
}

static u32 ld_alloc(void *ctx, int zone, u32 size, u32 align)
{
	(void)ctx;
	return zone == LOADER_ZONE_FSEG ? fseg_alloc(size, align) : high_alloc(size, align);
}

static u8 *ld_ptr(void *ctx, u32 addr)
{
	(void)ctx;
	return lin(addr);
}

static int ld_read_file(void *ctx, const char *name, u32 addr, u32 size)
{
	(void)ctx;
	return fwcfg_read_file(name, lin(addr), size) == (int)size ? 0 : -1;
}

static int ld_write_file(void *ctx, const char *name, u32 offset, const void *data, u32 len)
{
	(void)ctx;
	return fwcfg_write_file(name, offset, data, len);
}

void acpi_setup(void)
{
	static struct loader_result res;
	struct loader_ops ops = {
		.ctx = NULL,
		.file_size = ld_file_size,
		.alloc = ld_alloc,
		.ptr = ld_ptr,
		.read_file = ld_read_file,
		.write_file = ld_write_file,
	};
	u16 key;
	u32 size, script;
	u32 rsdp;

	if (fwcfg_find("etc/table-loader", &key, &size) || !size) {
		printf("ACPI: no etc/table-loader from the VMM; booting without ACPI tables\n");
		return;
	}
	script = high_alloc(size, 16);
	if (!script) {
		printf("ACPI: no room for etc/table-loader (%u bytes)\n", size);
		return;
	}
	fwcfg_read_key(key, lin(script), size);
	if (acpi_run_loader(lin(script), size, &ops, &res)) {
		printf("ACPI: etc/table-loader failed: %s\n", res.error);
		return;
	}
	rsdp = loader_file_addr(&res, "etc/acpi/rsdp");
	if (!rsdp || memcmp(lin(rsdp), "RSD PTR ", 8)) {
		printf("ACPI: the loader placed no RSDP\n");
		return;
	}
	printf("ACPI: RSDP at %x, %d loader commands\n", rsdp, res.commands);
}

/*
 * SMBIOS: QEMU offers the structures (etc/smbios/smbios-tables) and an
 * entry point template (etc/smbios/smbios-anchor, "_SM_" 2.x or "_SM3_"
 * 3.0); the firmware places the structures (with a type 0 of its own in
 * front when QEMU sends none), points the entry point at them, fixes its
 * lengths and checksums and puts it in the F segment.
 */
/* Is there a structure of `type` among the `len` bytes of structures? */
static int smbios_has_type(const u8 *p, u32 len, u8 type)
{
	const u8 *end = p + len;

	while (p + 4 <= end && p[1] >= 4) {
		const u8 *s = p + p[1];

		if (p[0] == type)
			return 1;
		while (s + 1 < end && (s[0] || s[1]))
			s++;
		p = s + 2;              /* past the double NUL */
	}
	return 0;
}

/* Our type 0 (BIOS information), when the VMM gives none: vendor, version,
 * release date; 128 KiB at 0xE0000; ACPI supported; a virtual machine. */
static u32 smbios_type0(u8 *buf)
{
	static const char strings[] = BIOS_NAME "\0" "1.0\0" "01/01/2026\0";
	u8 t0[0x18] = {
		0x00, 0x18, 0x00, 0x00, /* type 0, length, handle 0 */
		1, 2, 0x00, 0xe0,       /* vendor, version, segment E000h */
		3, 1,                   /* release date, ROM size (n+1) * 64 KiB */
		0x08, 0, 0, 0, 0, 0, 0, 0, /* characteristics not supported */
		0x01, 0x10,             /* ACPI; virtual machine */
		1, 0, 0xff, 0xff,       /* BIOS release 1.0, no embedded controller */
	};

	memcpy(buf, t0, sizeof(t0));
	memcpy(buf + sizeof(t0), strings, sizeof(strings));   /* ends in two NULs */
	return (u32)(sizeof(t0) + sizeof(strings));
}

void smbios_setup(void)
{
	u16 akey, tkey;
	u32 asize, tsize, tables, anchor, t0len = 0;
	u8 *a, *t;

	if (fwcfg_find("etc/smbios/smbios-anchor", &akey, &asize) ||
	    fwcfg_find("etc/smbios/smbios-tables", &tkey, &tsize) || asize < 24 || asize > 32)
		return;
	tables = high_alloc(tsize + 128, 16);
	anchor = fseg_alloc(asize, 16);
	if (!tables || !anchor) {
		printf("SMBIOS: no room for the tables\n");
		return;
	}
	t = lin(tables);
	fwcfg_read_key(tkey, t + 128, tsize);
	if (!smbios_has_type(t + 128, tsize, 0)) {
		u8 tmp[128];

		t0len = smbios_type0(tmp);
		memcpy(t + 128 - t0len, tmp, t0len);
	}
	tables += 128 - t0len;
	a = lin(anchor);
	fwcfg_read_key(akey, a, asize);
	if (!memcmp(a, "_SM3_", 5) && asize >= 24) {
		u32 max;

		memcpy(&max, a + 0x0c, 4);
		max += t0len;
		memcpy(a + 0x0c, &max, 4);
		memcpy(a + 0x10, &tables, 4);
		memset(a + 0x14, 0, 4);
		a[5] = 0;
		a[5] = (u8)-table_checksum(a, a[6] < asize ? a[6] : asize);
	} else if (!memcmp(a, "_SM_", 4) && asize >= 31) {
		u16 len, count, maxs;

		memcpy(&len, a + 0x16, 2);
		memcpy(&count, a + 0x1c, 2);
		memcpy(&maxs, a + 0x08, 2);
		len = (u16)(len + t0len);
		count = (u16)(count + (t0len ? 1 : 0));
		if (t0len > maxs)
			maxs = (u16)t0len;
		memcpy(a + 0x16, &len, 2);
		memcpy(a + 0x1c, &count, 2);
		memcpy(a + 0x08, &maxs, 2);
		memcpy(a + 0x18, &tables, 4);
		a[0x15] = 0;
		a[0x15] = (u8)-table_checksum(a + 0x10, 0x0f);
		a[4] = 0;
		a[4] = (u8)-table_checksum(a, a[5] < asize ? a[5] : asize);
	} else {
		printf("SMBIOS: unknown entry point in etc/smbios/smbios-anchor\n");
	}
}

#define MSR_MTRRcap 0xfe
#define MSR_MTRRdefType 0x2ff
#define MSR_MTRRfix64K_00000 0x250
#define MSR_MTRRfix16K_80000 0x258
#define MSR_MTRRfix16K_A0000 0x259
#define MSR_MTRRfix4K_C0000 0x268
#define MSR_MTRRphysBase0 0x200
#define MSR_MTRRphysMask0 0x201
#define MTRR_UC 0x00
#define MTRR_WB 0x06
#define MTRR_WP 0x05

static void mtrr_setup(void)
{
	u32 a, b, c, d, phys_bits = 36, i;
	u64 wb8 = 0x0606060606060606ull, uc8 = 0, wp8 = 0x0505050505050505ull;

	cpuid(1, &a, &b, &c, &d);
	if (!(d & (1 << 12)))           /* no MTRRs */
		return;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a >= 0x80000008) {
		cpuid(0x80000008, &a, &b, &c, &d);
		phys_bits = a & 0xff;
	}
	wrmsr(MSR_MTRRfix64K_00000, wb8);
	wrmsr(MSR_MTRRfix16K_80000, wb8);
	wrmsr(MSR_MTRRfix16K_A0000, uc8);          /* VGA window */
	for (i = 0; i < 8; i++)                    /* C0000-FFFFF: ROMs and BIOS */
		wrmsr(MSR_MTRRfix4K_C0000 + i, i < 4 ? uc8 : wp8);
	(void)wp8;
	/* variable MTRR 0: 0xE0000000-0xFFFFFFFF (the PCI hole) uncached */
	if ((rdmsr(MSR_MTRRcap) & 0xff) >= 1) {
		u64 mask = ((1ull << phys_bits) - 1) & ~(0x20000000ull - 1);

		wrmsr(MSR_MTRRphysBase0, 0xe0000000ull | MTRR_UC);
		wrmsr(MSR_MTRRphysMask0, mask | 0x800);
	}
	wrmsr(MSR_MTRRdefType, 0xc00 | MTRR_WB);   /* enabled, fixed on, WB */
}

static void lapic_virtual_wire(void)
{
	u32 a, b, c, d;
	u64 base;
	volatile u32 *apic;

	cpuid(1, &a, &b, &c, &d);
	if (!(d & (1 << 9)))
		return;
	base = rdmsr(0x1b);
	if (!(base & (1 << 11)))
		return;                 /* globally disabled: the PIC goes straight in */
	apic = lin((u32)(base & 0xfffff000u));
	apic[0xf0 / 4] = apic[0xf0 / 4] | 0x100;   /* software enable */
	apic[0x350 / 4] = 0x00000700;              /* LINT0: ExtINT */
	apic[0x360 / 4] = 0x00000400;              /* LINT1: NMI */
}

/* entry.asm: the AP start-up code and its data */
extern char ap_tramp[], ap_tramp_end[], ap_msr_table[], ap_started[];
#define AP_START 0x8000         /* SIPI vector 08h */
#define AP_MSRS_MAX 40
#define AP_WAIT_MS 3000        /* for every AP to count itself */

static volatile u32 *lapic(void)
{
	return lin((u32)(rdmsr(0x1b) & 0xfffff000u));
}

static void lapic_icr(u32 low)
{
	volatile u32 *apic = lapic();
	struct deadline t;

	apic[0x310 / 4] = 0;
	apic[0x300 / 4] = low;
	deadline_start(&t, 10);
	while ((apic[0x300 / 4] & (1 << 12)) && !deadline_expired(&t))
		;                       /* delivery pending */
}

/* Start every AP once, so each gets the BSP's MTRRs (an OS expects all
 * CPUs to agree), and count them. */
static void smp_setup(void)
{
	u32 *table = lin(AP_START + (u32)(ap_msr_table - ap_tramp));
	volatile u32 *started = lin(AP_START + (u32)(ap_started - ap_tramp));
	u32 a, b, c, d, n = 0, i, vcnt;
	struct deadline t;

	cpuid(1, &a, &b, &c, &d);
	if (ncpus < 2 || !(d & (1 << 9)) || !(rdmsr(0x1b) & (1 << 11)))
		return;
	memcpy(lin(AP_START), ap_tramp, (size_t)(ap_tramp_end - ap_tramp));
#define AP_MSR(m) do { u64 v = rdmsr(m); table[3 * n] = (m); \
		table[3 * n + 1] = (u32)v; table[3 * n + 2] = (u32)(v >> 32); n++; } while (0)
	if (d & (1 << 12)) {
		AP_MSR(MSR_MTRRfix64K_00000);
		AP_MSR(MSR_MTRRfix16K_80000);
		AP_MSR(MSR_MTRRfix16K_A0000);
		for (i = 0; i < 8; i++)
			AP_MSR(MSR_MTRRfix4K_C0000 + i);
		vcnt = (u32)rdmsr(MSR_MTRRcap) & 0xff;
		for (i = 0; i < vcnt && n + 3 < AP_MSRS_MAX; i++) {
			AP_MSR(MSR_MTRRphysBase0 + 2 * i);
			AP_MSR(MSR_MTRRphysMask0 + 2 * i);
		}
		AP_MSR(MSR_MTRRdefType);   /* last: it turns them on */
	}
#undef AP_MSR
	table[3 * n] = 0;
	*started = 0;
	lapic_icr(0x000c4500);          /* INIT to all but self */
	udelay(10000);
	lapic_icr(0x000c4600 | (AP_START >> 12));   /* SIPI, twice (MP spec) */
	udelay(200);
	lapic_icr(0x000c4600 | (AP_START >> 12));
	deadline_start(&t, AP_WAIT_MS);
	while (*started < (u32)ncpus - 1 && !deadline_expired(&t))
		;
	if (*started != (u32)ncpus - 1) {
		/*
		 * An AP that answers later would run the trampoline after the
		 * boot loader has put its own code at 0x8000 (ldlinux.sys
		 * loads there), and run it alongside the BSP.  INIT puts every
		 * AP back to waiting for a SIPI, MTRRs kept (SDM 9.1.1), which
		 * is where an OS expects to find them.
		 */
		lapic_icr(0x000c4500);
		printf("CPUs: only %u of %d application processors answered INIT-SIPI in %u ms; "
		       "all wait for the OS's SIPI\n", *started, ncpus - 1, AP_WAIT_MS);
	}
}

void cpu_setup(void)
{
	u16 n = 0;

	mtrr_setup();
	lapic_virtual_wire();
	if (fwcfg_present()) {
		fwcfg_read_key(FW_CFG_NB_CPUS, &n, 2);
		if (n)
			ncpus = n;
	}
	smp_setup();
}
