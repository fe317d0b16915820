; irq_once - each external interrupt is taken once, and never with IF=0:
; the PIT's IRQ0 through the 8259A (the local APIC's LINT0 in ExtINT mode,
; virtual wire), TICKS times, with a handler that spins a while with IF=0
; and nothing that exits (register arithmetic only) before its EOI.  A flag
; set for the handler's whole run catches it being entered a second time
; before it returned.
;
; Why: QEMU's TCG SVM (the rig's L0) delivers an external interrupt that
; VMRUN injects, but leaves its vector pending in QEMU's CPU loop; when the
; loop is next left by a plain exit request (round-robin time slice, an
; event for another vCPU) before any exception, interrupt or #VMEXIT, the
; guest takes the vector again, IF=0 or not.  The long IF=0 stretch in the
; handler is where that lands.  Our kvm.ko makes such an entry exit right
; after the delivery (kernel/svm/svm.c, intr_exit); under single-threaded
; L0 TCG the rig's zz-irq-once scenario shows the difference.
;
; Runs under kvm-run (in-kernel irqchip and PIT: guests.ini passes -smp 2;
; the AP stays in wait-for-SIPI) and under QEMU (its own 8259A and PIT).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_IRQ0          equ 0x20
PIT_COUNT       equ 11932               ; 1.193182 MHz / 11932: ~10 ms
TICKS           equ 8
SPIN            equ 4000000             ; dec/jnz rounds in the handler

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "irq_once: start", 10
        call idt_init
        call lapic_enable
        mov dword [LAPIC_LVT0], LVT_EXTINT
        call pic_init
        SET_GATE V_IRQ0, irq0_handler

        ; -- channel 0: mode 2 (rate generator), low byte then high byte
        mov al, 0x34
        out 0x43, al
        mov al, PIT_COUNT & 0xff
        out 0x40, al
        mov al, PIT_COUNT >> 8
        out 0x40, al
        mov al, 0xfa                    ; unmask IRQ0 (and the cascade)
        out 0x21, al

        mov ecx, 2000 * PM_TICKS_PER_MS
        call pm_deadline_start
        mov ebx, 10                     ; 10 rounds of 2 s: 20 s in all
        sti
.wait:
        cmp dword [irq0_count], TICKS
        jae .enough
        call pm_deadline_passed
        jnc .wait
        mov ecx, 2000 * PM_TICKS_PER_MS
        call pm_deadline_start
        dec ebx
        jnz .wait
        cli
        PUTS "irq_once: ticks taken "
        PUTHEX dword [irq0_count]
        PUTS 10
        EXIT_FAIL 0x10
.enough:
        cli
        mov al, 0xff                    ; IRQ0 masked, the PIT stopped
        out 0x21, al
        mov al, 0x30
        out 0x43, al

        cmp dword [again_count], 0
        je .once
        PUTS "irq_once: handler entered again "
        PUTHEX dword [again_count]
        PUTS " times, last at eip "
        PUTHEX dword [again_eip]
        PUTS 10
        EXIT_FAIL 0x11
.once:
        EXPECT_EQ dword [in_handler], 0, 0x12
        PUTS "irq_once: pit ticks through the 8259a, each handler ran to its end first ok", 10
        PUTS "irq_once: done", 10
        EXIT 0

; IRQ0: one tick; a second entry while the first runs is counted and
; returns at once (the 8259A did not deliver it: no EOI)
irq0_handler:
        cmp dword [in_handler], 0
        jne .again
        mov dword [in_handler], 1
        push eax
        push ecx
        inc dword [irq0_count]
        mov ecx, SPIN
.spin:
        dec ecx
        jnz .spin
        mov dword [in_handler], 0
        mov al, 0x20                    ; non-specific EOI
        out 0x20, al
        pop ecx
        pop eax
        iret
.again:
        inc dword [again_count]
        push eax
        mov eax, [esp + 4]              ; the EIP it interrupted
        mov [again_eip], eax
        pop eax
        iret

        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
irq0_count:     dd 0
in_handler:     dd 0
again_count:    dd 0
again_eip:      dd 0
image_end:
bss_end:
