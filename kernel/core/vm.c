// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM file descriptors: creation, lifetime, memory slots, vCPU creation.
 */
#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/cpumask.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kvm_host.h"
#include "../mmu/shadow.h"
#include "../x86/x86.h"
#include "../x86/irq.h"

static const struct file_operations kvm_vm_fops;

void kvm_get_kvm(struct kvm *kvm)
{
	kref_get(&kvm->refcount);
}

static void kvm_free_memslot(struct kvm_memory_slot *slot)
{
	if (slot)
		kvfree(slot->dirty_bitmap);
	kfree(slot);
}

/* Bytes of a slot's dirty bitmap, as KVM_GET_DIRTY_LOG copies it. */
static unsigned long kvm_dirty_bitmap_bytes(struct kvm_memory_slot *slot)
{
	return ALIGN(slot->npages, BITS_PER_LONG) / 8;
}

void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_slot(kvm, gfn);

	if (slot && slot->dirty_bitmap)
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
}

static void kvm_destroy_vm(struct kref *ref)
{
	struct kvm *kvm = container_of(ref, struct kvm, refcount);
	int i;

	/* No fd references the VM any more, so no vCPU can be running. */
	kvm_shadow_vm_stop(kvm);
	for (i = 0; i < kvm->created_vcpus; i++) {
		if (kvm->vcpus[i])
			kvm_arch_vcpu_destroy(kvm->vcpus[i]);
	}
	kvm_irqchip_destroy(kvm);
	kvm_shadow_vm_destroy(kvm);
	kvm_tdp_destroy(kvm);
	for (i = 0; i < KVM_USER_MEM_SLOTS; i++)
		kvm_free_memslot(kvm->slots[i]);
	mmdrop(kvm->mm);
	kvfree(kvm);
}

void kvm_put_kvm(struct kvm *kvm)
{
	kref_put(&kvm->refcount, kvm_destroy_vm);
}

struct kvm_memory_slot *kvm_gfn_to_slot(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot;
	int i;

	lockdep_assert_held(&kvm->slots_lock);
	for (i = 0; i < KVM_USER_MEM_SLOTS; i++) {
		slot = kvm->slots[i];
		if (slot && gfn >= slot->base_gfn &&
		    gfn < slot->base_gfn + slot->npages)
			return slot;
	}
	return NULL;
}

static void kvm_nop_ipi(void *unused)
{
}

/*
 * Ask every vCPU to do @req before its next entry, and make sure none is
 * still in guest mode with the old state: the IPI forces an exit from a
 * guest, and on_each_cpu_mask() waits until each CPU has taken it.  Only
 * CPUs running one of our vCPUs in guest mode need it; a vCPU entering
 * sets its cpu, then its mode, then (after a full barrier) sees the
 * request and does not enter (pairs with the barrier below).
 */
void kvm_make_all_vcpus_request(struct kvm *kvm, int req)
{
	struct kvm_vcpu *vcpu;
	cpumask_var_t mask;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		set_bit(req, &vcpu->requests);
	smp_mb__after_atomic();
	if (!zalloc_cpumask_var(&mask, GFP_ATOMIC)) {
		on_each_cpu(kvm_nop_ipi, NULL, 1);
		return;
	}
	kvm_for_each_vcpu(i, vcpu, kvm) {
		int cpu = READ_ONCE(vcpu->cpu);

		if (READ_ONCE(vcpu->mode) == IN_GUEST_MODE && cpu >= 0)
			cpumask_set_cpu(cpu, mask);
	}
	if (!cpumask_empty(mask))
		on_each_cpu_mask(mask, kvm_nop_ipi, NULL, true);
	free_cpumask_var(mask);
}

static bool kvm_slots_overlap(struct kvm *kvm, u32 id, gfn_t base,
			      unsigned long npages)
{
	struct kvm_memory_slot *s;
	int i;

	for (i = 0; i < KVM_USER_MEM_SLOTS; i++) {
		s = kvm->slots[i];
		if (!s || i == id)
			continue;
		if (base < s->base_gfn + s->npages && s->base_gfn < base + npages)
			return true;
	}
	return false;
}

/*
 * KVM_SET_USER_MEMORY_REGION: create, move, re-flag or delete (size 0) a
 * slot.  Any change to an existing slot drops every guest mapping; the
 * fault path rebuilds what the guest touches again (write-protected while
 * dirty logging is on, so that writes are seen).  The checks and their
 * order follow upstream, so errnos match.
 */
static int kvm_set_memory_region(struct kvm *kvm,
				 const struct kvm_userspace_memory_region *mem)
{
	struct kvm_memory_slot *old, *new = NULL;
	u32 id = mem->slot & 0xffff, as_id = mem->slot >> 16;
	unsigned long npages = mem->memory_size >> PAGE_SHIFT;
	u64 max_gfn = 1ULL << (boot_cpu_data.x86_phys_bits - PAGE_SHIFT);
	int r;

	if (mem->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		return -EINVAL;
	if ((mem->memory_size & (PAGE_SIZE - 1)) ||
	    mem->memory_size != (unsigned long)mem->memory_size)
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	if (as_id != 0 || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if (npages >= (1UL << 31))	/* upstream's KVM_MEM_MAX_NR_PAGES */
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	old = kvm->slots[id];

	if (!mem->memory_size) {
		r = -EINVAL;
		if (!old)
			goto out;
		WRITE_ONCE(kvm->slots[id], NULL);
		goto zap_and_free;
	}

	/* The nested page table reaches only MAXPHYADDR. */
	r = -EINVAL;
	if ((mem->guest_phys_addr >> PAGE_SHIFT) + npages > max_gfn)
		goto out;

	if (old) {
		/* Only the base address and the flags may change, and not
		 * read-only-ness (upstream refuses that too). */
		if ((old->flags ^ mem->flags) & KVM_MEM_READONLY)
			goto out;
		if (old->userspace_addr != mem->userspace_addr ||
		    old->npages != npages)
			goto out;
		if (old->base_gfn == mem->guest_phys_addr >> PAGE_SHIFT &&
		    old->flags == mem->flags) {
			r = 0;
			goto out;
		}
	}

	r = -EEXIST;
	if (kvm_slots_overlap(kvm, id, mem->guest_phys_addr >> PAGE_SHIFT,
			      npages))
		goto out;

	r = -ENOMEM;
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		goto out;
	new->id = id;
	new->flags = mem->flags;
	new->base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	new->npages = npages;
	new->userspace_addr = mem->userspace_addr;
	if (new->flags & KVM_MEM_LOG_DIRTY_PAGES) {
		new->dirty_bitmap = kvzalloc(kvm_dirty_bitmap_bytes(new),
					     GFP_KERNEL_ACCOUNT);
		if (!new->dirty_bitmap) {
			kfree(new);
			goto out;
		}
	}
	/* Published: the MMU notifier reads slots without slots_lock. */
	smp_store_release(&kvm->slots[id], new);
	WRITE_ONCE(kvm->had_memslot, true);
	if (!old) {
		r = 0;
		goto out;
	}

zap_and_free:
	kvm_mmu_zap_all(kvm);
	kvm_free_memslot(old);
	r = 0;
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/*
 * KVM_GET_DIRTY_LOG: hand out and clear the pages written since the last
 * call.  Writes after this must be seen again, so every mapping is dropped
 * (the fault path maps pages of logged slots read-only until written).
 */
static int kvm_get_dirty_log(struct kvm *kvm, struct kvm_dirty_log *log)
{
	u32 id = log->slot & 0xffff, as_id = log->slot >> 16;
	struct kvm_memory_slot *slot;
	unsigned long bytes, i;
	bool any = false;
	int r;

	if (as_id != 0 || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	slot = kvm->slots[id];
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out;
	bytes = kvm_dirty_bitmap_bytes(slot);
	r = -EFAULT;
	if (copy_to_user(log->dirty_bitmap, slot->dirty_bitmap, bytes))
		goto out;
	for (i = 0; i < bytes / sizeof(long); i++) {
		if (slot->dirty_bitmap[i]) {
			any = true;
			/* Shadow paging: protect just the pages handed out. */
			if (kvm_shadow_paging)
				kvm_mmu_dirty_log_protect(kvm,
					slot->base_gfn + i * BITS_PER_LONG,
					slot->dirty_bitmap[i]);
			slot->dirty_bitmap[i] = 0;
		}
	}
	if (any && kvm_shadow_paging)
		kvm_mmu_dirty_log_done(kvm);
	else if (any)
		kvm_mmu_zap_all(kvm);
	r = 0;
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

int kvm_vm_create_vcpu(struct kvm *kvm, unsigned long arg)
{
	u32 id = arg;	/* upstream takes the low 32 bits */
	struct kvm_vcpu *vcpu;
	int r, i;

	if (id >= KVM_MAX_VCPU_IDS)
		return -EINVAL;

	/*
	 * The whole creation runs under kvm->lock, so vcpus[] never has holes
	 * and kvm_for_each_vcpu() sees every vCPU that has an fd.
	 */
	mutex_lock(&kvm->lock);
	r = -EINVAL;
	if (kvm->created_vcpus >= KVM_MAX_VCPUS)
		goto out_unlock;
	r = -EEXIST;
	for (i = 0; i < kvm->created_vcpus; i++)
		if (kvm->vcpus[i]->vcpu_id == id)
			goto out_unlock;

	r = kvm_x86_ops.vcpu_create(&vcpu, kvm);
	if (r)
		goto out_unlock;
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	vcpu->vcpu_idx = kvm->created_vcpus;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	r = kvm_arch_vcpu_init(vcpu);
	if (r) {
		kvm_x86_ops.vcpu_free(vcpu);
		goto out_unlock;
	}

	kvm_get_kvm(kvm);
	r = kvm_vcpu_create_fd(vcpu);
	if (r < 0) {
		kvm_put_kvm(kvm);	/* not the last ref: the VM fd holds one */
		kvm_arch_vcpu_destroy(vcpu);
		goto out_unlock;
	}
	kvm->vcpus[kvm->created_vcpus++] = vcpu;
	/* Publish the pointer before the count that makes it visible. */
	smp_wmb();
	atomic_inc(&kvm->online_vcpus);
out_unlock:
	mutex_unlock(&kvm->lock);
	return r;
}

static long kvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			 unsigned long arg)
{
	struct kvm *kvm = filp->private_data;
	void __user *argp = (void __user *)arg;

	if (kvm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return kvm_vm_create_vcpu(kvm, arg);
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region mem;

		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return kvm_set_memory_region(kvm, &mem);
	}
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return kvm_get_dirty_log(kvm, &log);
	}
	case KVM_CHECK_EXTENSION:
		return kvm_check_extension(arg);
	case KVM_CREATE_IRQCHIP:
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
	case KVM_SET_GSI_ROUTING:
	case KVM_SIGNAL_MSI:
	case KVM_CREATE_PIT2:
	case KVM_REINJECT_CONTROL:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
		return kvm_vm_ioctl_irqchip(kvm, ioctl, argp);
	case KVM_SET_TSS_ADDR:
		/* Only VMX without unrestricted guest needs the TSS; keep it. */
		kvm->tss_addr = arg;
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 addr;

		if (copy_from_user(&addr, argp, sizeof(addr)))
			return -EFAULT;
		mutex_lock(&kvm->lock);
		if (kvm->created_vcpus) {
			mutex_unlock(&kvm->lock);
			return -EINVAL;
		}
		kvm->identity_map_addr = addr;
		mutex_unlock(&kvm->lock);
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static int kvm_vm_release(struct inode *inode, struct file *filp)
{
	kvm_put_kvm(filp->private_data);
	return 0;
}

static const struct file_operations kvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = kvm_vm_release,
	.unlocked_ioctl = kvm_vm_ioctl,
	.llseek = noop_llseek,
};

int kvm_vm_create_fd(unsigned long type)
{
	struct kvm *kvm;
	int r;

	if (type)
		return -EINVAL;

	kvm = kvzalloc(sizeof(*kvm), GFP_KERNEL_ACCOUNT);
	if (!kvm)
		return -ENOMEM;
	kref_init(&kvm->refcount);
	mutex_init(&kvm->lock);
	mutex_init(&kvm->slots_lock);
	spin_lock_init(&kvm->mmu_lock);
	mmgrab(current->mm);
	kvm->mm = current->mm;

	r = kvm_tdp_init(kvm);
	if (r)
		goto out_put;
	r = kvm_shadow_vm_init(kvm);
	if (r)
		goto out_put;

	r = anon_inode_getfd("kvm-vm", &kvm_vm_fops, kvm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto out_put;
	return r;

out_put:
	kvm_put_kvm(kvm);
	return r;
}
