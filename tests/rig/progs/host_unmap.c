/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host_unmap: guest RAM is ordinary memory of the VMM process; when the
 * host takes a page away, replaces it or shares it copy-on-write, the
 * guest must see what the process sees, never a stale mapping.  The guest
 * (32-bit paging, its data mapped by one 4 MiB page over a slot the host
 * backs with transparent huge pages where it can) reads and writes the
 * words it is given, round after round, while the host:
 *   - drops one 4 KiB page (MADV_DONTNEED, splitting a huge page): the
 *     guest reads zero there, the rest unchanged;
 *   - writes pages behind the guest's back: the guest reads the new words;
 *   - forks: the pages are then shared copy-on-write with the child, and
 *     the guest's writes must go to the parent's copy only;
 *   - maps fresh memory over 2 MiB of the slot (mmap MAP_FIXED).
 * Under nested paging this exercises the nested table's invalidation, with
 * npt=0 the shadow MMU's (MMU notifier, reverse map, large leaves).
 *
 * Output is TAP-like ("ok N - ...", "not ok N - ..."); exit status 1 if a
 * check failed, 2 on a setup error.
 *
 * Build: gcc -static -O2 -Wall -Wextra -I include/uapi -o host_unmap \
 *            tests/rig/progs/host_unmap.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm-abi.h"
#include "tap_guest.h"

#define PAGE		4096UL
#define HUGE		(2UL << 20)
#define LOW_SIZE	(2UL << 20)	/* slot 0: code, tables, list, results */
#define DATA_GPA	(4UL << 20)	/* slot 1: one guest 4 MiB page */
#define DATA_SIZE	(4UL << 20)
#define DATA_PAGES	(DATA_SIZE / PAGE)
#define PD_GPA		0x1000
#define PT_GPA		0x2000
#define LIST_GPA	0x3000		/* count, then (gpa | write, value) */
#define RESULTS_GPA	0x4000		/* the word read, per list entry */
#define CODE_GPA	0x10000
#define SYNC_PORT	0x10
#define MAX_OPS		64

/*
 * 32-bit code at CODE_GPA (nasm, bits 32):
 *	start:	mov ecx, [LIST_GPA]
 *		xor esi, esi
 *	.loop:	cmp esi, ecx
 *		jge .done
 *		mov eax, [LIST_GPA + 4 + esi * 8]	; gpa, bit 0: write
 *		mov edx, [LIST_GPA + 8 + esi * 8]	; the word to write
 *		test al, 1
 *		jnz .wr
 *		mov edx, [eax]
 *		mov [RESULTS_GPA + esi * 4], edx
 *		jmp .next
 *	.wr:	and al, 0xfe
 *		mov [eax], edx
 *	.next:	inc esi
 *		jmp .loop
 *	.done:	out SYNC_PORT, al
 *		jmp start
 */
static const uint8_t guest_code[] = {
	0x8b, 0x0d, 0x00, 0x30, 0x00, 0x00, 0x31, 0xf6, 0x39, 0xce, 0x7d, 0x24,
	0x8b, 0x04, 0xf5, 0x04, 0x30, 0x00, 0x00, 0x8b, 0x14, 0xf5, 0x08, 0x30,
	0x00, 0x00, 0xa8, 0x01, 0x75, 0x0b, 0x8b, 0x10, 0x89, 0x14, 0xb5, 0x00,
	0x40, 0x00, 0x00, 0xeb, 0x04, 0x24, 0xfe, 0x89, 0x10, 0x46, 0xeb, 0xd8,
	0xe6, SYNC_PORT, 0xeb, 0xcc,
};

static int vm, vcpu;
static struct kvm_run *run;
static uint8_t *low, *data;

/* What the guest does in one round: reads (write 0) and writes. */
struct op {
	unsigned int page;
	int write;
	uint32_t value;		/* written, or expected when read */
};

static uint32_t host_word(unsigned int page)
{
	uint32_t v;

	memcpy(&v, data + page * PAGE, 4);
	return v;
}

static void set_host_word(unsigned int page, uint32_t v)
{
	memcpy(data + page * PAGE, &v, 4);
}

/*
 * The guest does @ops in order; every read must give its value.  Returns
 * 0 when the round ran (whatever it read), -1 when the guest did not get
 * to its OUT.
 */
static int round_of(const char *name, const struct op *ops, unsigned int n)
{
	char detail[256] = "";
	unsigned int i, bad = 0;
	uint32_t count = n;

	memcpy(low + LIST_GPA, &count, 4);
	for (i = 0; i < n; i++) {
		uint32_t gpa = (uint32_t)(DATA_GPA + ops[i].page * PAGE) | !!ops[i].write;

		memcpy(low + LIST_GPA + 4 + i * 8, &gpa, 4);
		memcpy(low + LIST_GPA + 8 + i * 8, &ops[i].value, 4);
	}
	if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO ||
	    run->io.port != SYNC_PORT) {
		snprintf(detail, sizeof(detail), "KVM_RUN: %s, exit reason %u",
			 strerror(errno), run->exit_reason);
		check(0, name, detail);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint32_t got;

		if (ops[i].write)
			continue;
		memcpy(&got, low + RESULTS_GPA + i * 4, 4);
		if (got != ops[i].value && bad++ < 4) {
			size_t l = strlen(detail);

			snprintf(detail + l, sizeof(detail) - l,
				 "page %u read 0x%x, not 0x%x; ", ops[i].page,
				 got, ops[i].value);
		}
	}
	check(!bad, name, detail);
	return 0;
}

static uint32_t pattern(unsigned int page)
{
	return 0xa0000000u + page;
}

/* How much of the data slot the host backs with huge pages, in KiB. */
static long anon_huge_kib(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	unsigned long lo, hi;
	long kib = -1;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {	/* a mapping's first line */
			in = lo <= (uintptr_t)data && (uintptr_t)data < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static void setup(void)
{
	struct kvm_userspace_memory_region r0 = { 0 }, r1 = { 0 };
	uint32_t *pd, *pt;
	uint8_t *raw;
	unsigned int i;
	int kvm;

	vm = new_vm(&kvm);
	low = mmap(NULL, LOW_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* The data slot at a 2 MiB boundary, so that huge pages can back it. */
	raw = mmap(NULL, DATA_SIZE + HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (low == MAP_FAILED || raw == MAP_FAILED)
		die("mmap");
	data = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(data, DATA_SIZE, MADV_HUGEPAGE);	/* a hint only */
	for (i = 0; i < DATA_PAGES; i++)
		set_host_word(i, pattern(i));

	pd = (uint32_t *)(low + PD_GPA);
	pt = (uint32_t *)(low + PT_GPA);
	pd[0] = PT_GPA | 3;
	for (i = 0; i < LOW_SIZE / PAGE; i++)
		pt[i] = i * PAGE | 3;		/* the low slot, 4 KiB pages */
	pd[DATA_GPA >> 22] = DATA_GPA | 0x83;	/* one 4 MiB page (PSE) */
	memcpy(low + CODE_GPA, guest_code, sizeof(guest_code));

	r0.slot = 0;
	r0.memory_size = LOW_SIZE;
	r0.userspace_addr = (uintptr_t)low;
	r1.slot = 1;
	r1.guest_phys_addr = DATA_GPA;
	r1.memory_size = DATA_SIZE;
	r1.userspace_addr = (uintptr_t)data;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r0) ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r1))
		die("KVM_SET_USER_MEMORY_REGION");

	vcpu = flat32_paging_vcpu(kvm, vm, PD_GPA, 0x10 /* PSE */, CODE_GPA, &run);
}

/* The child after fork: wait for the word, then report its own copies. */
static void child_reports(int go, int back, const unsigned int *pages, int n)
{
	uint32_t words[8];
	char c;
	int i;

	if (read(go, &c, 1) != 1)
		_exit(3);
	for (i = 0; i < n; i++)
		words[i] = host_word(pages[i]);
	if (write(back, words, n * 4) != n * 4)
		_exit(3);
	_exit(0);
}

int main(void)
{
	static const unsigned int spread[] = { 0, 1, 2, 300, 511, 512, 600, 1000, 1023 };
	struct op ops[MAX_OPS];
	unsigned int i, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();

	n = 0;
	for (i = 0; i < sizeof(spread) / sizeof(spread[0]); i++)
		ops[n++] = (struct op){ spread[i], 0, pattern(spread[i]) };
	if (round_of("the guest reads what the host wrote", ops, n))
		goto out;
	printf("# AnonHugePages of the data slot: %ld kB\n", anon_huge_kib());

	/* One 4 KiB page taken away (a huge page over it is split). */
	if (madvise(data + PAGE, PAGE, MADV_DONTNEED))
		die("madvise(MADV_DONTNEED)");
	ops[1].value = 0;
	if (round_of("a page the host dropped reads as zero, the rest unchanged",
		     ops, n))
		goto out;

	/* The host writes behind the guest's back, on a new page and an old one. */
	set_host_word(1, 0xb0000001);
	set_host_word(600, 0xb0000600);
	ops[1].value = 0xb0000001;
	ops[6].value = 0xb0000600;
	if (round_of("host writes are seen by the guest", ops, n))
		goto out;

	/* The guest writes; the host's mapping has the words. */
	{
		struct op w[] = { { 1, 1, 0xc0000001 }, { 700, 1, 0xc0000700 },
				  { 1023, 1, 0xc0001023 } };

		if (round_of("the guest writes (round)", w, 3))
			goto out;
		check(host_word(1) == 0xc0000001 && host_word(700) == 0xc0000700 &&
		      host_word(1023) == 0xc0001023,
		      "guest writes reach the host's mapping", "old words there");
	}

	/* fork: guest RAM shared copy-on-write with the child. */
	{
		static const unsigned int cow[] = { 700, 2, 1023 };
		struct op w[] = { { 700, 1, 0xd0000700 }, { 2, 1, 0xd0000002 },
				  { 1023, 1, 0xd0001023 }, { 700, 0, 0xd0000700 },
				  { 2, 0, 0xd0000002 } };
		uint32_t words[3] = { 0, 0, 0 };
		int go[2], back[2], status;
		char detail[128];
		pid_t pid;

		if (pipe(go) || pipe(back))
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			child_reports(go[0], back[1], cow, 3);
		if (round_of("after fork, the guest writes and reads back its words",
			     w, 5))
			goto out;
		if (write(go[1], "x", 1) != 1 ||
		    read(back[0], words, sizeof(words)) != sizeof(words))
			die("talking to the child");
		waitpid(pid, &status, 0);
		snprintf(detail, sizeof(detail),
			 "the child sees 0x%x 0x%x 0x%x", words[0], words[1], words[2]);
		check(words[0] == 0xc0000700 && words[1] == pattern(2) &&
		      words[2] == 0xc0001023,
		      "the guest's writes after fork do not reach the child's copy",
		      detail);
		check(host_word(700) == 0xd0000700 && host_word(2) == 0xd0000002,
		      "and they reach the parent's", "old words there");
	}

	/* Fresh memory over the second 2 MiB of the slot. */
	if (mmap(data + HUGE, HUGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		die("mmap(MAP_FIXED)");
	n = 0;
	ops[n++] = (struct op){ 512, 0, 0 };
	ops[n++] = (struct op){ 1000, 0, 0 };
	ops[n++] = (struct op){ 1023, 0, 0 };
	ops[n++] = (struct op){ 300, 0, pattern(300) };
	if (round_of("2 MiB the host mapped afresh read as zero", ops, n))
		goto out;
	set_host_word(1000, 0xe0001000);
	ops[1].value = 0xe0001000;
	round_of("and the host's writes there are seen", ops, n);
out:
	printf("# %d passed, %d failed\n", n_test - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
