/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel interrupt controllers of a VM (KVM_CREATE_IRQCHIP): two
 * 8259A PICs, an IOAPIC and one local APIC per vCPU, from the portable
 * models in kernel/irqchip/, plus GSI routing.  x86/irq.c is the glue:
 * locking, time, vCPU kicks, ioctls and the hooks the run loop calls.
 */
#ifndef KVM_X86_IRQ_H
#define KVM_X86_IRQ_H

#include <linux/hrtimer.h>
#include <linux/workqueue.h>
#include "kvm_host.h"
#include "../irqchip/pic.h"
#include "../irqchip/ioapic.h"
#include "../irqchip/lapic.h"
#include "../irqchip/pit.h"

#define KVM_IRQCHIP_NR_GSIS	24

/* One route of a GSI: a PIC or IOAPIC pin, or an MSI message. */
struct kvm_irq_route {
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	u32 chip;		/* KVM_IRQCHIP_PIC_MASTER... */
	u32 pin;
	struct kvm_irq_routing_msi msi;
};

struct kvm_irq_routing_table {
	u32 nr;
	struct kvm_irq_routing_entry entries[];
};

/*
 * Legend: everything below is guarded by @lock (a spinlock taken with
 * interrupts off, because the timer callbacks take it too), including the
 * struct lapic of every vCPU of the VM.  @routes is replaced under @lock
 * by KVM_SET_GSI_ROUTING; readers hold @lock.
 */
struct kvm_vm_irqchip {
	spinlock_t lock;
	struct kvm *kvm;
	/*
	 * The struct comes with KVM_CREATE_IRQCHIP or KVM_CREATE_PIT2,
	 * whichever is first (upstream 6.1 lets a PIT exist without PICs,
	 * its IRQ0 then reaching nothing).  @created: KVM_CREATE_IRQCHIP
	 * made the PICs, IOAPIC and @routes (non-NULL from then on); set
	 * once under @lock with release order, read with acquire.
	 */
	bool created;
	struct pic pic;
	struct ioapic ioapic;
	unsigned int lowest_prio_cursor;
	/* The LAPICs of the VM's vCPUs, in creation order. */
	struct lapic *apics[KVM_MAX_VCPUS];
	unsigned int nr_apics;
	/* Level of each GSI as KVM_IRQ_LINE last set it. */
	u32 gsi_level[(KVM_MAX_IRQ_ROUTES + 31) / 32];
	struct kvm_irq_routing_table *routes;
	/* KVM_CREATE_PIT2: the 8254 and the hrtimer behind its channel 0. */
	bool has_pit;
	struct pit pit;
	struct hrtimer pit_timer;
	/*
	 * Acknowledgements of IRQ0 (PIC EOI, or EOI of the vector of an
	 * IOAPIC pin GSI 0 is routed to) not yet handed to the PIT: they
	 * arrive deep inside the PIC/IOAPIC/LAPIC models, which must not be
	 * re-entered by the next reinjected tick, so @pit_ack_work (on
	 * system_unbound_wq, not guarded by @lock; it takes it) hands them
	 * over.  Asynchronously, as upstream's PIT worker thread does: the
	 * guest runs on between a tick's EOI and the next reinjected tick
	 * instead of taking a backlog back to back with no progress between.
	 */
	u32 pit_acks;
	struct work_struct pit_ack_work;
};

extern bool kvm_irqchip_enabled;

static inline bool irqchip_in_kernel(struct kvm *kvm)
{
	struct kvm_vm_irqchip *chip = READ_ONCE(kvm->irqchip);

	return chip && smp_load_acquire(&chip->created);
}

int kvm_vm_ioctl_irqchip(struct kvm *kvm, unsigned int ioctl, void __user *argp);
void kvm_irqchip_destroy(struct kvm *kvm);

int kvm_lapic_create(struct kvm_vcpu *vcpu);
void kvm_lapic_destroy(struct kvm_vcpu *vcpu);
long kvm_lapic_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			  void __user *argp);

/* Run-loop hooks (with an in-kernel irqchip). */
void kvm_lapic_inject(struct kvm_vcpu *vcpu);
bool kvm_lapic_vcpu_has_events(struct kvm_vcpu *vcpu);
int kvm_lapic_accept_events(struct kvm_vcpu *vcpu);
int kvm_lapic_block(struct kvm_vcpu *vcpu);
void kvm_lapic_sync_from_guest(struct kvm_vcpu *vcpu);
void kvm_lapic_vapic_sync(struct kvm_vcpu *vcpu, bool to_guest);
int kvm_lapic_mmio(struct kvm_vcpu *vcpu, u64 gpa, void *val, u32 len,
		   bool write);
int kvm_lapic_get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data);
int kvm_lapic_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host);

void kvm_vcpu_kick(struct kvm_vcpu *vcpu);

#endif
