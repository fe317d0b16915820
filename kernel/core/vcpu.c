// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU file descriptors: ioctl entry, the shared kvm_run mapping, release.
 * A vCPU fd holds a reference on its VM; the vCPU itself is freed with
 * the VM.
 */
#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>

#include "kvm_host.h"
#include "../x86/x86.h"

static long kvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->kvm->mm != current->mm)
		return -EIO;
	if (_IOC_TYPE(ioctl) != KVMIO)
		return -EINVAL;

	/* Only one thread at a time runs or inspects a vCPU. */
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = kvm_arch_vcpu_ioctl(vcpu, ioctl, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t kvm_vcpu_fault(struct vm_fault *vmf)
{
	struct kvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else if (vmf->pgoff == KVM_COALESCED_MMIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->mmio_ring);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kvm_vcpu_vm_ops = {
	.fault = kvm_vcpu_fault,
};

static int kvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &kvm_vcpu_vm_ops;
	return 0;
}

static int kvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvm_vcpu *vcpu = filp->private_data;

	kvm_put_kvm(vcpu->kvm);
	return 0;
}

static const struct file_operations kvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = kvm_vcpu_release,
	.unlocked_ioctl = kvm_vcpu_ioctl,
	.mmap = kvm_vcpu_mmap,
	.llseek = noop_llseek,
};

int kvm_vcpu_create_fd(struct kvm_vcpu *vcpu)
{
	char name[16];

	snprintf(name, sizeof(name), "kvm-vcpu:%u", vcpu->vcpu_id);
	return anon_inode_getfd(name, &kvm_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
}
