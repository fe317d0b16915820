/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One trip into a VMX guest, and calling the host's NMI handler after an
 * NMI exit.
 *
 * int vmx_vmenter(unsigned long *regs, bool resume)
 *
 * Called with interrupts disabled and the vCPU's VMCS current.  Host
 * callee-saved registers and the regs pointer go on the stack; HOST_RSP
 * is written with the stack pointer at that point, and HOST_RIP (set once
 * per VMCS) is vmx_vmexit below, so a VM exit lands there with RSP back
 * on this frame (SDM vol. 3C 28.5.3: RIP and RSP loaded from the
 * host-state area).  Everything else in the GPRs is the guest's.
 *
 * regs[] holds the guest GPRs in hardware encoding order; RSP (index 4)
 * is not used here: it lives in the VMCS.
 *
 * Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed
 * (VMfailInvalid: CF=1, or VMfailValid: ZF=1 with the VM-instruction
 * error field set; SDM vol. 3C 31.2).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#define R(n)		((n) * 8)
#define HOST_RSP_FIELD	0x6c14

	.text
SYM_FUNC_START(vmx_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi		/* 0(%rsp): regs, found again after the exit */

	mov	$HOST_RSP_FIELD, %eax
	vmwrite	%rsp, %rax
	jna	.Lfail_early

	/* Flags from this test survive the MOVs below. */
	test	%sil, %sil

	mov	R(0)(%rdi), %rax
	mov	R(1)(%rdi), %rcx
	mov	R(2)(%rdi), %rdx
	mov	R(3)(%rdi), %rbx
	mov	R(5)(%rdi), %rbp
	mov	R(6)(%rdi), %rsi
	mov	R(8)(%rdi), %r8
	mov	R(9)(%rdi), %r9
	mov	R(10)(%rdi), %r10
	mov	R(11)(%rdi), %r11
	mov	R(12)(%rdi), %r12
	mov	R(13)(%rdi), %r13
	mov	R(14)(%rdi), %r14
	mov	R(15)(%rdi), %r15
	mov	R(7)(%rdi), %rdi

	/* The exit lands below with this frame: tell objtool so. */
	UNWIND_HINT_SAVE
	jnz	.Lresume
	vmlaunch
	jmp	.Lfail
.Lresume:
	vmresume
	jmp	.Lfail

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	/* RSP is our frame again; all GPRs but RSP hold guest values. */
	push	%rax
	mov	8(%rsp), %rax
	pop	R(0)(%rax)
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
	xor	%eax, %eax
	jmp	.Lout

.Lfail:
	/* The guest's values are in the GPRs; the pops below restore ours. */
.Lfail_early:
	mov	$1, %eax

.Lout:
	/* Leave no guest values in registers for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(vmx_vmenter)

/*
 * void vmx_call_nmi_handler(void (*entry)(void))
 *
 * An NMI that arrives in the guest causes a VM exit instead of being
 * delivered (pin-based "NMI exiting"); the host must run its handler
 * itself.  Build the frame the CPU pushes for an interrupt in 64-bit mode
 * (SS, RSP, RFLAGS, CS, RIP on a 16-byte aligned stack; SDM vol. 3A
 * 6.14.2) and call the entry point, whose IRET returns here and ends
 * the NMI-blocked state the exit left behind.
 */
SYM_FUNC_START(vmx_call_nmi_handler)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	CALL_NOSPEC rdi
	leave
	RET
SYM_FUNC_END(vmx_call_nmi_handler)
