// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event delivery without an in-kernel interrupt controller: interrupts
 * queued by userspace (KVM_INTERRUPT), the interrupt window
 * (request_interrupt_window / KVM_EXIT_IRQ_WINDOW_OPEN), and the
 * KVM_GET/SET_VCPU_EVENTS view of what is about to be delivered.
 *
 * Protocol (as upstream): userspace calls KVM_INTERRUPT only when
 * kvm_run.ready_for_interrupt_injection says the guest can take one; the
 * vector is then delivered at the next entry.  Otherwise it sets
 * request_interrupt_window and KVM_RUN returns KVM_EXIT_IRQ_WINDOW_OPEN
 * once the guest has interrupts enabled and no interrupt shadow.
 */
#include "x86.h"

int kvm_vcpu_ioctl_interrupt(struct kvm_vcpu *vcpu, struct kvm_interrupt *irq)
{
	if (irq->irq >= KVM_NR_INTERRUPTS)
		return -EINVAL;
	if (vcpu->irq.pending)
		return -ENXIO;	/* the previous one is not delivered yet */
	vcpu->irq.pending = true;
	vcpu->irq.vector = irq->irq;
	return 0;
}

/*
 * NMIs.  SVM has no NMI-blocking state of its own for the guest, so it is
 * kept here: delivering an NMI blocks further ones until the handler's
 * IRET.  The IRET is intercepted before it executes; NMIs are unblocked
 * at the first exit after RIP has left it (in the worst case the next
 * host timer tick), and a pending one is delivered then.
 */
int kvm_vcpu_ioctl_nmi(struct kvm_vcpu *vcpu)
{
	if (vcpu->nmi.pending < 2)
		vcpu->nmi.pending++;
	return 0;
}

void kvm_nmi_iret_exit(struct kvm_vcpu *vcpu)
{
	kvm_x86_ops.set_iret_intercept(vcpu, false);
	vcpu->nmi.awaiting_iret = true;
	vcpu->nmi.iret_rip = kvm_rip(vcpu);
}

void kvm_nmi_after_exit(struct kvm_vcpu *vcpu)
{
	if (vcpu->nmi.awaiting_iret && kvm_rip(vcpu) != vcpu->nmi.iret_rip) {
		vcpu->nmi.awaiting_iret = false;
		vcpu->nmi.masked = false;
	}
}

/*
 * Before entry: hand a pending NMI or queued interrupt to the hardware
 * if nothing else (a re-injected exception, say) occupies the slot.
 *
 * An NMI that could be taken but for the occupied slot must not wait for
 * the next unrelated exit (a guest spinning on memory may not make one
 * for a long time): as upstream does, ask for an exit right after the
 * entry has delivered the slot's event (immediate_exit: the run loop
 * sends its own CPU an IPI with interrupts off, so the guest exits on
 * its first instruction boundary, the event delivered), and the NMI goes
 * in at the next entry.  An NMI held back by NMI blocking waits for the
 * IRET intercept instead; one held back by an interrupt shadow for the
 * next exit (an immediate exit would come before the shadow's
 * instruction and make no progress).
 */
void kvm_inject_pending_events(struct kvm_vcpu *vcpu)
{
	u32 err;

	vcpu->immediate_exit = false;
	if (kvm_x86_ops.get_injected_event(vcpu, &err) & KVM_EVENT_VALID) {
		if (vcpu->nmi.pending && !vcpu->nmi.masked)
			vcpu->immediate_exit = true;
		return;
	}
	if (vcpu->nmi.pending && !vcpu->nmi.masked &&
	    !kvm_x86_ops.get_interrupt_shadow(vcpu)) {
		kvm_x86_ops.set_injected_event(vcpu, 2 | KVM_EVENT_TYPE_NMI |
					       KVM_EVENT_VALID, 0);
		vcpu->nmi.pending--;
		vcpu->nmi.masked = true;
		vcpu->nmi.awaiting_iret = false;
		kvm_x86_ops.set_iret_intercept(vcpu, true);
		return;
	}
	if (!vcpu->irq.pending)
		return;
	kvm_x86_ops.set_injected_event(vcpu, vcpu->irq.vector |
				       KVM_EVENT_TYPE_INTR | KVM_EVENT_VALID, 0);
	vcpu->irq.pending = false;
}

bool kvm_ready_for_interrupt_injection(struct kvm_vcpu *vcpu)
{
	u32 err;

	return (kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_IF) &&
	       !kvm_x86_ops.get_interrupt_shadow(vcpu) &&
	       !vcpu->irq.pending &&
	       !(kvm_x86_ops.get_injected_event(vcpu, &err) & KVM_EVENT_VALID);
}

void kvm_get_vcpu_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	u32 err, info = kvm_x86_ops.get_injected_event(vcpu, &err);
	u32 type = info & KVM_EVENT_TYPE_MASK;

	memset(ev, 0, sizeof(*ev));
	if (info & KVM_EVENT_VALID) {
		switch (type) {
		case KVM_EVENT_TYPE_EXCEPT:
			ev->exception.injected = 1;
			ev->exception.nr = info & KVM_EVENT_VECTOR_MASK;
			ev->exception.has_error_code =
				!!(info & KVM_EVENT_HAS_ERROR);
			ev->exception.error_code = err;
			break;
		case KVM_EVENT_TYPE_NMI:
			ev->nmi.injected = 1;
			break;
		case KVM_EVENT_TYPE_INTR:
		case KVM_EVENT_TYPE_SOFT:
			ev->interrupt.injected = 1;
			ev->interrupt.nr = info & KVM_EVENT_VECTOR_MASK;
			ev->interrupt.soft = type == KVM_EVENT_TYPE_SOFT;
			break;
		}
	}
	if (vcpu->irq.pending) {
		ev->interrupt.injected = 1;
		ev->interrupt.nr = vcpu->irq.vector;
		ev->interrupt.soft = 0;
	}
	if (kvm_x86_ops.get_interrupt_shadow(vcpu))
		ev->interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	ev->nmi.pending = vcpu->nmi.pending != 0;
	ev->nmi.masked = vcpu->nmi.masked;
	ev->flags = KVM_VCPUEVENT_VALID_SHADOW;
}

int kvm_set_vcpu_events(struct kvm_vcpu *vcpu,
			const struct kvm_vcpu_events *ev)
{
	u32 info = 0, err = 0;

	if (ev->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			  KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			  KVM_VCPUEVENT_VALID_SHADOW |
			  KVM_VCPUEVENT_VALID_SMM |
			  KVM_VCPUEVENT_VALID_PAYLOAD |
			  KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	/* Payloads and triple-fault events are opt-in caps we don't offer. */
	if (ev->flags & (KVM_VCPUEVENT_VALID_PAYLOAD |
			 KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	/* No SMM in this version. */
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (ev->smi.smm || ev->smi.pending))
		return -EINVAL;
	if (ev->exception.injected || ev->exception.pending) {
		if (ev->exception.nr > 31 || ev->exception.nr == 2)
			return -EINVAL;
		info = ev->exception.nr | KVM_EVENT_TYPE_EXCEPT | KVM_EVENT_VALID;
		if (ev->exception.has_error_code) {
			info |= KVM_EVENT_HAS_ERROR;
			err = ev->exception.error_code;
		}
	}

	vcpu->irq.pending = false;
	if (ev->interrupt.injected) {
		if (info)
			return -EINVAL;	/* one event at a time */
		info = ev->interrupt.nr | KVM_EVENT_VALID |
		       (ev->interrupt.soft ? KVM_EVENT_TYPE_SOFT :
					     KVM_EVENT_TYPE_INTR);
	}
	if (ev->nmi.injected) {
		if (info)
			return -EINVAL;
		info = 2 | KVM_EVENT_TYPE_NMI | KVM_EVENT_VALID;
	}
	kvm_x86_ops.set_injected_event(vcpu, info, err);
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->nmi.pending = ev->nmi.pending ? 1 : 0;
	vcpu->nmi.masked = ev->nmi.masked || ev->nmi.injected;
	vcpu->nmi.awaiting_iret = false;
	kvm_x86_ops.set_iret_intercept(vcpu, vcpu->nmi.masked);
	if (ev->flags & KVM_VCPUEVENT_VALID_SHADOW)
		kvm_x86_ops.set_interrupt_shadow(vcpu, ev->interrupt.shadow != 0);
	return 0;
}
