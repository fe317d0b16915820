/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backend operation list, written once.  Each backend (svm/, vmx/)
 * fills a struct kvm_x86_ops with named initializers; common code calls
 * through kvm_x86_ops.NAME.  KVM_X86_OP() entries are required (module init
 * refuses a backend that leaves one NULL); KVM_X86_OP_OPTIONAL() may be
 * NULL and callers check.
 *
 * Included with KVM_X86_OP / KVM_X86_OP_OPTIONAL defined by the includer.
 */
#ifndef KVM_X86_OP_OPTIONAL
#define KVM_X86_OP_OPTIONAL KVM_X86_OP
#endif

/* Per-CPU enable/disable (EFER.SVME / VMXON), run on every online CPU. */
KVM_X86_OP(hardware_enable)
KVM_X86_OP(hardware_disable)

KVM_X86_OP(vcpu_create)
KVM_X86_OP(vcpu_free)
/* Put the vCPU in its architectural reset (INIT) state. */
KVM_X86_OP(vcpu_reset)

/*
 * Enter the guest once and return when it exits.  Called with preemption
 * and interrupts disabled; the guest's GPRs live in vcpu->regs.
 */
KVM_X86_OP(vcpu_run)
/* Decode the last exit: > 0 re-enter, 0 return to userspace, < 0 error. */
KVM_X86_OP(handle_exit)
/*
 * The last preemptible moment before vcpu_run, after events were queued:
 * a backend that must deliver an event or check the guest's state in
 * software, touching guest memory (VMX real mode without unrestricted
 * guest), does it here.  Same return convention as handle_exit.
 */
KVM_X86_OP_OPTIONAL(prepare_guest_entry)
/*
 * The vCPU thread leaves this CPU: it is scheduled out inside KVM_RUN
 * (preempt notifier, interrupts off) or KVM_RUN returns.  A backend with
 * per-CPU hardware state for the vCPU (VMX: the active VMCS) drops it
 * here, so the next vcpu_run may be on any CPU.
 */
KVM_X86_OP_OPTIONAL(vcpu_put)

KVM_X86_OP(get_segment)
KVM_X86_OP(set_segment)
KVM_X86_OP(get_dtable)
KVM_X86_OP(set_dtable)
KVM_X86_OP(get_cr)
KVM_X86_OP(set_cr)
KVM_X86_OP(set_efer)
/* DR6 and DR7 (DR0-3 are switched by common code). */
KVM_X86_OP(get_dr)
KVM_X86_OP(set_dr)
KVM_X86_OP(get_cpl)
KVM_X86_OP(get_rflags)
KVM_X86_OP(set_rflags)
KVM_X86_OP(get_interrupt_shadow)
KVM_X86_OP(set_interrupt_shadow)
KVM_X86_OP(queue_exception)
/*
 * The event to be delivered at the next entry, in the format SVM's EVENTINJ
 * and VMX's VM-entry interruption information share: vector in 7:0, type
 * in 10:8, error code valid in 11, valid in 31.
 */
KVM_X86_OP(get_injected_event)
KVM_X86_OP(set_injected_event)
/* Exit as soon as the guest can take an external interrupt. */
KVM_X86_OP(enable_irq_window)
/* Exit once the guest's TPR drops below priority class @prio. */
KVM_X86_OP_OPTIONAL(enable_tpr_window)
/* Exit at the guest's next IRET (end of an NMI handler), or stop. */
KVM_X86_OP(set_iret_intercept)
/* Read/write an MSR the backend keeps in its own state (VMCB/VMCS). */
KVM_X86_OP(get_msr)
KVM_X86_OP(set_msr)

/*
 * The guest's CPUID table changed (KVM_SET_CPUID2): a backend whose
 * instructions are enabled per VM-execution control follows it.
 */
KVM_X86_OP_OPTIONAL(vcpu_after_set_cpuid)

/* The guest-physical translation root changed or must be flushed. */
KVM_X86_OP(load_mmu_root)
KVM_X86_OP_OPTIONAL(flush_guest_tlb)

#undef KVM_X86_OP
#undef KVM_X86_OP_OPTIONAL
