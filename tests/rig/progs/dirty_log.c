/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dirty_log: KVM_GET_DIRTY_LOG while a guest with paging on writes memory.
 * Each round the guest writes a chosen set of pages of a logged slot and
 * exits (OUT); the log must then name exactly those pages, and the next
 * round must catch writes to pages already reported (they are protected
 * again when the log is read).  Under nested paging this exercises the
 * nested table; with npt=0 the shadow MMU's write protection.
 *
 * Output is TAP-like ("ok N - ...", "not ok N - ..."); exit status 1 if a
 * check failed, 2 on a setup error.
 *
 * Build: gcc -static -O2 -Wall -Wextra -I include/uapi -o dirty_log \
 *            tests/rig/progs/dirty_log.c
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
#include <unistd.h>

#include "kvm-abi.h"
#include "tap_guest.h"

#define PAGE		4096UL
#define LOW_SIZE	(2UL << 20)	/* slot 0: code, page tables, the list */
#define LOG_BASE	LOW_SIZE	/* slot 1: logged, 512 pages */
#define LOG_PAGES	512
#define PD_GPA		0x1000
#define PT_GPA		0x2000
#define LIST_GPA	0x3000		/* count, then page indices */
#define CODE_GPA	0x10000
#define SYNC_PORT	0x10

/*
 * 32-bit code at CODE_GPA:
 *	start:	mov ecx, [LIST_GPA]
 *		xor esi, esi
 *	loop:	cmp esi, ecx
 *		jge done
 *		mov eax, [LIST_GPA + 4 + esi * 4]
 *		shl eax, 12
 *		lea edx, [esi + 1]
 *		mov [eax + LOG_BASE], edx
 *		inc esi
 *		jmp loop
 *	done:	out SYNC_PORT, al
 *		jmp start
 */
static const uint8_t guest_code[] = {
	0x8b, 0x0d, 0x00, 0x30, 0x00, 0x00,
	0x31, 0xf6,
	0x39, 0xce,
	0x7d, 0x16,
	0x8b, 0x04, 0xb5, 0x04, 0x30, 0x00, 0x00,
	0xc1, 0xe0, 0x0c,
	0x8d, 0x56, 0x01,
	0x89, 0x90, 0x00, 0x00, 0x20, 0x00,
	0x46,
	0xeb, 0xe6,
	0xe6, SYNC_PORT,
	0xeb, 0xda,
};

static int kvm, vm, vcpu;
static struct kvm_run *run;
static uint8_t *low, *logged;

/* Run until the guest's OUT to SYNC_PORT; 0 on success. */
static int run_round(void)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return -1;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == SYNC_PORT)
			return 0;
		printf("# unexpected exit %u\n", run->exit_reason);
		return -1;
	}
}

static void get_log(uint64_t *bitmap)
{
	struct kvm_dirty_log dl = { .slot = 1, .dirty_bitmap = bitmap };

	memset(bitmap, 0, LOG_PAGES / 8);
	if (ioctl(vm, KVM_GET_DIRTY_LOG, &dl))
		die("KVM_GET_DIRTY_LOG");
}

/* One round: the guest writes @pages; the log must name exactly them. */
static void round_of(const char *name, const uint32_t *pages, unsigned int n)
{
	uint64_t bitmap[LOG_PAGES / 64], want[LOG_PAGES / 64];
	char detail[256] = "";
	unsigned int i, bad = 0;
	int data_ok = 1;

	memcpy(low + LIST_GPA, &n, 4);
	memcpy(low + LIST_GPA + 4, pages, n * 4);
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++)
		want[pages[i] / 64] |= 1ULL << (pages[i] % 64);
	if (run_round()) {
		check(0, name, "the guest did not reach its OUT");
		return;
	}
	get_log(bitmap);
	for (i = 0; i < LOG_PAGES; i++) {
		int got = !!(bitmap[i / 64] & (1ULL << (i % 64)));
		int exp = !!(want[i / 64] & (1ULL << (i % 64)));

		if (got != exp && bad++ < 4) {
			size_t l = strlen(detail);

			snprintf(detail + l, sizeof(detail) - l, "page %u %s; ", i,
				 got ? "reported, not written" : "written, not reported");
		}
	}
	for (i = 0; i < n; i++) {
		uint32_t v;
		unsigned int j, last = i;

		for (j = i + 1; j < n; j++)	/* the last write to the page wins */
			if (pages[j] == pages[i])
				last = j;
		memcpy(&v, logged + pages[i] * PAGE, 4);
		if (v != last + 1)
			data_ok = 0;
	}
	if (!data_ok)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 "guest data not in memory");
	check(!bad && data_ok, name, detail);
}

int main(void)
{
	struct kvm_userspace_memory_region r0 = { 0 }, r1 = { 0 };
	static uint32_t all[LOG_PAGES];
	uint64_t bitmap[LOG_PAGES / 64];
	uint32_t *pd, *pt;
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vm = new_vm(&kvm);
	low = mmap(NULL, LOW_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	logged = mmap(NULL, LOG_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (low == MAP_FAILED || logged == MAP_FAILED)
		die("mmap");

	pd = (uint32_t *)(low + PD_GPA);
	pt = (uint32_t *)(low + PT_GPA);
	pd[0] = PT_GPA | 7;
	for (i = 0; i < 1024; i++)
		pt[i] = i * PAGE | 7;	/* identity 0-4 MiB, 4 KiB pages */
	memcpy(low + CODE_GPA, guest_code, sizeof(guest_code));

	r0.slot = 0;
	r0.guest_phys_addr = 0;
	r0.memory_size = LOW_SIZE;
	r0.userspace_addr = (uintptr_t)low;
	r1.slot = 1;
	r1.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r1.guest_phys_addr = LOG_BASE;
	r1.memory_size = LOG_PAGES * PAGE;
	r1.userspace_addr = (uintptr_t)logged;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r0) ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r1))
		die("KVM_SET_USER_MEMORY_REGION");

	vcpu = flat32_paging_vcpu(kvm, vm, PD_GPA, 0, CODE_GPA, &run);

	/* Nothing written yet: an empty log. */
	get_log(bitmap);
	for (i = 0; i < LOG_PAGES / 64 && !bitmap[i]; i++)
		;
	check(i == LOG_PAGES / 64, "empty log before the guest runs", "bits set");

	{
		static const uint32_t p1[] = { 0, 5, 17, 300, 511 };
		static const uint32_t p2[] = { 5, 400 };
		static const uint32_t p3[] = { 17, 17, 17 };

		round_of("first writes are logged", p1, 5);
		round_of("pages reported before are caught again", p2, 2);
		round_of("a round without writes logs nothing", NULL, 0);
		round_of("repeated writes to one page: one bit", p3, 3);
	}
	for (i = 0; i < LOG_PAGES; i++)
		all[i] = LOG_PAGES - 1 - i;
	round_of("every page of the slot", all, LOG_PAGES);
	round_of("again every page of the slot", all, LOG_PAGES);

	printf("# %d passed, %d failed\n", n_test - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
