; pit_nmi - the in-kernel PIT's channel-0 ticks on LINT0 (the virtual-wire
; NMI watchdog of older Linux, as upstream KVM models it): while some LAPIC
; has LINT0 unmasked in NMI mode, every tick that pulses IRQ0 also raises
; LINT0 of every LAPIC through its own LVT0.
;
; The PIT runs at ~100 Hz; IRQ0 is taken through IOAPIC pin 2 and EOIed,
; so with reinjection on (the PIT's default) each tick pulses once, after
; the previous one was acknowledged.  The BSP and the AP both have LVT0 in
; NMI mode: each takes NMIs with the ticks, never more than one per IRQ0
; (give or take the tick in flight), and at least one (not one per tick:
; NMIs that pile up while a vCPU's thread waits for a host CPU are latched
; as at most two, on both KVMs).  Then the BSP
; masks its LVT0: it takes none while IRQ0 goes on, and the AP, still in
; NMI mode, keeps taking them.
;
; Needs kvm-run's in-kernel irqchip and PIT (guests.ini passes -smp 2).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_IRQ0          equ 0x30
LVT_NMI         equ 0x400
PIT_COUNT       equ 11932               ; 1.193182 MHz / 11932: ~10 ms
TICKS           equ 10

; RTE pin, low, dest (clobbers eax, ecx, edx)
%macro RTE 3
        mov eax, %1
        mov edx, %2
        mov ecx, %3
        call ioapic_set_rte
%endmacro

; TAKE_IRQ0S n, ms, failcode: with IF=1, wait until irq0_count reaches
; [irq0_base] + n, for at most ms of PM-timer time; then IF=0
%macro TAKE_IRQ0S 3
        mov ecx, (%2) * PM_TICKS_PER_MS
        call pm_deadline_start
        sti
%%poll:
        mov eax, [irq0_count]
        sub eax, [irq0_base]
        cmp eax, %1
        jae %%done
        call pm_deadline_passed
        jnc %%poll
        cli
        EXIT_FAIL %3
%%done:
        cli
%endmacro

; WITH_TICKS nmis, ticks, failcode: fail unless 1 <= nmis <= ticks + 2
; (registers; ebp is scratch)
%macro WITH_TICKS 3
        push ebp
        mov ebp, %2
        add ebp, 2
        cmp %1, ebp
        ja %%bad
        cmp %1, 1
        jae %%ok
%%bad:
        pop ebp
        mov eax, %3
        jmp fail_counts
%%ok:
        pop ebp
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "pit_nmi: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        SET_GATE V_IRQ0, irq0_handler
        SET_GATE 2, nmi_handler

        call ap_start_all
        WAIT_EQ ap_ready, 1, 3000, 0x10
        mov dword [LAPIC_LVT0], LVT_NMI
        RTE 2, V_IRQ0, 0                ; GSI 0 (IRQ0) -> the BSP

        ; -- channel 0: mode 2 (rate generator), low byte then high byte
        mov al, 0x34
        out 0x43, al
        mov al, PIT_COUNT & 0xff
        out 0x40, al
        mov al, PIT_COUNT >> 8
        out 0x40, al

        TAKE_IRQ0S TICKS, 3000, 0x11
        mov ecx, 1000                   ; NMIs need no IF: let any in flight land
.settle:
        dec ecx
        jnz .settle
        mov eax, [irq0_count]
        mov ebx, [nmi_count]
        mov edx, [nmi_count + 4]
        WITH_TICKS ebx, eax, 0x12
        WITH_TICKS edx, eax, 0x13
        PUTS "pit_nmi: bsp and ap with lint0 in nmi mode take nmis with the irq0 ticks ok", 10

        ; -- BSP's LINT0 masked: none for it, the AP goes on
        mov dword [LAPIC_LVT0], LVT_MASKED | LVT_NMI
        mov ecx, 1000
.settle2:
        dec ecx
        jnz .settle2
        mov eax, [irq0_count]
        mov [irq0_base], eax
        mov esi, [nmi_count]
        mov edi, [nmi_count + 4]
        TAKE_IRQ0S TICKS, 3000, 0x14
        EXPECT_EQ dword [nmi_count], esi, 0x15
        mov eax, [nmi_count + 4]
        sub eax, edi
        mov ebx, [irq0_count]
        sub ebx, [irq0_base]
        WITH_TICKS eax, ebx, 0x16
        PUTS "pit_nmi: masked lint0 takes none, the ap in nmi mode still does ok", 10

        mov al, 0x30                    ; channel 0 mode 0, no count: stopped
        out 0x43, al
        RTE 2, RTE_MASKED, 0
        EXPECT_EQ dword [spurious_count], 0, 0x17
        PUTS "pit_nmi: done", 10
        EXIT 0

; fail_counts: EAX = failure code; print the counts, then fail
fail_counts:
        PUTS "pit_nmi: irq0 "
        PUTHEX dword [irq0_count]
        PUTS " base "
        PUTHEX dword [irq0_base]
        PUTS " nmis bsp "
        PUTHEX dword [nmi_count]
        PUTS " ap "
        PUTHEX dword [nmi_count + 4]
        PUTS 10
        jmp fail32

; The AP: LINT0 in NMI mode, then sleep (an NMI wakes HLT)
ap_main:
        mov dword [LAPIC_LVT0], LVT_NMI
        mov dword [ap_ready], 1
.sleep:
        sti
        hlt
        jmp .sleep

irq0_handler:
        lock inc dword [irq0_count]
        LAPIC_EOI_W
        iret

nmi_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [nmi_count + eax * 4]
        pop eax
        iret

        AP_TRAMPOLINE_CODE
        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
ap_ready:       dd 0
irq0_count:     dd 0
irq0_base:      dd 0
nmi_count:      times MAX_CPUS dd 0
image_end:
bss_end:
