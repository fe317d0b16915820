// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm.ko module init and /dev/kvm.
 *
 * Init order: pick and set up a backend (x86/), then register /dev/kvm
 * last, so that no user can reach a half-initialized module.  Exit undoes
 * it in reverse.  Open VM and vCPU fds hold a module reference (their
 * file_operations name THIS_MODULE), so rmmod waits for them to close.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>

#include "kvm_host.h"
#include "../x86/x86.h"
#include "../x86/cpuid.h"
#include "../x86/irq.h"

long kvm_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_VCPU_EVENTS:
		return 1;
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_HLT:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
		return kvm_irqchip_enabled;
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
		return kvm_host_xcr0 != 0;
	case KVM_CAP_IRQ_ROUTING:
		/* Routes need the in-kernel irqchip; without it the ioctl
		 * fails with EINVAL, exactly as upstream. */
		return KVM_MAX_IRQ_ROUTES;
	case KVM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), KVM_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return KVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVM_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	default:
		return 0;
	}
}

static long kvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvm_vm_create_fd(arg);
	case KVM_CHECK_EXTENSION:
		return kvm_check_extension(arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return KVM_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_MSR_INDEX_LIST:
		return kvm_dev_get_msr_index_list((void __user *)arg);
	case KVM_GET_SUPPORTED_CPUID:
		return kvm_dev_get_supported_cpuid((void __user *)arg);
	default:
		return -EINVAL;
	}
}

static const struct file_operations kvm_chardev_ops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kvm_dev_ioctl,
	.compat_ioctl = kvm_dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kvm_dev = {
	.minor = KVM_MINOR,
	.name = "kvm",
	.fops = &kvm_chardev_ops,
	.mode = 0666,
};

static int __init kvm_init(void)
{
	int r;

	r = kvm_x86_init();
	if (r)
		return r;

	r = misc_register(&kvm_dev);
	if (r) {
		pr_err("kvm: cannot register /dev/kvm (minor %d): %d\n",
		       KVM_MINOR, r);
		goto out_x86_exit;
	}
	return 0;

out_x86_exit:
	kvm_x86_exit();
	return r;
}

static void __exit kvm_exit(void)
{
	misc_deregister(&kvm_dev);
	kvm_x86_exit();
}

module_init(kvm_init);
module_exit(kvm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KVM-style hypervisor: /dev/kvm with AMD SVM and Intel VMX backends");
MODULE_ALIAS_MISCDEV(KVM_MINOR);
MODULE_ALIAS("devname:kvm");
