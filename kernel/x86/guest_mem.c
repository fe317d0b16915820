// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest memory access by physical and virtual address.  See guest_mem.h.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "x86.h"
#include "guest_mem.h"
#include "../mmu/shadow.h"

/*
 * Host virtual address of @gpa, or 0 (no RAM, or a write to a read-only
 * slot).  Caller holds slots_lock.
 */
static unsigned long kvm_gpa_to_hva(struct kvm *kvm, gpa_t gpa, bool write)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_slot(kvm, gpa >> PAGE_SHIFT);

	if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
		return 0;
	return slot->userspace_addr +
	       (((gpa >> PAGE_SHIFT) - slot->base_gfn) << PAGE_SHIFT) +
	       offset_in_page(gpa);
}

static int kvm_copy_guest(struct kvm *kvm, gpa_t gpa, void *buf,
			  unsigned int len, bool write)
{
	int r = 0;

	mutex_lock(&kvm->slots_lock);
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));
		unsigned long hva = kvm_gpa_to_hva(kvm, gpa, write);

		if (!hva ||
		    (write ? copy_to_user((void __user *)hva, buf, n) :
			     copy_from_user(buf, (void __user *)hva, n))) {
			r = -EFAULT;
			break;
		}
		if (write) {
			kvm_mark_page_dirty(kvm, gpa >> PAGE_SHIFT);
			/* It may be a guest page table with a shadow. */
			kvm_mmu_track_write(kvm, gpa, n);
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	mutex_unlock(&kvm->slots_lock);
	return r;
}

int kvm_read_guest(struct kvm *kvm, gpa_t gpa, void *buf, unsigned int len)
{
	return kvm_copy_guest(kvm, gpa, buf, len, false);
}

int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *buf,
		    unsigned int len)
{
	return kvm_copy_guest(kvm, gpa, (void *)buf, len, true);
}

bool kvm_host_huge_2m(struct kvm *kvm, unsigned long hva, phys_addr_t *pa,
		      bool *writable)
{
	unsigned long flags;
	bool huge = false;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	/* Interrupts off: the tables cannot be freed under us (gup_fast). */
	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(kvm->mm, hva));
	if (!pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (!p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (!(pud_flags(pud) & _PAGE_PRESENT))
		goto out;
	if (pud_large(pud)) {
		*pa = ((phys_addr_t)pud_pfn(pud) << PAGE_SHIFT) +
		      (hva & ~PUD_MASK & PMD_MASK);
		*writable = pud_write(pud) && pud_dirty(pud);
		huge = true;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	/* Present to the CPU: not a NUMA-hinting or migrating entry. */
	if (!(pmd_flags(pmd) & _PAGE_PRESENT) || !pmd_large(pmd))
		goto out;
	*pa = (phys_addr_t)pmd_pfn(pmd) << PAGE_SHIFT;
	*writable = pmd_write(pmd) && pmd_dirty(pmd);
	huge = true;
out:
	local_irq_restore(flags);
	return huge;
}

static int walker_read(void *ctx, u64 gpa, void *buf, unsigned int len)
{
	return kvm_read_guest(ctx, gpa, buf, len) ? -1 : 0;
}

/*
 * Atomically replace @old by @new (1, 2, 4 or 8 bytes, within one page)
 * at @gpa, with a locked CMPXCHG on the VM process's own mapping of the
 * page, so that the guest's other vCPUs, running natively on the same
 * host page, see a locked operation.  @track: the write is the guest's
 * (an emulated instruction), and may change a page table with a shadow;
 * accessed/dirty updates by the page walker are not tracked.
 * Returns 0 when swapped, 1 when memory held another value, -EFAULT when
 * no writable RAM is there.
 */
int kvm_cmpxchg_guest(struct kvm *kvm, gpa_t gpa, u64 old, u64 new,
		      unsigned int len, bool track)
{
	unsigned long hva;
	int r;

	if (offset_in_page(gpa) + len > PAGE_SIZE)
		return -EFAULT;
	mutex_lock(&kvm->slots_lock);
	hva = kvm_gpa_to_hva(kvm, gpa, true);
	if (!hva || !access_ok((void __user *)hva, len)) {
		mutex_unlock(&kvm->slots_lock);
		return -EFAULT;
	}
	/* Faults the page in like copy_to_user; -EFAULT if it cannot. */
	switch (len) {
	case 1: {
		u8 o = old;

		r = __try_cmpxchg_user((u8 __user *)hva, &o, (u8)new, efault1);
		break;
	}
	case 2: {
		u16 o = old;

		r = __try_cmpxchg_user((u16 __user *)hva, &o, (u16)new, efault2);
		break;
	}
	case 4: {
		u32 o = old;

		r = __try_cmpxchg_user((u32 __user *)hva, &o, (u32)new, efault4);
		break;
	}
	case 8:
		r = __try_cmpxchg_user((u64 __user *)hva, &old, new, efault8);
		break;
	default:
		r = -EFAULT;
		break;
	}
	if (!r) {
		kvm_mark_page_dirty(kvm, gpa >> PAGE_SHIFT);
		if (track)
			kvm_mmu_track_write(kvm, gpa, len);
	}
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/* Atomic update of a guest page-table entry (accessed/dirty bits). */
static int walker_cmpxchg(void *ctx, u64 gpa, u64 old, u64 new,
			  unsigned int len)
{
	int r = kvm_cmpxchg_guest(ctx, gpa, old, new, len, false);

	return r < 0 ? -1 : r;
}

void kvm_vcpu_init_walker(struct kvm_vcpu *vcpu, struct gpt_walker *w)
{
	unsigned long cr0 = kvm_x86_ops.get_cr(vcpu, 0);
	unsigned long cr4 = kvm_x86_ops.get_cr(vcpu, 4);

	memset(w, 0, sizeof(*w));
	if (!(cr0 & X86_CR0_PG))
		w->mode = GPT_NONE;
	else if (vcpu->efer & EFER_LMA)
		w->mode = (cr4 & X86_CR4_LA57) ? GPT_LONG5 : GPT_LONG4;
	else if (cr4 & X86_CR4_PAE)
		w->mode = GPT_PAE;
	else
		w->mode = GPT_32;
	w->cr3 = kvm_x86_ops.get_cr(vcpu, 3);
	w->wp = cr0 & X86_CR0_WP;
	w->pse = cr4 & X86_CR4_PSE;
	w->nx = vcpu->efer & EFER_NX;
	w->smep = cr4 & X86_CR4_SMEP;
	w->smap = cr4 & X86_CR4_SMAP;
	w->ac = kvm_x86_ops.get_rflags(vcpu) & X86_EFLAGS_AC;
	w->maxphyaddr = boot_cpu_data.x86_phys_bits;
	w->read_gpa = walker_read;
	w->cmpxchg_gpa = walker_cmpxchg;
	w->ctx = vcpu->kvm;
}

enum kvm_gva_result kvm_gva_to_gpa(struct kvm_vcpu *vcpu, u64 gva, u32 access,
				   gpa_t *gpa)
{
	struct gpt_walker w;
	u32 error_code;
	u64 out;

	kvm_vcpu_init_walker(vcpu, &w);
	if (w.mode == GPT_NONE || w.mode == GPT_32 || w.mode == GPT_PAE)
		gva = (u32)gva;
	if (kvm_x86_ops.get_cpl(vcpu) == 3)
		access |= PFERR_USER;
	switch (gpt_translate(&w, gva, access, &out, &error_code)) {
	case GPT_OK:
		*gpa = out;
		return KVM_GVA_OK;
	case GPT_FAULT:
		kvm_queue_pf(vcpu, gva, error_code);
		return KVM_GVA_FAULT;
	default:
		return KVM_GVA_NO_MEMORY;
	}
}

static enum kvm_gva_result kvm_copy_guest_virt(struct kvm_vcpu *vcpu, u64 gva,
					       void *buf, unsigned int len,
					       u32 access, bool write)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gva));
		enum kvm_gva_result r;
		gpa_t gpa;

		r = kvm_gva_to_gpa(vcpu, gva, access | (write ? PFERR_WRITE : 0),
				   &gpa);
		if (r != KVM_GVA_OK)
			return r;
		if (write ? kvm_write_guest(vcpu->kvm, gpa, buf, n) :
			    kvm_read_guest(vcpu->kvm, gpa, buf, n))
			return KVM_GVA_NO_MEMORY;
		gva += n;
		buf += n;
		len -= n;
	}
	return KVM_GVA_OK;
}

enum kvm_gva_result kvm_read_guest_virt(struct kvm_vcpu *vcpu, u64 gva,
					void *buf, unsigned int len,
					u32 access)
{
	return kvm_copy_guest_virt(vcpu, gva, buf, len, access, false);
}

enum kvm_gva_result kvm_write_guest_virt(struct kvm_vcpu *vcpu, u64 gva,
					 const void *buf, unsigned int len,
					 u32 access)
{
	return kvm_copy_guest_virt(vcpu, gva, (void *)buf, len, access, true);
}

/*
 * Read @len bytes at @gva (within one page) for an instruction fetch,
 * without queueing a #PF when the page is not mapped: 0, or -1.
 */
static int kvm_peek_insn_page(struct kvm_vcpu *vcpu, u64 gva, u8 *buf,
			      unsigned int len)
{
	struct gpt_walker w;
	u32 access = PFERR_FETCH, error_code;
	u64 gpa;

	kvm_vcpu_init_walker(vcpu, &w);
	if (kvm_x86_ops.get_cpl(vcpu) == 3)
		access |= PFERR_USER;
	if (gpt_translate(&w, gva, access, &gpa, &error_code) != GPT_OK)
		return -1;
	return kvm_read_guest(vcpu->kvm, gpa, buf, len) ? -1 : 0;
}

/*
 * Fetch up to 15 instruction bytes at CS:RIP into @insn; returns how many
 * (fewer when the next page is not mapped), 0 when none can be fetched.
 * Only the bytes on RIP's own page may fault (a #PF is then queued, as
 * the CPU's fetch would raise it): the ones after it on the next page may
 * not belong to the instruction at all, so an unmapped next page only
 * shortens the fetch.  Queueing a #PF for it, as this once did, injected
 * a spurious page fault (with CR2 on the next page) into a guest whose
 * emulated instruction (MOV to CR4, a string I/O) ended near a page end.
 */
int kvm_fetch_insn(struct kvm_vcpu *vcpu, u8 *insn, bool *long_mode)
{
	struct kvm_segment cs;
	unsigned int n;
	u64 ip;

	kvm_x86_ops.get_segment(vcpu, &cs, VCPU_SREG_CS);
	*long_mode = (vcpu->efer & EFER_LMA) && cs.l;
	ip = (*long_mode ? 0 : cs.base) + kvm_rip(vcpu);
	if (!*long_mode)
		ip = (u32)ip;
	memset(insn, 0, 15);
	n = min_t(unsigned int, 15, PAGE_SIZE - offset_in_page(ip));
	if (kvm_read_guest_virt(vcpu, ip, insn, n, PFERR_FETCH) != KVM_GVA_OK)
		return 0;
	if (n < 15) {
		u64 next = ip + n;

		if (!*long_mode)
			next = (u32)next;
		if (!kvm_peek_insn_page(vcpu, next, insn + n, 15 - n))
			n = 15;
	}
	return n;
}

/*
 * Diagnostics for a triple fault: the guest's long-mode walk of @gva as
 * it stands, per level the entry read through the memory slot (what
 * userspace and this module see) and, with nested paging, the host page
 * the nested table maps the page-table page to, and the entry as read
 * there (what the guest sees).  The two differ only if the nested table
 * went stale.
 */
void kvm_dump_guest_walk(struct kvm_vcpu *vcpu, u64 gva, const char *what)
{
	unsigned long cr4 = kvm_x86_ops.get_cr(vcpu, 4);
	u64 table = kvm_x86_ops.get_cr(vcpu, 3) & 0x000ffffffffff000ULL;
	int level = (cr4 & X86_CR4_LA57) ? 5 : 4;

	if (!(vcpu->efer & EFER_LMA) ||
	    !(kvm_x86_ops.get_cr(vcpu, 0) & X86_CR0_PG))
		return;
	for (; level >= 1; level--) {
		u64 gpa = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		u64 e = 0, seen = 0, npt = 0, hpfn = 0;
		unsigned long hva;
		struct page *page;

		kvm_read_guest(vcpu->kvm, gpa, &e, 8);
		mutex_lock(&vcpu->kvm->slots_lock);
		hva = kvm_gpa_to_hva(vcpu->kvm, gpa, false);
		mutex_unlock(&vcpu->kvm->slots_lock);
		if (hva && get_user_pages_fast_only(hva & PAGE_MASK, 1, 0, &page) == 1) {
			hpfn = page_to_pfn(page);
			put_page(page);
		}
		if (!kvm_shadow_paging) {
			npt = kvm_tdp_lookup(vcpu->kvm, gpa);
			/* not a RAM page (a PFNMAP slot): nothing to read */
			if (npt && pfn_valid((npt & 0x000ffffffffff000ULL) >> PAGE_SHIFT)) {
				u64 *p = kmap_local_pfn((npt & 0x000ffffffffff000ULL) >> PAGE_SHIFT);

				seen = p[offset_in_page(gpa) / 8];
				kunmap_local(p);
			}
		}
		pr_info("kvm:   %s %llx L%d: entry at gpa %llx = %llx (hpfn %llx); nested %llx -> %llx\n",
			what, gva, level, gpa, e, hpfn, npt, seen);
		if (!(e & 1) || (level > 1 && level < 4 && (e & 0x80)))
			break;
		table = e & 0x000ffffffffff000ULL;
	}
}
