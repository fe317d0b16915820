/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One trip into an SVM guest.
 *
 * void svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa)
 *
 * Called with GIF clear (CLGI) and host interrupts enabled, so that a
 * physical interrupt while the guest runs becomes an INTR #VMEXIT rather
 * than being taken here.  VMRUN itself saves and restores the host's
 * RIP/RSP/RAX, control registers, EFER, RFLAGS and ES/CS/SS/DS; the rest
 * of the host segment and syscall state (FS, GS and their bases, TR, LDTR,
 * KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) is moved with
 * VMSAVE/VMLOAD through the per-CPU host save area.  The host GS base is
 * back before any per-CPU access.  See AMD APM vol. 2, 15.5 and 15.30.
 *
 * regs[] holds the guest GPRs in hardware encoding order (RAX first,
 * which is unused here: the guest's RAX lives in the VMCB).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define R(n)	((n) * 8)

	.text
SYM_FUNC_START(svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rsi		/* 16(%rsp): regs */
	push	%rdx		/*  8(%rsp): host save area */
	push	%rdi		/*  0(%rsp): guest VMCB */

	mov	%rdx, %rax
	vmsave	%rax
	mov	(%rsp), %rax
	vmload	%rax

	mov	R(1)(%rsi), %rcx
	mov	R(2)(%rsi), %rdx
	mov	R(3)(%rsi), %rbx
	mov	R(5)(%rsi), %rbp
	mov	R(7)(%rsi), %rdi
	mov	R(8)(%rsi), %r8
	mov	R(9)(%rsi), %r9
	mov	R(10)(%rsi), %r10
	mov	R(11)(%rsi), %r11
	mov	R(12)(%rsi), %r12
	mov	R(13)(%rsi), %r13
	mov	R(14)(%rsi), %r14
	mov	R(15)(%rsi), %r15
	mov	R(6)(%rsi), %rsi

	vmrun	%rax
SYM_INNER_LABEL(svm_vmrun_resume, SYM_L_GLOBAL)

	/* RAX = guest VMCB again, RSP = ours; all else is the guest's. */
	vmsave	%rax
	mov	8(%rsp), %rax
	vmload	%rax

	mov	16(%rsp), %rax
	mov	%rcx, R(1)(%rax)
	mov	%rdx, R(2)(%rax)
	mov	%rbx, R(3)(%rax)
	mov	%rbp, R(5)(%rax)
	mov	%rsi, R(6)(%rax)
	mov	%rdi, R(7)(%rax)
	mov	%r8, R(8)(%rax)
	mov	%r9, R(9)(%rax)
	mov	%r10, R(10)(%rax)
	mov	%r11, R(11)(%rax)
	mov	%r12, R(12)(%rax)
	mov	%r13, R(13)(%rax)
	mov	%r14, R(14)(%rax)
	mov	%r15, R(15)(%rax)

	/* Leave no guest values in registers for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(svm_vmrun)
