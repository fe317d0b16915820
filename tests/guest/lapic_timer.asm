; lapic_timer - the in-kernel local APIC timer in its three modes, woken
; from HLT: one-shot (one interrupt, current count 0 afterwards, no second
; one), the current count counting down and a TMICT write of 0 stopping it,
; a masked one-shot (counts to 0, no interrupt, nothing in IRR), periodic
; (five interrupts, current count reloaded), TSC-deadline (offered in CPUID
; by kvm-run with the in-kernel LAPIC: an interrupt at the deadline, the MSR
; clears on expiry, a deadline in the past fires at once, writing 0 disarms,
; TMICT ignored in that mode) and IA32_TSC_DEADLINE ignored outside it.
; Real time comes from the ACPI PM timer.
;
; Needs kvm-run's in-kernel irqchip (guests.ini passes -smp 2).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_TIMER equ 0x50
MS      equ 1000000                     ; bus clock 1 GHz in KVM: TMICT per ms at divide 1

; HLT_UNTIL mem, value: sleep until dword [mem] >= value (IF=1 while asleep)
%macro HLT_UNTIL 2
%%again:
        cli
        cmp dword [%1], %2
        jae %%done
        sti
        hlt
        jmp %%again
%%done:
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "lapic_timer: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        SET_GATE V_TIMER, timer_handler
        mov dword [LAPIC_TDCR], 0x0b     ; divide by 1

        ; -- one-shot, 2 ms, from HLT
        mov dword [LAPIC_LVTT], V_TIMER
        mov dword [LAPIC_TMICT], 2 * MS
        HLT_UNTIL count, 1
        EXPECT_EQ dword [LAPIC_TMCCT], 0, 0x10
        DELAY_MS 10                     ; IF=0, the interrupt would wait in IRR
        APIC_BIT LAPIC_IRR, V_TIMER
        jz .no_second
        EXIT_FAIL 0x11
.no_second:
        EXPECT_EQ dword [count], 1, 0x12
        PUTS "lapic_timer: one-shot fires once, current count 0 ok", 10

        ; -- counting down, then stopped by TMICT = 0
        mov dword [LAPIC_TMICT], 200 * MS
        mov esi, [LAPIC_TMCCT]
        DELAY_MS 2
        mov edi, [LAPIC_TMCCT]
        cmp esi, 200 * MS
        ja .bad_count
        cmp edi, esi
        jae .bad_count
        cmp edi, 0
        je .bad_count
        mov dword [LAPIC_TMICT], 0
        EXPECT_EQ dword [LAPIC_TMCCT], 0, 0x13
        sti
        DELAY_MS 5
        cli
        EXPECT_EQ dword [count], 1, 0x14
        PUTS "lapic_timer: current count counts down, tmict 0 stops it ok", 10
        jmp .masked
.bad_count:
        EXIT_FAIL 0x15

.masked:
        ; -- masked one-shot: counts to 0 without an interrupt
        mov dword [LAPIC_LVTT], V_TIMER | LVT_MASKED
        mov dword [LAPIC_TMICT], 1 * MS
        sti
        DELAY_MS 5
        cli
        EXPECT_EQ dword [LAPIC_TMCCT], 0, 0x16
        EXPECT_EQ dword [count], 1, 0x17
        APIC_BIT LAPIC_IRR, V_TIMER
        jz .masked_ok
        EXIT_FAIL 0x18
.masked_ok:
        PUTS "lapic_timer: masked one-shot counts to 0, no interrupt ok", 10

        ; -- periodic, 1 ms
        mov dword [count], 0
        mov dword [LAPIC_LVTT], V_TIMER | LVT_PERIODIC
        mov dword [LAPIC_TMICT], 1 * MS
        HLT_UNTIL count, 5
        mov eax, [LAPIC_TMCCT]
        mov dword [LAPIC_LVTT], V_TIMER | LVT_MASKED
        mov dword [LAPIC_TMICT], 0
        cmp eax, 0
        je .bad_period
        cmp eax, 1 * MS
        ja .bad_period
        PUTS "lapic_timer: periodic, 5 interrupts, count reloads ok", 10
        jmp .deadline
.bad_period:
        EXIT_FAIL 0x19

.deadline:
        STI_WINDOW                      ; drain a last periodic tick, if any
        ; -- IA32_TSC_DEADLINE outside TSC-deadline mode: reads 0, ignores writes
        mov eax, 1
        cpuid
        test ecx, 1 << 24
        jnz .has_deadline
        PUTS "lapic_timer: tsc-deadline not offered", 10
        EXIT_FAIL 0x1a
.has_deadline:
        mov ecx, MSR_TSC_DEADLINE
        mov eax, 0x12345678
        xor edx, edx
        wrmsr
        rdmsr
        EXPECT_EQ eax, 0, 0x1b
        EXPECT_EQ edx, 0, 0x1c

        ; -- TSC-deadline: fires at the deadline, the MSR clears
        mov dword [count], 0
        mov dword [LAPIC_LVTT], V_TIMER | LVT_TSCDEADLINE
        rdtsc
        add eax, 200000000              ; far enough to read the MSR back first
        adc edx, 0
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        rdmsr
        test eax, eax                   ; armed: reads back non-zero
        jnz .armed
        EXIT_FAIL 0x1d
.armed:
        HLT_UNTIL count, 1
        mov ecx, MSR_TSC_DEADLINE
        rdmsr
        EXPECT_EQ eax, 0, 0x1e
        EXPECT_EQ edx, 0, 0x1f
        ; a deadline already passed fires at once
        rdtsc
        sub eax, 1000
        sbb edx, 0
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        HLT_UNTIL count, 2
        ; writing 0 disarms; TMICT is ignored in this mode
        rdtsc
        add eax, 20000000
        adc edx, 0
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        xor eax, eax
        xor edx, edx
        wrmsr
        mov dword [LAPIC_TMICT], 1000
        EXPECT_EQ dword [LAPIC_TMICT], 0, 0x20
        EXPECT_EQ dword [LAPIC_TMCCT], 0, 0x21
        sti
        DELAY_MS 20
        cli
        EXPECT_EQ dword [count], 2, 0x22
        PUTS "lapic_timer: tsc-deadline fires, msr clears, past deadline at once, 0 disarms ok", 10

        EXPECT_EQ dword [spurious_count], 0, 0x23
        PUTS "lapic_timer: done", 10
        EXIT 0

timer_handler:
        inc dword [count]
        LAPIC_EOI_W
        iret

        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
count:          dd 0
image_end:
bss_end:
