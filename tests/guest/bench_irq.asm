; bench_irq - interrupt latencies on the in-kernel irqchip, measured in the
; guest with RDTSC (make bench; listed in bench.ini).  Two vCPUs (-smp 2).
; Not a test: prints "bench <row> <cycles per op, hex>" lines.
; Rows:
;   ipi_roundtrip  CPU 0 sends a fixed IPI to CPU 1, which spins with IF=1;
;                  CPU 1's handler sends one back; CPU 0 spins until it
;                  arrives.  Two IPIs between running vCPUs.
;   hlt_wakeup     the same round trip while CPU 1 sits in HLT (given
;                  400k TSC cycles to get there between rounds, untimed):
;                  about as long as upstream's default halt polling
;                  (halt_poll_ns 200 us), so a KVM may still be polling.
;   hlt_sleep_wakeup  the same after 20M cycles in HLT: the vCPU thread has
;                  gone to sleep, the round trip includes waking it.
;   self_ipi       a self-IPI by shorthand, taken at once.

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_PING  equ 0x61
V_PONG  equ 0x62
V_SELF  equ 0x63
ITER    equ 1000
SETTLE_TSC equ 400000                   ; untimed pause before a halted round
SLEEP_TSC  equ 20000000                 ; ... long enough for any halt polling
SLEEP_ITER equ 100

; HLT_ROUNDS n, "row": n round trips to the halted CPU 1, each after an
; untimed settle of [settle_tsc] cycles, and the row with their mean
%macro HLT_ROUNDS 2
        mov dword [total_lo], 0
        mov dword [total_hi], 0
        mov ecx, %1
%%round:
        call settle
        rdtsc
        mov esi, eax
        mov edi, edx
        call round_trip
        rdtsc
        sub eax, esi
        sbb edx, edi
        add [total_lo], eax
        adc [total_hi], edx
        dec ecx
        jnz %%round
        mov eax, [total_lo]
        mov edx, [total_hi]
        mov ecx, %1
        div ecx
        PUTS "bench ", %2, " "
        PUTHEX eax
        PUTS 10
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        SET_GATE V_PING, ping_handler
        SET_GATE V_PONG, pong_handler
        SET_GATE V_SELF, self_handler
        mov dword [ap_spin], 1
        call ap_start_all
        WAIT_EQ ap_started, 1, 3000, 0x10
        sti

        ; -- round trips to a spinning CPU 1 (100 warm-up rounds first)
        mov ecx, 100
.warm:
        call round_trip
        dec ecx
        jnz .warm
        rdtsc
        mov esi, eax
        mov edi, edx
        mov ecx, ITER
.spin_rounds:
        call round_trip
        dec ecx
        jnz .spin_rounds
        rdtsc
        sub eax, esi
        sbb edx, edi
        mov ecx, ITER
        div ecx
        PUTS "bench ipi_roundtrip "
        PUTHEX eax
        PUTS 10

        ; -- round trips to a halted CPU 1: time each round alone
        mov dword [ap_spin], 0
        call round_trip                 ; CPU 1 sees ap_spin = 0 and halts
        mov dword [settle_tsc], SETTLE_TSC
        HLT_ROUNDS ITER, "hlt_wakeup"
        mov dword [settle_tsc], SLEEP_TSC
        HLT_ROUNDS SLEEP_ITER, "hlt_sleep_wakeup"


        ; -- self-IPI
        rdtsc
        mov esi, eax
        mov edi, edx
        mov ecx, ITER
.self_rounds:
        mov eax, [self_count]
        inc eax
        mov ebx, eax
        mov dword [LAPIC_ICR_HI], 0
        mov eax, ICR_SELF | V_SELF
        call icr_send
.self_wait:
        cmp [self_count], ebx
        jne .self_wait
        dec ecx
        jnz .self_rounds
        rdtsc
        sub eax, esi
        sbb edx, edi
        mov ecx, ITER
        div ecx
        PUTS "bench self_ipi "
        PUTHEX eax
        PUTS 10
        EXIT 0

; round_trip: PING to CPU 1, wait for its PONG (IF=1)
round_trip:
        push eax
        push ebx
        mov ebx, [pong_count]
        inc ebx
        mov dword [LAPIC_ICR_HI], 1 << 24
        mov eax, V_PING
        call icr_send
.wait:
        cmp [pong_count], ebx
        jne .wait
        pop ebx
        pop eax
        ret

; settle: spin SETTLE_TSC cycles so that CPU 1 gets back into HLT
settle:
        push eax
        push ebx
        push edx
        rdtsc
        mov ebx, eax
.spin:
        pause
        rdtsc
        sub eax, ebx
        cmp eax, [settle_tsc]
        jb .spin
        pop edx
        pop ebx
        pop eax
        ret

ap_main:
        sti
.loop:
        cmp dword [ap_spin], 0
        je .halt
        pause
        jmp .loop
.halt:
        hlt
        jmp .loop

ping_handler:
        push eax
        mov dword [LAPIC_ICR_HI], 0
        mov eax, V_PONG
        call icr_send
        LAPIC_EOI_W
        pop eax
        iret

pong_handler:
        inc dword [pong_count]
        LAPIC_EOI_W
        iret

self_handler:
        inc dword [self_count]
        LAPIC_EOI_W
        iret

        AP_TRAMPOLINE_CODE
        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
ap_spin:        dd 0
pong_count:     dd 0
self_count:     dd 0
total_lo:       dd 0
total_hi:       dd 0
settle_tsc:     dd 0
image_end:
bss_end:
