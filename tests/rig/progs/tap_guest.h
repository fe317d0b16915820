/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the rig's guest-running test programs share (dirty_log, host_unmap):
 * TAP-like checks ("ok N - ...", "not ok N - ... (detail)"), a fatal setup
 * error (exit status 2), a VM, and one vCPU started in flat 32-bit
 * protected mode with paging on, at RIP, on the page directory at CR3.
 */
#ifndef RIG_TAP_GUEST_H
#define RIG_TAP_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm-abi.h"

static int n_test, n_fail;

static void check(int ok, const char *what, const char *detail)
{
	n_test++;
	if (ok) {
		printf("ok %d - %s\n", n_test, what);
	} else {
		n_fail++;
		printf("not ok %d - %s (%s)\n", n_test, what, detail);
	}
}

static void die(const char *what)
{
	printf("# fatal: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* /dev/kvm (its fd in *@kvm) and a new VM on it; returns the VM's fd. */
static int new_vm(int *kvm)
{
	int vm;

	*kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm < 0)
		die("/dev/kvm");
	vm = ioctl(*kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	return vm;
}

/*
 * vCPU 0 of @vm: CS/DS/... flat 4 GiB (selectors 8 and 0x10), CR0 PG|ET|PE,
 * @cr3 and @cr4 (0x10: PSE), EFER 0, RIP @rip.  Returns its fd; *@run
 * gets its kvm_run.
 */
static int flat32_paging_vcpu(int kvm, int vm, uint32_t cr3, uint32_t cr4,
			      uint32_t rip, struct kvm_run **run)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	long mmap_size;
	int vcpu;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	*run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (*run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	data.selector = 0x10;
	data.type = 3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x80000011;	/* PG, ET, PE */
	sregs.cr3 = cr3;
	sregs.cr4 = cr4;
	sregs.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
	return vcpu;
}

#endif
