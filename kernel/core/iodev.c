// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel device buses: port I/O and MMIO ranges that kvm.ko answers
 * itself (the interrupt controllers, the PIT, later ioeventfds), so those
 * accesses never leave the kernel.  Consulted by the PIO exit path and by
 * the MMIO emulator before they exit to userspace.
 *
 * Devices register at KVM_CREATE_IRQCHIP/KVM_CREATE_PIT2 time and stay
 * until the VM dies; the bus is read under RCU-free rules: registration
 * happens under kvm->lock before any vCPU can reach the range, and the
 * array only grows, published with smp_store_release().
 */
#include <linux/slab.h>

#include "kvm_host.h"

int kvm_io_bus_register(struct kvm *kvm, enum kvm_bus bus, u64 addr, u32 len,
			const struct kvm_io_device_ops *ops, void *opaque)
{
	struct kvm_io_bus *b = &kvm->buses[bus];
	struct kvm_io_range *r;
	int i, n;

	lockdep_assert_held(&kvm->lock);
	n = b->nr;
	if (n == KVM_IO_BUS_MAX || !len || addr + len < addr)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		r = &b->ranges[i];
		if (addr < r->addr + r->len && r->addr < addr + len)
			return -EEXIST;
	}
	r = &b->ranges[n];
	r->addr = addr;
	r->len = len;
	r->ops = ops;
	r->opaque = opaque;
	/* The range is complete before the count makes it visible. */
	smp_store_release(&b->nr, n + 1);
	return 0;
}

static struct kvm_io_range *kvm_io_bus_find(struct kvm *kvm, enum kvm_bus bus,
					    u64 addr, u32 len)
{
	struct kvm_io_bus *b = &kvm->buses[bus];
	int i, n = smp_load_acquire(&b->nr);

	for (i = 0; i < n; i++) {
		struct kvm_io_range *r = &b->ranges[i];

		if (addr >= r->addr && addr + len <= r->addr + r->len)
			return r;
	}
	return NULL;
}

/* 0 if an in-kernel device took the access, -ENODEV if none covers it. */
int kvm_io_bus_read(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		    void *val, u32 len)
{
	struct kvm_io_range *r = kvm_io_bus_find(vcpu->kvm, bus, addr, len);

	if (!r)
		return -ENODEV;
	return r->ops->read(vcpu, r->opaque, addr - r->addr, val, len);
}

int kvm_io_bus_write(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		     const void *val, u32 len)
{
	struct kvm_io_range *r = kvm_io_bus_find(vcpu->kvm, bus, addr, len);

	if (!r)
		return -ENODEV;
	return r->ops->write(vcpu, r->opaque, addr - r->addr, val, len);
}
