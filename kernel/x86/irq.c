// SPDX-License-Identifier: GPL-2.0-only
/*
 * Glue between the portable interrupt-controller models (kernel/irqchip/)
 * and the rest of kvm.ko: the VM ioctls (KVM_CREATE_IRQCHIP, KVM_IRQ_LINE,
 * KVM_GET/SET_IRQCHIP, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI), the vCPU
 * ioctls (KVM_GET/SET_LAPIC), the in-kernel device ranges (PIC ports,
 * IOAPIC and LAPIC pages), LAPIC timers on hrtimers, the PIT with
 * upstream's lost-tick reinjection (KVM_CREATE_PIT2, KVM_REINJECT_CONTROL),
 * interrupt delivery between vCPUs with kicks, and the run-loop hooks:
 * injection, in-kernel HLT, INIT/SIPI.
 *
 * Locking: one spinlock per VM (kvm->irqchip->lock, irq-safe) guards all
 * the models, LAPICs included, so an IPI from one LAPIC to another needs
 * no lock ordering.  hrtimer callbacks take it too, and so does the
 * work item that hands IRQ0 acknowledgements to the PIT (see irq.h).
 */
#include <linux/hrtimer.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/msr-index.h>

#include "x86.h"
#include "guest_mem.h"
#include "irq.h"
#include "../irqchip/irq_routing.h"

/*
 * The in-kernel irqchip and PIT are offered by default, as upstream always
 * offers them.  irqchip=0 hides them (no KVM_CAP_IRQCHIP, KVM_CAP_PIT2...;
 * their ioctls fail as on a KVM without them), so userspace falls back to
 * its own PIC/IOAPIC/APIC, e.g. to tell an irqchip bug from another one.
 */
bool kvm_irqchip_enabled = true;
module_param_named(irqchip, kvm_irqchip_enabled, bool, 0444);
MODULE_PARM_DESC(irqchip, "Offer the in-kernel PIC, IOAPIC, LAPICs and PIT (default 1)");

static u64 kvm_now(void)
{
	return ktime_get_ns();
}

static void kvm_pit_scan_eoi(struct kvm_vm_irqchip *chip);
static void kvm_pit_pin_acked(struct kvm *kvm, u32 irqchip, u32 pin);
static void kvm_pit_pin_mask_changed(struct kvm *kvm, u32 irqchip, u32 pin,
				     bool masked);

/* ---- vCPU kicks ---------------------------------------------------------- */

/*
 * Make @vcpu notice new work: wake it if it sleeps in HLT, and force an
 * exit if it runs the guest on another CPU (the reschedule IPI becomes an
 * INTR exit).  Any context, any lock.
 */
void kvm_vcpu_kick(struct kvm_vcpu *vcpu)
{
	struct task_struct *task;

	set_bit(KVM_REQ_EVENT, &vcpu->requests);
	smp_mb__after_atomic();
	wake_up_interruptible(&vcpu->wq);
	task = READ_ONCE(vcpu->task);
	if (task && READ_ONCE(vcpu->mode) == IN_GUEST_MODE)
		kick_process(task);
}

/* ---- Interrupt delivery ---------------------------------------------------- */

/* Deliver @msg to the LAPICs it names.  Called with chip->lock held. */
static int kvm_irq_deliver(struct kvm *kvm, const struct lapic *src,
			   const struct irq_msg *msg)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;

	return lapic_deliver_msg(chip->apics, chip->nr_apics, src, msg,
				 &chip->lowest_prio_cursor);
}

static void lapic_op_send_ipi(void *opaque, const struct irq_msg *msg)
{
	struct kvm_vcpu *vcpu = opaque;
	int n = kvm_irq_deliver(vcpu->kvm, vcpu->apic, msg);

	/* CPU bring-up, for dynamic debug (file irq.c +p) */
	if (msg->delivery_mode == LAPIC_DM_INIT ||
	    msg->delivery_mode == LAPIC_DM_STARTUP)
		pr_debug("kvm: vcpu %u sends %s vector %02x to %x (shorthand %u): %d accepted\n",
			 vcpu->vcpu_id,
			 msg->delivery_mode == LAPIC_DM_INIT ? "INIT" : "SIPI",
			 msg->vector, msg->dest, msg->shorthand, n);
}

static void lapic_op_eoi_broadcast(void *opaque, u8 vector)
{
	struct kvm_vcpu *vcpu = opaque;

	ioapic_eoi(&vcpu->kvm->irqchip->ioapic, vector);
}

static void lapic_op_timer_changed(void *opaque, u64 deadline_ns)
{
	struct kvm_vcpu *vcpu = opaque;

	/*
	 * Never wait for a running callback here: it takes the lock we hold.
	 * A callback already running sees the new deadline and re-arms.
	 */
	hrtimer_try_to_cancel(&vcpu->apic_timer);
	if (deadline_ns)
		hrtimer_start(&vcpu->apic_timer, ns_to_ktime(deadline_ns),
			      HRTIMER_MODE_ABS_HARD);
}

static void lapic_op_kick(void *opaque)
{
	kvm_vcpu_kick(opaque);
}

static const struct lapic_ops kvm_lapic_ops = {
	.send_ipi = lapic_op_send_ipi,
	.eoi_broadcast = lapic_op_eoi_broadcast,
	.timer_changed = lapic_op_timer_changed,
	.kick = lapic_op_kick,
};

static enum hrtimer_restart kvm_lapic_timer_fn(struct hrtimer *t)
{
	struct kvm_vcpu *vcpu = container_of(t, struct kvm_vcpu, apic_timer);
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	u64 now = kvm_now(), next;

	spin_lock_irqsave(&chip->lock, flags);
	next = vcpu->apic->timer_deadline_ns;
	if (next && next <= now)
		next = lapic_timer_expired(vcpu->apic, now);
	spin_unlock_irqrestore(&chip->lock, flags);
	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_set_expires(t, ns_to_ktime(next));
	return HRTIMER_RESTART;
}

/* The PIC's INTR line goes to LINT0 of the BSP (vCPU 0). */
static void pic_op_set_output(void *opaque, bool level)
{
	struct kvm *kvm = opaque;
	struct kvm_vcpu *bsp;

	if (!level || !atomic_read(&kvm->online_vcpus))
		return;
	bsp = READ_ONCE(kvm->vcpus[0]);
	if (bsp && bsp->apic && lapic_accepts_pic_intr(bsp->apic))
		kvm_vcpu_kick(bsp);
}

static void pic_op_irq_acked(void *opaque, unsigned int irq)
{
	kvm_pit_pin_acked(opaque, irq < 8 ? KVM_IRQCHIP_PIC_MASTER :
				  KVM_IRQCHIP_PIC_SLAVE, irq & 7);
}

static void pic_op_mask_changed(void *opaque, unsigned int irq, bool masked)
{
	kvm_pit_pin_mask_changed(opaque, irq < 8 ? KVM_IRQCHIP_PIC_MASTER :
					 KVM_IRQCHIP_PIC_SLAVE, irq & 7, masked);
}

static const struct pic_ops kvm_pic_ops = {
	.set_output = pic_op_set_output,
	.irq_acked = pic_op_irq_acked,
	.mask_changed = pic_op_mask_changed,
};

static int ioapic_op_deliver(void *opaque, const struct irq_msg *msg)
{
	return kvm_irq_deliver(opaque, NULL, msg);
}

static void ioapic_op_pin_acked(void *opaque, unsigned int pin)
{
	kvm_pit_pin_acked(opaque, KVM_IRQCHIP_IOAPIC, pin);
}

static void ioapic_op_mask_changed(void *opaque, unsigned int pin, bool masked)
{
	kvm_pit_pin_mask_changed(opaque, KVM_IRQCHIP_IOAPIC, pin, masked);
}

static const struct ioapic_ops kvm_ioapic_ops = {
	.deliver = ioapic_op_deliver,
	.pin_acked = ioapic_op_pin_acked,
	.mask_changed = ioapic_op_mask_changed,
};

/* ---- GSI routing ---------------------------------------------------------- */

/*
 * The routing upstream installs with KVM_CREATE_IRQCHIP: GSI 0-15 to the
 * PIC pins and to the IOAPIC pin of the same number, GSI 16-23 to the
 * IOAPIC only.  (QEMU replaces it with its own table, GSI 0 on pin 2.)
 */
static struct kvm_irq_routing_table *kvm_default_routes(void)
{
	struct kvm_irq_routing_table *t;
	struct kvm_irq_routing_entry *e;
	int gsi;

	t = kzalloc(struct_size(t, entries, 16 * 2 + 8), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	e = t->entries;
	for (gsi = 0; gsi < KVM_IRQCHIP_NR_GSIS; gsi++) {
		if (gsi < 16) {
			e->gsi = gsi;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
							 KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi & 7;
			e++;
		}
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi;
		e++;
	}
	t->nr = e - t->entries;
	return t;
}

/* An MSI address/data pair as an interrupt message (SDM 10.11). */
static void kvm_msi_to_msg(u32 addr_lo, u32 addr_hi, u32 data,
			   struct irq_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->dest = (addr_lo >> 12) & 0xff;
	msg->redir_hint = addr_lo & (1u << 3);
	msg->dest_logical = addr_lo & (1u << 2);
	msg->vector = data & 0xff;
	msg->delivery_mode = (data >> 8) & 7;
	msg->level_trigger = data & (1u << 15);
	msg->assert = true;
}

/* Set a GSI's level through its routes.  Returns what upstream's
 * KVM_IRQ_LINE_STATUS reports: > 0 delivered, 0 coalesced, < 0 masked. */
static int __kvm_set_gsi(struct kvm *kvm, u32 gsi, int level)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	struct kvm_irq_routing_table *t;
	int i, r, ret = -1;

	lockdep_assert_held(&chip->lock);
	t = chip->routes;
	/* A PIT without KVM_CREATE_IRQCHIP: IRQ0 reaches nothing. */
	if (!chip->created)
		return -1;
	for (i = 0; i < t->nr; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[i];
		struct irq_msg msg;

		if (e->gsi != gsi)
			continue;
		if (e->type == KVM_IRQ_ROUTING_MSI) {
			if (!level)
				continue;
			kvm_msi_to_msg(e->u.msi.address_lo, e->u.msi.address_hi,
				       e->u.msi.data, &msg);
			r = kvm_irq_deliver(kvm, NULL, &msg);
		} else if (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			r = ioapic_set_irq(&chip->ioapic, e->u.irqchip.pin, level);
		} else {
			r = pic_set_irq(&chip->pic, e->u.irqchip.pin +
					(e->u.irqchip.irqchip ? 8 : 0), level);
		}
		ret = max(ret, r);
	}
	return ret;
}

static int kvm_set_gsi(struct kvm *kvm, u32 gsi, int level)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&chip->lock, flags);
	r = __kvm_set_gsi(kvm, gsi, level);
	spin_unlock_irqrestore(&chip->lock, flags);
	return r;
}

/* Validate a routing table the way upstream does. */
static int kvm_check_routes(const struct kvm_irq_routing_entry *e, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++, e++) {
		if (e->gsi >= KVM_MAX_IRQ_ROUTES || e->flags)
			return -EINVAL;
		switch (e->type) {
		case KVM_IRQ_ROUTING_IRQCHIP:
			if (e->u.irqchip.irqchip >= KVM_NR_IRQCHIPS)
				return -EINVAL;
			if (e->u.irqchip.pin >=
			    (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC ?
			     KVM_IOAPIC_NUM_PINS : 8))
				return -EINVAL;
			/* A GSI above 15 cannot reach the PIC. */
			if (e->u.irqchip.irqchip != KVM_IRQCHIP_IOAPIC &&
			    e->gsi >= 16)
				return -EINVAL;
			break;
		case KVM_IRQ_ROUTING_MSI:
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int kvm_set_gsi_routing(struct kvm *kvm,
			       struct kvm_irq_routing __user *ur)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	struct kvm_irq_routing_table *t, *old;
	struct kvm_irq_routing hdr;
	unsigned long flags;
	int r;

	if (copy_from_user(&hdr, ur, sizeof(hdr)))
		return -EFAULT;
	if (!irqchip_in_kernel(kvm) || hdr.nr > KVM_MAX_IRQ_ROUTES || hdr.flags)
		return -EINVAL;
	t = kvzalloc(struct_size(t, entries, hdr.nr), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	t->nr = hdr.nr;
	if (copy_from_user(t->entries, ur->entries,
			   array_size(hdr.nr, sizeof(t->entries[0])))) {
		kvfree(t);
		return -EFAULT;
	}
	r = kvm_check_routes(t->entries, t->nr);
	if (r) {
		kvfree(t);
		return r;
	}
	spin_lock_irqsave(&chip->lock, flags);
	old = chip->routes;
	chip->routes = t;
	kvm_pit_scan_eoi(chip);
	spin_unlock_irqrestore(&chip->lock, flags);
	kvfree(old);
	return 0;
}

/* ---- In-kernel device ranges ------------------------------------------- */

static int pic_bus_read(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	u16 port = (unsigned long)opaque + offset;
	unsigned long flags;
	u8 *v = val;
	u32 i;

	spin_lock_irqsave(&chip->lock, flags);
	for (i = 0; i < len; i++)
		if (!pic_port_read(&chip->pic, port + i, &v[i]))
			v[i] = 0xff;
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

static int pic_bus_write(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			 const void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	u16 port = (unsigned long)opaque + offset;
	const u8 *v = val;
	unsigned long flags;
	u32 i;

	spin_lock_irqsave(&chip->lock, flags);
	for (i = 0; i < len; i++)
		pic_port_write(&chip->pic, port + i, v[i]);
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

static const struct kvm_io_device_ops pic_bus_ops = {
	.read = pic_bus_read,
	.write = pic_bus_write,
};

static int ioapic_bus_read(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			   void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	u64 v = 0;

	spin_lock_irqsave(&chip->lock, flags);
	if (!ioapic_mmio_read(&chip->ioapic, offset, len, &v))
		v = 0;
	spin_unlock_irqrestore(&chip->lock, flags);
	memcpy(val, &v, len);
	return 0;
}

static int ioapic_bus_write(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			    const void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	u64 v = 0;

	memcpy(&v, val, len);
	spin_lock_irqsave(&chip->lock, flags);
	ioapic_mmio_write(&chip->ioapic, offset, len, v);
	kvm_pit_scan_eoi(chip);		/* an entry's vector or destination */
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

static const struct kvm_io_device_ops ioapic_bus_ops = {
	.read = ioapic_bus_read,
	.write = ioapic_bus_write,
};

/* The vCPU's own LAPIC page, wherever LAPIC_BASE puts it.  0 if taken. */
int kvm_lapic_mmio(struct kvm_vcpu *vcpu, u64 gpa, void *val, u32 len,
		   bool write)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	struct lapic *apic = vcpu->apic;
	unsigned long flags;
	u64 base;
	u32 v = 0;
	bool ok;

	if (!apic)
		return -ENODEV;
	base = lapic_base_address(apic);
	if (gpa < base || gpa + len > base + 0x1000 ||
	    !lapic_hw_enabled(apic) || lapic_x2apic_mode(apic))
		return -ENODEV;
	if (len > 4)
		return -ENODEV;
	if (write)
		memcpy(&v, val, len);
	spin_lock_irqsave(&chip->lock, flags);
	if (write) {
		ok = lapic_mmio_write(apic, gpa - base, len, v, kvm_now());
		/* What an IOAPIC destination matches may have changed. */
		switch ((gpa - base) & ~0xfull) {
		case LAPIC_ID:
		case LAPIC_LDR:
		case LAPIC_DFR:
			kvm_pit_scan_eoi(chip);
			break;
		}
	} else {
		ok = lapic_mmio_read(apic, gpa - base, len, &v, kvm_now());
	}
	spin_unlock_irqrestore(&chip->lock, flags);
	/* Reserved offsets read 0 and drop writes, as on hardware. */
	if (!write)
		memcpy(val, ok ? &v : &(u32){ 0 }, len);
	return 0;
}

/* ---- The PIT ---------------------------------------------------------------- */

/*
 * Lost-tick reinjection (upstream's policy, on by default, switched with
 * KVM_REINJECT_CONTROL): the PIT pulses IRQ0 again only after the guest
 * acknowledged the previous pulse.  An acknowledgement is the EOI of a
 * PIC or IOAPIC pin that GSI 0 is routed to (whatever the routing table
 * says: QEMU puts GSI 0 on IOAPIC pin 2); un-masking such a pin forgets
 * the backlog.  These hooks stand for upstream's ack and mask notifiers,
 * which exist only while reinjection is on.
 */

static bool kvm_pit_reinjecting(const struct kvm_vm_irqchip *chip)
{
	return chip && chip->has_pit && chip->pit.reinject;
}

/* Is @pin of @irqchip a route of GSI 0?  chip->lock held. */
static bool kvm_pin_is_irq0(const struct kvm_vm_irqchip *chip, u32 irqchip,
			    u32 pin)
{
	return irq_routing_gsi_pins(chip->routes->entries, chip->routes->nr, 0,
				    irqchip) & (1u << pin);
}

/* From inside the models (chip->lock held): count it, hand it over later. */
static void kvm_pit_pin_acked(struct kvm *kvm, u32 irqchip, u32 pin)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;

	if (!kvm_pit_reinjecting(chip) || !kvm_pin_is_irq0(chip, irqchip, pin))
		return;
	chip->pit_acks++;
	queue_work(system_unbound_wq, &chip->pit_ack_work);
}

static void kvm_pit_pin_mask_changed(struct kvm *kvm, u32 irqchip, u32 pin,
				     bool masked)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;

	if (kvm_pit_reinjecting(chip) && kvm_pin_is_irq0(chip, irqchip, pin))
		pit_irq0_mask_changed(&chip->pit, masked);
}

/* Process context, soon after an acknowledgement was counted. */
static void kvm_pit_ack_work(struct work_struct *work)
{
	struct kvm_vm_irqchip *chip = container_of(work, struct kvm_vm_irqchip,
						   pit_ack_work);
	unsigned long flags;

	spin_lock_irqsave(&chip->lock, flags);
	for (; chip->pit_acks; chip->pit_acks--)
		pit_irq0_acked(&chip->pit);
	spin_unlock_irqrestore(&chip->lock, flags);
}

/*
 * IRQ0 through the IOAPIC is edge-triggered, so its EOI would stay inside
 * the LAPIC (only level vectors are broadcast): have the LAPICs an IOAPIC
 * pin of GSI 0 targets report its vector, so the EOI reaches ioapic_eoi()
 * and pin_acked.  Rerun under chip->lock whenever a redirection entry, the
 * routing, the policy, the set of LAPICs or what a LAPIC's destination
 * matches (ID, LDR, DFR, APIC base, INIT) may change.  Nothing else uses
 * the LAPICs' eoi_notify, so this owns all of it.
 */
static void kvm_pit_scan_eoi(struct kvm_vm_irqchip *chip)
{
	u32 pins = 0;

	if (!chip->created)
		return;
	if (kvm_pit_reinjecting(chip))
		pins = irq_routing_gsi_pins(chip->routes->entries,
					    chip->routes->nr, 0,
					    KVM_IRQCHIP_IOAPIC);
	ioapic_scan_eoi_notify(&chip->ioapic, pins, chip->apics, chip->nr_apics);
}

/*
 * Channel 0's output rose: an edge on GSI 0.  chip->lock is held.  Like
 * upstream, a tick also goes to the LINT0 of every vCPU while any of them
 * has LINT0 in NMI mode (the virtual-wire NMI watchdog of older Linux).
 */
static void pit_op_irq0_pulse(void *opaque)
{
	struct kvm *kvm = opaque;
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	unsigned int i;

	__kvm_set_gsi(kvm, 0, 1);
	__kvm_set_gsi(kvm, 0, 0);
	for (i = 0; i < chip->nr_apics; i++)
		if (lapic_lvt0_nmi_mode(chip->apics[i]))
			break;
	if (i == chip->nr_apics)
		return;
	for (i = 0; i < chip->nr_apics; i++)
		lapic_pit_tick_lint0(chip->apics[i]);
}

static void pit_op_timer_changed(void *opaque, u64 deadline_ns)
{
	struct kvm *kvm = opaque;
	struct kvm_vm_irqchip *chip = kvm->irqchip;

	/* As for the LAPIC timer: never wait for the callback here. */
	hrtimer_try_to_cancel(&chip->pit_timer);
	if (deadline_ns)
		hrtimer_start(&chip->pit_timer, ns_to_ktime(deadline_ns),
			      HRTIMER_MODE_ABS_HARD);
}

static const struct pit_ops kvm_pit_ops = {
	.irq0_pulse = pit_op_irq0_pulse,
	.timer_changed = pit_op_timer_changed,
};

static enum hrtimer_restart kvm_pit_timer_fn(struct hrtimer *t)
{
	struct kvm_vm_irqchip *chip = container_of(t, struct kvm_vm_irqchip,
						   pit_timer);
	unsigned long flags;
	u64 now = kvm_now(), next;

	spin_lock_irqsave(&chip->lock, flags);
	next = chip->pit.irq0_next_ns;
	if (next && next <= now)
		next = pit_timer_expired(&chip->pit, now);
	spin_unlock_irqrestore(&chip->lock, flags);
	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_set_expires(t, ns_to_ktime(next));
	return HRTIMER_RESTART;
}

static int pit_bus_read(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	u16 port = (unsigned long)opaque + offset;
	unsigned long flags;
	u8 *v = val;
	u32 i;

	spin_lock_irqsave(&chip->lock, flags);
	for (i = 0; i < len; i++)
		if (!pit_port_read(&chip->pit, port + i, &v[i], kvm_now()))
			v[i] = 0xff;
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

static int pit_bus_write(struct kvm_vcpu *vcpu, void *opaque, u64 offset,
			 const void *val, u32 len)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	u16 port = (unsigned long)opaque + offset;
	const u8 *v = val;
	unsigned long flags;
	u32 i;

	spin_lock_irqsave(&chip->lock, flags);
	for (i = 0; i < len; i++)
		pit_port_write(&chip->pit, port + i, v[i], kvm_now());
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

static const struct kvm_io_device_ops pit_bus_ops = {
	.read = pit_bus_read,
	.write = pit_bus_write,
};

static void kvm_pit_ack_work(struct work_struct *work);

/*
 * The VM's struct kvm_vm_irqchip, made by the first of KVM_CREATE_IRQCHIP
 * and KVM_CREATE_PIT2.  kvm->lock held.
 */
static struct kvm_vm_irqchip *kvm_irqchip_get(struct kvm *kvm)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;

	lockdep_assert_held(&kvm->lock);
	if (chip)
		return chip;
	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return NULL;
	spin_lock_init(&chip->lock);
	chip->kvm = kvm;
	INIT_WORK(&chip->pit_ack_work, kvm_pit_ack_work);
	smp_store_release(&kvm->irqchip, chip);
	return chip;
}

/*
 * KVM_CREATE_PIT2.  Reinjection of missed ticks starts on, as upstream's
 * does.  Upstream 6.1 takes it before (or without) KVM_CREATE_IRQCHIP:
 * the PIT then counts and answers its ports, and IRQ0 reaches nothing
 * until the PICs and IOAPIC exist.
 */
static int kvm_create_pit(struct kvm *kvm, const struct kvm_pit_config *cfg)
{
	struct kvm_vm_irqchip *chip;
	unsigned long flags;
	int r;

	mutex_lock(&kvm->lock);
	r = -ENOMEM;
	chip = kvm_irqchip_get(kvm);
	if (!chip)
		goto out;
	r = -EEXIST;
	if (chip->has_pit)
		goto out;
	hrtimer_init(&chip->pit_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	chip->pit_timer.function = kvm_pit_timer_fn;
	spin_lock_irqsave(&chip->lock, flags);
	pit_init(&chip->pit, 0, &kvm_pit_ops, kvm, kvm_now());
	spin_unlock_irqrestore(&chip->lock, flags);
	r = kvm_io_bus_register(kvm, KVM_PIO_BUS, 0x40, 4, &pit_bus_ops,
				(void *)0x40UL);
	/* Port 0x61 (gate and OUT of channel 2) unless a dummy speaker. */
	if (!r && !(cfg->flags & KVM_PIT_SPEAKER_DUMMY))
		r = kvm_io_bus_register(kvm, KVM_PIO_BUS, 0x61, 1, &pit_bus_ops,
					(void *)0x61UL);
	if (!r) {
		spin_lock_irqsave(&chip->lock, flags);
		chip->has_pit = true;
		kvm_pit_scan_eoi(chip);
		spin_unlock_irqrestore(&chip->lock, flags);
	}
out:
	mutex_unlock(&kvm->lock);
	return r;
}

/* KVM_REINJECT_CONTROL: upstream's ENXIO without a PIT; reserved ignored. */
static int kvm_pit_reinject_control(struct kvm *kvm,
				    const struct kvm_reinject_control *rc)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	unsigned long flags;

	if (!chip || !READ_ONCE(chip->has_pit))
		return -ENXIO;
	spin_lock_irqsave(&chip->lock, flags);
	pit_set_reinject(&chip->pit, rc->pit_reinject);
	if (!chip->pit.reinject)
		chip->pit_acks = 0;
	kvm_pit_scan_eoi(chip);
	spin_unlock_irqrestore(&chip->lock, flags);
	return 0;
}

/* ---- VM ioctls ------------------------------------------------------------ */

static int kvm_create_irqchip(struct kvm *kvm)
{
	struct kvm_vm_irqchip *chip;
	struct kvm_irq_routing_table *routes;
	unsigned long flags;
	int r;

	mutex_lock(&kvm->lock);
	r = -EEXIST;
	if (irqchip_in_kernel(kvm) || (kvm->irqchip && kvm->irqchip->routes))
		goto out;
	/* Upstream: the irqchip comes before any vCPU. */
	r = -EINVAL;
	if (kvm->created_vcpus)
		goto out;
	r = -ENOMEM;
	chip = kvm_irqchip_get(kvm);
	if (!chip)
		goto out;
	routes = kvm_default_routes();
	if (!routes)
		goto out;
	/* A PIT may be running already: its IRQ0 starts with @created. */
	spin_lock_irqsave(&chip->lock, flags);
	pic_init(&chip->pic, &kvm_pic_ops, kvm);
	ioapic_init(&chip->ioapic, &kvm_ioapic_ops, kvm);
	chip->routes = routes;
	spin_unlock_irqrestore(&chip->lock, flags);

	r = kvm_io_bus_register(kvm, KVM_PIO_BUS, 0x20, 2, &pic_bus_ops,
				(void *)0x20UL);
	if (!r)
		r = kvm_io_bus_register(kvm, KVM_PIO_BUS, 0xa0, 2, &pic_bus_ops,
					(void *)0xa0UL);
	if (!r)
		r = kvm_io_bus_register(kvm, KVM_PIO_BUS, 0x4d0, 2,
					&pic_bus_ops, (void *)0x4d0UL);
	if (!r)
		r = kvm_io_bus_register(kvm, KVM_MMIO_BUS, IOAPIC_DEFAULT_BASE,
					IOAPIC_MMIO_SIZE, &ioapic_bus_ops, NULL);
	/*
	 * On failure the ranges registered so far stay (they only grow) and
	 * so do @routes: this VM cannot get an irqchip now (EEXIST above).
	 */
	if (!r) {
		spin_lock_irqsave(&chip->lock, flags);
		smp_store_release(&chip->created, true);
		kvm_pit_scan_eoi(chip);
		spin_unlock_irqrestore(&chip->lock, flags);
	}
out:
	mutex_unlock(&kvm->lock);
	return r;
}

void kvm_irqchip_destroy(struct kvm *kvm)
{
	if (!kvm->irqchip)
		return;
	/* kvfree(NULL) is fine: a PIT-only VM has no routes. */
	if (kvm->irqchip->has_pit)
		hrtimer_cancel(&kvm->irqchip->pit_timer);
	cancel_work_sync(&kvm->irqchip->pit_ack_work);
	kvfree(kvm->irqchip->routes);
	kfree(kvm->irqchip);
	kvm->irqchip = NULL;
}

int kvm_vm_ioctl_irqchip(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvm_vm_irqchip *chip = kvm->irqchip;
	unsigned long flags;
	int r;

	if (!kvm_irqchip_enabled)
		return ioctl == KVM_SET_GSI_ROUTING ? -EINVAL : -ENOTTY;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return kvm_create_irqchip(kvm);
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS: {
		struct kvm_irq_level l;

		if (copy_from_user(&l, argp, sizeof(l)))
			return -EFAULT;
		if (!irqchip_in_kernel(kvm))
			return -ENXIO;
		r = kvm_set_gsi(kvm, l.irq, l.level);
		if (ioctl == KVM_IRQ_LINE)
			return 0;
		l.status = r;
		return copy_to_user(argp, &l, sizeof(l)) ? -EFAULT : 0;
	}
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP: {
		struct kvm_irqchip *s;

		if (!irqchip_in_kernel(kvm))
			return -ENXIO;
		s = memdup_user(argp, sizeof(*s));
		if (IS_ERR(s))
			return PTR_ERR(s);
		r = 0;
		spin_lock_irqsave(&chip->lock, flags);
		switch (s->chip_id) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			if (ioctl == KVM_GET_IRQCHIP)
				r = pic_get_state(&chip->pic, s->chip_id,
						  &s->chip.pic);
			else
				r = pic_set_state(&chip->pic, s->chip_id,
						  &s->chip.pic);
			break;
		case KVM_IRQCHIP_IOAPIC:
			if (ioctl == KVM_GET_IRQCHIP) {
				ioapic_get_state(&chip->ioapic, &s->chip.ioapic);
			} else {
				ioapic_set_state(&chip->ioapic, &s->chip.ioapic);
				kvm_pit_scan_eoi(chip);
			}
			break;
		default:
			r = -EINVAL;
		}
		spin_unlock_irqrestore(&chip->lock, flags);
		if (!r && ioctl == KVM_GET_IRQCHIP &&
		    copy_to_user(argp, s, sizeof(*s)))
			r = -EFAULT;
		kfree(s);
		return r;
	}
	case KVM_SET_GSI_ROUTING:
		return kvm_set_gsi_routing(kvm, argp);
	case KVM_CREATE_PIT2: {
		struct kvm_pit_config cfg;

		if (copy_from_user(&cfg, argp, sizeof(cfg)))
			return -EFAULT;
		return kvm_create_pit(kvm, &cfg);
	}
	case KVM_GET_PIT2:
	case KVM_SET_PIT2: {
		struct kvm_pit_state2 st;

		if (!chip || !chip->has_pit)
			return -ENXIO;
		if (ioctl == KVM_SET_PIT2 && copy_from_user(&st, argp, sizeof(st)))
			return -EFAULT;
		spin_lock_irqsave(&chip->lock, flags);
		if (ioctl == KVM_GET_PIT2)
			pit_get_state(&chip->pit, &st);
		else
			pit_set_state(&chip->pit, &st, kvm_now());
		spin_unlock_irqrestore(&chip->lock, flags);
		if (ioctl == KVM_GET_PIT2 && copy_to_user(argp, &st, sizeof(st)))
			return -EFAULT;
		return 0;
	}
	case KVM_REINJECT_CONTROL: {
		struct kvm_reinject_control rc;

		if (copy_from_user(&rc, argp, sizeof(rc)))
			return -EFAULT;
		return kvm_pit_reinject_control(kvm, &rc);
	}
	case KVM_SIGNAL_MSI: {
		struct kvm_msi m;
		struct irq_msg msg;

		if (copy_from_user(&m, argp, sizeof(m)))
			return -EFAULT;
		if (!irqchip_in_kernel(kvm))
			return -EINVAL;
		if (m.flags)
			return -EINVAL;
		kvm_msi_to_msg(m.address_lo, m.address_hi, m.data, &msg);
		spin_lock_irqsave(&chip->lock, flags);
		r = kvm_irq_deliver(kvm, NULL, &msg);
		spin_unlock_irqrestore(&chip->lock, flags);
		return r;
	}
	default:
		return -ENOTTY;
	}
}

/* ---- Per-vCPU local APIC ---------------------------------------------------- */

static int kvm_highest_bit(const u32 *regs, u32 base);

int kvm_lapic_create(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	init_waitqueue_head(&vcpu->wq);
	hrtimer_init(&vcpu->apic_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	vcpu->apic_timer.function = kvm_lapic_timer_fn;
	if (!irqchip_in_kernel(kvm))
		return 0;
	vcpu->apic = kzalloc(sizeof(*vcpu->apic), GFP_KERNEL_ACCOUNT);
	if (!vcpu->apic)
		return -ENOMEM;
	lapic_init(vcpu->apic, vcpu->vcpu_id, vcpu->vcpu_id == 0,
		   &kvm_lapic_ops, vcpu);
	vcpu->apic->x2apic_supported = true;
	vcpu->apic->tsc_deadline_supported = true;
	vcpu->apic->maxphyaddr = boot_cpu_data.x86_phys_bits;
	vcpu->apic->tsc_khz = tsc_khz;
	vcpu->apic_base = vcpu->apic->apic_base;
	{
		struct kvm_vm_irqchip *chip = kvm->irqchip;
		unsigned long flags;

		/* vCPU creation holds kvm->lock: one at a time. */
		spin_lock_irqsave(&chip->lock, flags);
		chip->apics[chip->nr_apics++] = vcpu->apic;
		kvm_pit_scan_eoi(chip);
		spin_unlock_irqrestore(&chip->lock, flags);
	}
	/* Upstream: APs wait for INIT/SIPI; the BSP runs. */
	vcpu->mp_state = vcpu->vcpu_id == 0 ? KVM_MP_STATE_RUNNABLE :
					      KVM_MP_STATE_UNINITIALIZED;
	return 0;
}

void kvm_lapic_destroy(struct kvm_vcpu *vcpu)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	unsigned int i;

	hrtimer_cancel(&vcpu->apic_timer);
	if (vcpu->apic) {
		spin_lock_irqsave(&chip->lock, flags);
		for (i = 0; i < chip->nr_apics; i++) {
			if (chip->apics[i] == vcpu->apic) {
				chip->apics[i] = chip->apics[--chip->nr_apics];
				break;
			}
		}
		spin_unlock_irqrestore(&chip->lock, flags);
	}
	kfree(vcpu->apic);
	vcpu->apic = NULL;
}

/* Copy the guest's CR8 (V_TPR) back into the LAPIC after an exit. */
void kvm_lapic_sync_from_guest(struct kvm_vcpu *vcpu)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;

	if (!vcpu->apic)
		return;
	spin_lock_irqsave(&chip->lock, flags);
	lapic_set_cr8(vcpu->apic, kvm_x86_ops.get_cr(vcpu, 8));
	spin_unlock_irqrestore(&chip->lock, flags);
}

/*
 * The vAPIC page (QEMU's kvmvapic option ROM patches a guest's TPR
 * accesses into accesses to it): byte 0 TPR, byte 1 the highest
 * in-service class, byte 3 the highest requested vector.  Written before
 * entry, TPR read back after exit.  Process context (it sleeps).
 */
static void kvm_vapic_sync(struct kvm_vcpu *vcpu, bool to_guest)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	u32 data;
	int irr, isr;

	if (to_guest) {
		spin_lock_irqsave(&chip->lock, flags);
		irr = kvm_highest_bit(vcpu->apic->regs, LAPIC_IRR);
		isr = kvm_highest_bit(vcpu->apic->regs, LAPIC_ISR);
		data = (vcpu->apic->regs[LAPIC_TASKPRI / 4] & 0xff) |
		       ((isr < 0 ? 0 : isr & 0xf0) << 8) |
		       ((irr < 0 ? 0 : irr) << 24);
		spin_unlock_irqrestore(&chip->lock, flags);
		kvm_write_guest(vcpu->kvm, vcpu->vapic_addr, &data, 4);
	} else if (!kvm_read_guest(vcpu->kvm, vcpu->vapic_addr, &data, 4)) {
		spin_lock_irqsave(&chip->lock, flags);
		lapic_set_cr8(vcpu->apic, (data & 0xff) >> 4);
		spin_unlock_irqrestore(&chip->lock, flags);
	}
}

void kvm_lapic_vapic_sync(struct kvm_vcpu *vcpu, bool to_guest)
{
	if (vcpu->apic && vcpu->vapic_addr)
		kvm_vapic_sync(vcpu, to_guest);
}

static int kvm_highest_bit(const u32 *regs, u32 base)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (regs[base / 4 + i * 4])
			return i * 32 + __fls(regs[base / 4 + i * 4]);
	return -1;
}

/*
 * Before entry (interrupts off): deliver what the LAPIC or the PIC has,
 * if the guest can take it; otherwise arrange an exit for when it can.
 */
void kvm_lapic_inject(struct kvm_vcpu *vcpu)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	struct lapic *apic = vcpu->apic;
	bool can_take = (kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_IF) &&
			!kvm_x86_ops.get_interrupt_shadow(vcpu);
	int vec = -1, irr, isr;
	unsigned long flags;
	u32 err;

	spin_lock_irqsave(&chip->lock, flags);
	kvm_x86_ops.set_cr(vcpu, 8, lapic_get_cr8(apic));
	if (kvm_x86_ops.get_injected_event(vcpu, &err) & KVM_EVENT_VALID) {
		/*
		 * The slot holds an NMI or a re-injected event: an interrupt
		 * that is pending too must not wait for the next unrelated
		 * exit.  Ask for an exit once the guest can take it (after
		 * the event's delivery, e.g. when its handler sets IF), as
		 * upstream does.
		 */
		if (lapic_has_interrupt(apic) >= 0 ||
		    (lapic_accepts_pic_intr(apic) && pic_has_interrupt(&chip->pic)))
			kvm_x86_ops.enable_irq_window(vcpu);
		spin_unlock_irqrestore(&chip->lock, flags);
		return;
	}
	if (lapic_has_interrupt(apic) >= 0) {
		if (can_take)
			vec = lapic_acknowledge(apic);
		else
			kvm_x86_ops.enable_irq_window(vcpu);
	} else if (lapic_accepts_pic_intr(apic) && pic_has_interrupt(&chip->pic)) {
		if (can_take)
			vec = pic_acknowledge(&chip->pic);
		else
			kvm_x86_ops.enable_irq_window(vcpu);
	} else {
		/*
		 * Something held back only by the task priority: the guest
		 * may lower CR8 without exiting, so ask the CPU to exit when
		 * it does (a virtual interrupt at that priority, not TPR-blind).
		 */
		irr = kvm_highest_bit(apic->regs, LAPIC_IRR);
		isr = kvm_highest_bit(apic->regs, LAPIC_ISR);
		if (irr >= 0 && (irr >> 4) > (isr >> 4) &&
		    kvm_x86_ops.enable_tpr_window)
			kvm_x86_ops.enable_tpr_window(vcpu, irr >> 4);
	}
	spin_unlock_irqrestore(&chip->lock, flags);
	if (vec >= 0)
		kvm_x86_ops.set_injected_event(vcpu, vec | KVM_EVENT_TYPE_INTR |
					       KVM_EVENT_VALID, 0);
}

/* Would the vCPU do something if it ran now (for HLT and INIT waits)? */
bool kvm_lapic_vcpu_has_events(struct kvm_vcpu *vcpu)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	struct lapic *apic = vcpu->apic;
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&chip->lock, flags);
	r = apic->nmi_pending || apic->init_pending ||
	    (apic->sipi_pending &&
	     vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED);
	if (!r && vcpu->mp_state != KVM_MP_STATE_INIT_RECEIVED &&
	    vcpu->mp_state != KVM_MP_STATE_UNINITIALIZED &&
	    (kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_IF))
		r = lapic_has_interrupt(apic) >= 0 ||
		    (lapic_accepts_pic_intr(apic) &&
		     pic_has_interrupt(&chip->pic));
	spin_unlock_irqrestore(&chip->lock, flags);
	return r || vcpu->nmi.pending;
}

/*
 * Take INIT, SIPI and NMI events the LAPIC latched.  Returns 1 if the vCPU
 * should run the guest, 0 if it must wait (INIT received, halted).
 */
int kvm_lapic_accept_events(struct kvm_vcpu *vcpu)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	struct lapic *apic = vcpu->apic;
	bool init = false, sipi = false;
	unsigned long flags;
	u8 vector = 0;
	u32 nmis;

	spin_lock_irqsave(&chip->lock, flags);
	nmis = apic->nmi_pending;
	apic->nmi_pending = 0;
	/*
	 * INIT is taken lazily, here, so a SIPI that arrived after it (the
	 * usual INIT-SIPI sequence sent back to back) is already latched:
	 * snapshot it before the INIT resets the LAPIC.  With an INIT
	 * pending, a latched SIPI came after it: the INIT's arrival dropped
	 * any older one (lapic_accept_interrupt).
	 */
	if (apic->sipi_pending) {
		apic->sipi_pending = false;
		sipi = true;
		vector = apic->sipi_vector;
	}
	if (apic->init_pending) {
		apic->init_pending = false;
		lapic_init_signal(apic);
		kvm_pit_scan_eoi(chip);
		init = true;
	}
	spin_unlock_irqrestore(&chip->lock, flags);
	if (init || sipi)
		pr_debug("kvm: vcpu %u takes%s%s (vector %02x) in mp_state %u\n",
			 vcpu->vcpu_id, init ? " INIT" : "", sipi ? " SIPI" : "",
			 vector, vcpu->mp_state);
	/* A SIPI only starts a CPU that waits for one (SDM 8.4.4). */
	if (sipi && !init && vcpu->mp_state != KVM_MP_STATE_INIT_RECEIVED)
		sipi = false;

	vcpu->nmi.pending = min(vcpu->nmi.pending + nmis, 2u);
	if (init) {
		kvm_vcpu_init_event(vcpu);
		vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
	}
	if (sipi) {
		struct kvm_segment cs;

		/* SIPI: start in real mode at vector * 4 KiB (SDM 8.4.4). */
		kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
		cs.selector = vector << 8;
		cs.base = (u64)vector << 12;
		kvm_x86_ops.set_segment(vcpu, &cs, VCPU_SREG_CS);
		vcpu->regs[VCPU_REGS_RIP] = 0;
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	}
	return vcpu->mp_state == KVM_MP_STATE_RUNNABLE;
}

/*
 * Sleep until the vCPU has something to do (HLT, or an AP waiting for
 * INIT/SIPI).  Returns 1 to go on, -EINTR on a signal.
 *
 * Only events wake it, as upstream's kvm_vcpu_check_block(): not the
 * request bits a kick leaves behind.  Those are cleared only on the way
 * into the guest, which an AP waiting for its SIPI never takes, so waking
 * on them made it spin on a host CPU from its first kick (QEMU's
 * KVM_SET_LAPIC at start-up) until the SIPI, starving the BSP's boot.
 */
int kvm_lapic_block(struct kvm_vcpu *vcpu)
{
	DEFINE_WAIT(wait);

	for (;;) {
		prepare_to_wait(&vcpu->wq, &wait, TASK_INTERRUPTIBLE);
		if (kvm_lapic_vcpu_has_events(vcpu))
			break;
		if (signal_pending(current))
			break;
		schedule();
	}
	finish_wait(&vcpu->wq, &wait);
	if (signal_pending(current) && !kvm_lapic_vcpu_has_events(vcpu))
		return -EINTR;
	if (vcpu->mp_state == KVM_MP_STATE_HALTED)
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	return 1;
}

/* ---- MSRs: LAPIC_BASE, x2APIC, TSC deadline ----------------------------- */

#define X2APIC_MSR_FIRST	0x800
#define X2APIC_MSR_LAST		0x8ff

/* 0 done, 1 #GP, -ENOENT not a LAPIC MSR. */
int kvm_lapic_get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	int r = 0;

	if (!vcpu->apic)
		return -ENOENT;
	spin_lock_irqsave(&chip->lock, flags);
	if (msr == MSR_IA32_APICBASE)
		*data = vcpu->apic->apic_base;
	else if (msr == MSR_IA32_TSC_DEADLINE)
		*data = lapic_read_tsc_deadline(vcpu->apic);
	else if (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST)
		r = lapic_msr_read(vcpu->apic, msr, data, kvm_now()) ? 1 : 0;
	else
		r = -ENOENT;
	spin_unlock_irqrestore(&chip->lock, flags);
	return r;
}

int kvm_lapic_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	unsigned long flags;
	int r = 0;

	if (!vcpu->apic)
		return -ENOENT;
	spin_lock_irqsave(&chip->lock, flags);
	if (msr == MSR_IA32_APICBASE) {
		r = lapic_set_base(vcpu->apic, data, host) ? 1 : 0;
		if (!r)
			vcpu->apic_base = vcpu->apic->apic_base;
		kvm_pit_scan_eoi(chip);
	} else if (msr == MSR_IA32_TSC_DEADLINE) {
		u64 tsc;

		kvm_x86_ops.get_msr(vcpu, MSR_IA32_TSC, &tsc);
		lapic_write_tsc_deadline(vcpu->apic, data, tsc, kvm_now());
	} else if (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST) {
		r = lapic_msr_write(vcpu->apic, msr, data, kvm_now()) ? 1 : 0;
	} else {
		r = -ENOENT;
	}
	spin_unlock_irqrestore(&chip->lock, flags);
	return r;
}

/* ---- vCPU ioctls ------------------------------------------------------------ */

long kvm_lapic_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			  void __user *argp)
{
	struct kvm_vm_irqchip *chip = vcpu->kvm->irqchip;
	struct kvm_lapic_state *s;
	unsigned long flags;
	long r = 0;

	if (!vcpu->apic)
		return -ENXIO;
	switch (ioctl) {
	case KVM_SET_VAPIC_ADDR: {
		struct kvm_vapic_addr va;

		if (copy_from_user(&va, argp, sizeof(va)))
			return -EFAULT;
		if (va.vapic_addr & 3)
			return -EINVAL;
		vcpu->vapic_addr = va.vapic_addr;
		return 0;
	}
	case KVM_GET_LAPIC:
		s = kzalloc(sizeof(*s), GFP_KERNEL);
		if (!s)
			return -ENOMEM;
		spin_lock_irqsave(&chip->lock, flags);
		lapic_get_state(vcpu->apic, s, kvm_now());
		spin_unlock_irqrestore(&chip->lock, flags);
		if (copy_to_user(argp, s, sizeof(*s)))
			r = -EFAULT;
		kfree(s);
		return r;
	case KVM_SET_LAPIC:
		s = memdup_user(argp, sizeof(*s));
		if (IS_ERR(s))
			return PTR_ERR(s);
		spin_lock_irqsave(&chip->lock, flags);
		r = lapic_set_state(vcpu->apic, s, kvm_now());
		kvm_pit_scan_eoi(chip);
		spin_unlock_irqrestore(&chip->lock, flags);
		kfree(s);
		kvm_vcpu_kick(vcpu);
		return r;
	default:
		return -EINVAL;
	}
}
