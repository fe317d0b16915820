/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pit_reinject: the in-kernel PIT's lost-tick policy, seen from a guest.
 *
 * A real-mode guest programs the PIC (IRQ0 only, vector 0x20) and PIT
 * channel 0 (mode 2, 1 kHz), then stops at an OUT to port 0x10 with
 * interrupts off; we keep it stopped for STOP_MS, so about STOP_MS ticks
 * fall due that it cannot take.  Resumed, it enables interrupts and counts
 * IRQ0s (its handler EOIs each on the PIC) until it has TICKS, then
 * reports the count with an OUT to port 0x11.  We time resume -> report:
 *
 *   reinjection on (KVM_CREATE_PIT2's default): the missed ticks arrive
 *   back to back, each right after the previous one's EOI, so TICKS come
 *   far faster than the 1 kHz rate allows;
 *   reinjection off (KVM_REINJECT_CONTROL pit_reinject=0): the missed
 *   ticks coalesce into one, and the other TICKS - 1 need as many ms of
 *   real time.
 *
 * Prints one line per mode, "reinject=on|off count=N ms=T" (N can pass
 * TICKS by the ticks taken before the guest's CLI), and exits 0;
 * 2 on a setup error or an unexpected exit (the scenario judges T).
 *
 * Build: gcc -static -O2 -Wall -Wextra -I include/uapi -o pit_reinject \
 *            tests/rig/progs/pit_reinject.c
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
#include <time.h>
#include <unistd.h>

#include "kvm-abi.h"

#define STOP_MS		500
#define TICKS		200
#define CODE_GPA	0x1000
#define MEM_SIZE	0x10000

/*
 * org 0x1000, real mode (nasm):
 *	cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x8000
 *	mov word [0x80], handler; mov word [0x82], 0	; IVT[0x20]
 *	ICW1 0x11, ICW2 0x20, ICW3 0x04, ICW4 0x01; OCW1 0xfe	; PIC
 *	out 0x43, 0x34; out 0x40, 0xa9; out 0x40, 0x04	; PIT: mode 2, 1193
 *	out 0x10, al					; "stop me"
 *	sti
 * .wait: hlt; cmp word [count], 200; jb .wait
 *	cli; mov ax, [count]; out 0x11, ax; hlt
 * handler: inc word [count]; push ax; mov al, 0x20; out 0x20, al; pop ax; iret
 * count: dw 0
 */
static const uint8_t guest_code[] = {
	0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x80, 0xc7, 0x06,
	0x80, 0x00, 0x49, 0x10, 0xc7, 0x06, 0x82, 0x00, 0x00, 0x00, 0xb0, 0x11,
	0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01,
	0xe6, 0x21, 0xb0, 0xfe, 0xe6, 0x21, 0xb0, 0x34, 0xe6, 0x43, 0xb0, 0xa9,
	0xe6, 0x40, 0xb0, 0x04, 0xe6, 0x40, 0xe6, 0x10, 0xfb, 0xf4, 0x81, 0x3e,
	0x54, 0x10, 0xc8, 0x00, 0x72, 0xf7, 0xfa, 0xa1, 0x54, 0x10, 0xe7, 0x11,
	0xf4, 0xff, 0x06, 0x54, 0x10, 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf,
	0x00, 0x00,
};

static void die(const char *what)
{
	fprintf(stderr, "pit_reinject: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die(what);
	return r;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run until the next exit, which must be an OUT to port; returns its data. */
static uint32_t run_to_out(int vcpu, struct kvm_run *run, uint16_t port)
{
	uint32_t v = 0;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.port == port) {
			memcpy(&v, (uint8_t *)run + run->io.data_offset, run->io.size);
			return v;
		}
		fprintf(stderr, "pit_reinject: unexpected exit %u (port %#x), want OUT to %#x\n",
			run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0,
			port);
		exit(2);
	}
}

static void one(int kvm, int reinject)
{
	struct kvm_userspace_memory_region region;
	struct kvm_pit_config pit;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint8_t *mem;
	int vm, vcpu, run_size;
	uint32_t count;
	double t0;

	vm = xioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	xioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	memset(&pit, 0, sizeof pit);
	xioctl(vm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
	if (!reinject) {
		struct kvm_reinject_control rc;

		memset(&rc, 0, sizeof rc);
		xioctl(vm, KVM_REINJECT_CONTROL, &rc, "KVM_REINJECT_CONTROL");
	}
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memcpy(mem + CODE_GPA, guest_code, sizeof guest_code);
	memset(&region, 0, sizeof region);
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
	vcpu = xioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
	run_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap(vcpu)");
	xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof regs);
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	run_to_out(vcpu, run, 0x10);
	usleep(STOP_MS * 1000);
	t0 = now_ms();
	count = run_to_out(vcpu, run, 0x11);
	printf("reinject=%s count=%u ms=%.0f\n", reinject ? "on" : "off", count,
	       now_ms() - t0);
	fflush(stdout);
	munmap(run, run_size);
	close(vcpu);
	close(vm);
	munmap(mem, MEM_SIZE);
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0)
		die("open /dev/kvm");
	one(kvm, 1);
	one(kvm, 0);
	return 0;
}
