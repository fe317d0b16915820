/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_cap: print what KVM_CHECK_EXTENSION says about capabilities, for rig
 * scenarios that decide at run time what the loaded KVM can do.
 *
 *   kvm_cap NUMBER...     one value per line (0 = absent)
 *
 * Exit status 0, or 2 when /dev/kvm cannot be opened or an ioctl fails.
 * Used by scenarios/linux-*.sh: KVM_CAP_IRQCHIP is 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-abi.h"

int main(int argc, char **argv)
{
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: kvm_cap NUMBER...\n");
		return 2;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("kvm_cap: /dev/kvm");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		char *end;
		long cap = strtol(argv[i], &end, 0);
		int r;

		if (*argv[i] == '\0' || *end != '\0') {
			fprintf(stderr, "kvm_cap: '%s' is not a number\n", argv[i]);
			return 2;
		}
		r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
		if (r < 0) {
			perror("kvm_cap: KVM_CHECK_EXTENSION");
			return 2;
		}
		printf("%d\n", r);
	}
	close(fd);
	return 0;
}
