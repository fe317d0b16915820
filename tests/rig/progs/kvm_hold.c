/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_hold: keep one empty VM open while a scenario runs.
 *
 *   kvm_hold &       (lib.sh's load_kvm starts it, unload_kvm kills it)
 *
 * Why: every KVM (ours and the distro's) counts its VMs in the L1 kernel's
 * preempt-notifier static key, so the first VM created and the last one
 * destroyed patch __schedule() with int3-based text patching.  Under L0's
 * multi-threaded TCG (QEMU 7.2) that patching now and then leaves the other
 * L1 CPU looping on the int3 at __schedule+0x2ab with interrupts off: L1
 * freezes as a whole (register snapshot in the rig log, seen on the
 * reference as often as on ours).  With one VM held open for the whole
 * scenario the key stays set and __schedule is never patched mid-test.
 *
 * Prints "ready" once the VM exists, then sleeps until SIGTERM/SIGINT.
 * Exit status 2 when /dev/kvm or KVM_CREATE_VM fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-abi.h"

int main(void)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm_hold: /dev/kvm");
		return 2;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("kvm_hold: KVM_CREATE_VM");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();  /* the default action of SIGTERM ends us; the fds close */
}
