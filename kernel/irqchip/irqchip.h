/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared vocabulary of the portable interrupt-controller models in
 * kernel/irqchip/: the interrupt message every source (IOAPIC redirection
 * entry, MSI, ICR write, LVT) turns into, and the APIC delivery-mode and
 * shorthand encodings from the Intel SDM vol. 3A, 10.6.1 (ICR) and 10.11.2
 * (MSI data register), which share one encoding.
 *
 * Portable: includes only kvm_portable.h and the ABI header.  The models
 * hold no locks, read no clocks and sleep nowhere: every entry point gets
 * the state, its input and, where time matters, "now" in nanoseconds on
 * the caller's monotonic clock (ktime_get_ns() in the kernel).  Outputs go
 * through per-model ops tables the glue fills.
 */
#ifndef KVM_IRQCHIP_H
#define KVM_IRQCHIP_H

#include "kvm_portable.h"
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/math64.h>
#else
#include <errno.h>
#endif
#include "kvm-abi.h"

/* Delivery modes: ICR bits 10:8, MSI data bits 10:8, IOAPIC RTE bits 10:8. */
enum apic_delivery_mode {
	LAPIC_DM_FIXED = 0,
	LAPIC_DM_LOWEST = 1,
	LAPIC_DM_SMI = 2,
	LAPIC_DM_REMOTE_READ = 3,	/* obsolete; never accepted */
	LAPIC_DM_NMI = 4,
	LAPIC_DM_INIT = 5,
	LAPIC_DM_STARTUP = 6,
	LAPIC_DM_EXTINT = 7,
};

/* ICR bits 19:18. */
enum apic_shorthand {
	LAPIC_SH_NONE = 0,
	LAPIC_SH_SELF = 1,
	LAPIC_SH_ALL_INCL_SELF = 2,
	LAPIC_SH_ALL_EXCL_SELF = 3,
};

/*
 * One interrupt message on the (virtual) APIC bus.
 *
 * dest is an 8-bit xAPIC destination (physical APIC ID or logical MDA)
 * unless dest_x2apic is set, when it is a 32-bit x2APIC destination (only
 * an ICR write in x2APIC mode produces those).  0xff (0xffffffff for
 * x2APIC) is the broadcast destination in both destination modes.
 */
struct irq_msg {
	u32 dest;
	u8 vector;
	u8 delivery_mode;	/* enum apic_delivery_mode */
	u8 shorthand;		/* enum apic_shorthand; only ICR writes set it */
	bool dest_logical;	/* destination mode: 1 = logical */
	bool level_trigger;	/* trigger mode: 1 = level */
	bool assert;		/* level: 0 only for INIT level de-assert */
	bool redir_hint;	/* MSI RH: deliver as lowest priority */
	bool dest_x2apic;	/* dest is a 32-bit x2APIC destination */
};

/*
 * (a * mul) / div with a 128-bit intermediate product; the quotient must
 * fit in 64 bits (x86-64's divq faults otherwise).  The kernel has no
 * 128-bit division helper in libgcc's sense, hence math64.h there.
 */
static inline u64 irqchip_muldiv64(u64 a, u64 mul, u64 div)
{
#ifdef __KERNEL__
	return mul_u64_u64_div_u64(a, mul, div);
#else
	return (u64)(((unsigned __int128)a * mul) / div);
#endif
}

#endif /* KVM_IRQCHIP_H */
