; irq_stress - four vCPUs hammer IPIs and LAPIC timers for 60 seconds (ACPI
; PM timer time) and prove that no interrupt was lost.  Run by the rig
; scenario irq-stress (listed in stress.ini, not guests.ini: its counts vary).
;
; Every CPU, at once:
;  - keeps a timer chain alive: CPUs 0 and 2 re-arm a 300 us one-shot LAPIC
;    timer from its handler, CPUs 1 and 3 a TSC-deadline one (1M cycles
;    ahead).  One lost timer interrupt ends the chain, so CPU 0 checks every
;    5 seconds that every chain has moved on;
;  - sends fixed IPIs around the ring 0 -> 1 -> 2 -> 3 -> 0 and waits for
;    each to be acknowledged by its receiver's handler (a receiver counter
;    that must reach the sender's count) before sending the next, so an IPI
;    cannot merge with a pending one and a lost one shows as a missing ack;
;  - halts now and then (every 64th round) until the next interrupt, only
;    while [stop] is clear (checked with IF=0, then STI; HLT): after the
;    stop a timer handler ends the chain, and a CPU that halted after its
;    last timer interrupt would never wake (what FAIL 0x52 was).
; nasm -DSECONDS=n -DHALT_MASK=m shortens the run / halts more often
; (HALT_MASK=0: every round), for investigations.
; CPU 0 also sends an all-excluding-self IPI every 256 rounds and an NMI to
; CPU 2 every 1024 rounds, each waited for in the same way.
; At the end every CPU disarms its timer and checks in; CPU 0 compares the
; counts: received == sent on every ring link, broadcasts and NMIs all
; seen.  Prints one line per CPU with its counts (hex) and "irq_stress: no
; interrupt lost" before exiting 0; a failure prints FAIL <code>:
;   0x40 + cpu  an IPI to the next CPU was not acknowledged within ~2^34 TSC
;   0x48 + cpu  that CPU's timer chain stopped
;   0x50        a broadcast IPI was not seen by every AP
;   0x51        an NMI was not seen
;   0x52        the CPUs did not all check in at the end (5 s after CPU 0)
;   0x53        received != sent on a ring link at the end
; The ring handler also counts the times it found its CPU more ring IPIs
; received than its sender had sent ("ahead", with the first such context
; in the diagnosis): only a duplicate delivery can cause it, yet it was seen
; on both KVMs under L0's TCG when CPUs halt every round (HALT_MASK=0), and
; the final counts still match (a later IPI then merges with a pending
; one).  The cause: QEMU's TCG SVM delivers a VMRUN-injected interrupt a
; second time when its CPU loop is next left by a plain exit request
; (kernel/svm/svm.c, intr_exit); with intr_exit ours showed 0 (22:09 run,
; 931-2496 per run before), the reference still shows it.  So printed, not
; failed.
; After a failure CPU 0 prints every CPU's state (1 running, 2 in HLT, 3
; waiting for an ack, 4 checked in), counts and whether its timer chain is
; still armed, then "irq_stress: dump now" and waits 3 s before exiting, so
; that the rig can ask kvm-run (SIGUSR2) for every vCPU's registers and
; LAPIC (IRR/ISR, timer) meanwhile.
; Needs kvm-run -smp 4 (the in-kernel irqchip) and TSC-deadline in CPUID.

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

%ifndef SECONDS                         ; nasm -DSECONDS=n for a shorter run
SECONDS     equ 60
%endif
%ifndef HALT_MASK                       ; halt when (round & HALT_MASK) == 0
HALT_MASK   equ 63
%endif
PM_HZ       equ 3579545
V_RING      equ 0x60
V_BCAST     equ 0x61
V_ONESHOT   equ 0x70
V_DEADLINE  equ 0x71
ONESHOT_NS  equ 300000                  ; bus clock 1 GHz, divide 1
DEADLINE_TSC equ 1000000
ACK_TSC_HI  equ 4                       ; ack timeout: 4 * 2^32 TSC cycles

%define PERCPU(arr, reg) arr + reg * 4

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "irq_stress: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        SET_GATE V_RING, ring_handler
        SET_GATE V_BCAST, bcast_handler
        SET_GATE V_ONESHOT, oneshot_handler
        SET_GATE V_DEADLINE, deadline_handler
        SET_GATE 2, nmi_handler
        mov eax, 1
        cpuid
        test ecx, 1 << 24
        jnz .deadline_ok
        PUTS "irq_stress: tsc-deadline not offered", 10
        EXIT_FAIL 0x54
.deadline_ok:
        call ap_start_all
        WAIT_EQ ap_started, 3, 3000, 0x55
        PUTS "irq_stress: 4 cpus up, running for 60 s", 10
        call pm_now
        mov [clock_last], eax
        mov dword [go], 1
        xor eax, eax
        jmp worker

ap_main:                                ; wait until every CPU's LAPIC is on:
        cmp dword [go], 0               ; a fixed IPI to a CPU still waiting
        jne worker                      ; for its SIPI would be dropped
        pause
        jmp ap_main

; worker: EAX = APIC ID (0-3); runs until [stop], then checks in
worker:
        mov ebp, eax                    ; ebp = my id for the whole loop
        mov dword [LAPIC_TDCR], 0x0b    ; divide by 1
        test ebp, 1
        jnz .arm_deadline
        mov dword [PERCPU(timer_armed, ebp)], 1
        mov dword [LAPIC_LVTT], V_ONESHOT
        mov dword [LAPIC_TMICT], ONESHOT_NS
        jmp .armed
.arm_deadline:
        mov dword [PERCPU(timer_armed, ebp)], 1
        mov dword [LAPIC_LVTT], V_DEADLINE | LVT_TSCDEADLINE
        call arm_deadline
.armed:
        lea ebx, [ebp + 1]
        and ebx, 3                      ; ebx = next CPU in the ring
        xor esi, esi                    ; round counter
        sti
.round:
        cmp dword [stop], 0
        jne .finish
        ; ring IPI to the next CPU, then wait for its ack
        inc dword [PERCPU(ring_sent, ebp)]
        mov eax, ebx
        shl eax, 24
        mov [LAPIC_ICR_HI], eax
        mov eax, V_RING
        call icr_send
        mov edi, [PERCPU(ring_sent, ebp)]
        lea eax, [PERCPU(ring_recv, ebx)]
        mov dword [PERCPU(cpu_state, ebp)], 3
        call wait_ack
        jnc .acked
        lea eax, [ebp + 0x40]
        jmp .fail
.acked:
        inc esi
        test esi, HALT_MASK
        jnz .no_halt
        ; Halt only while the timer chain is sure to wake us: once [stop]
        ; is set, a timer handler ends the chain instead of re-arming, and
        ; nobody may send us anything any more.  Checking [stop] with IF=0
        ; and halting in STI's shadow closes the window where a handler
        ; that saw [stop] runs between the check and the HLT.
        cli
        cmp dword [stop], 0
        jne .no_halt_sti
        mov dword [PERCPU(cpu_state, ebp)], 2
        sti
        hlt                             ; the timer chain wakes us
.no_halt_sti:
        sti
.no_halt:
        mov dword [PERCPU(cpu_state, ebp)], 1
        test ebp, ebp
        jnz .round
        call cpu0_duties
        jmp .round
.fail:
        mov edx, eax
        xor eax, eax
        lock cmpxchg [failed], edx      ; the first failure wins
        mov dword [stop], 1
.finish:
        cli                             ; disarm, then keep answering IPIs:
        mov dword [LAPIC_LVTT], LVT_MASKED
        mov dword [LAPIC_TMICT], 0
        test ebp, 1
        jz .disarmed
        mov ecx, MSR_TSC_DEADLINE
        xor eax, eax
        xor edx, edx
        wrmsr
.disarmed:
        mov dword [PERCPU(timer_armed, ebp)], 0
        mov dword [PERCPU(cpu_state, ebp)], 4
        lock inc dword [checked_in]
        sti                             ; a sender may still wait for an ack
        test ebp, ebp
        jz report
.idle:
        hlt
        jmp .idle

; cpu0_duties: the clock, chain checks, broadcasts and NMIs (CPU 0 only;
; esi = round counter; may set stop/failed)
cpu0_duties:
        pushad
        call pm_now
        mov edx, eax
        sub eax, [clock_last]
        and eax, 0xffffff
        mov [clock_last], edx
        add [clock_ticks], eax
        add [check_ticks], eax
        cmp dword [clock_ticks], SECONDS * PM_HZ
        jb .not_over
        mov dword [stop], 1
.not_over:
        cmp dword [check_ticks], 5 * PM_HZ
        jb .no_check
        mov dword [check_ticks], 0
        xor ecx, ecx
.check_cpu:
        mov eax, [timer_count + ecx * 4]
        cmp eax, [timer_seen + ecx * 4]
        jne .moved
        lea eax, [ecx + 0x48]
        jmp .failed
.moved:
        mov [timer_seen + ecx * 4], eax
        inc ecx
        cmp ecx, MAX_CPUS
        jb .check_cpu
.no_check:
        test esi, 255
        jnz .no_bcast
        inc dword [bcast_sent]
        SEND_IPI 0, ICR_OTHERS | V_BCAST
        mov ecx, 1
.bcast_wait:
        mov edi, [bcast_sent]
        lea eax, [bcast_recv + ecx * 4]
        call wait_ack
        jnc .bcast_ok
        mov eax, 0x50
        jmp .failed
.bcast_ok:
        inc ecx
        cmp ecx, MAX_CPUS
        jb .bcast_wait
.no_bcast:
        test esi, 1023
        jnz .done
        inc dword [nmi_sent]
        SEND_IPI 2, ICR_NMI
        mov edi, [nmi_sent]
        mov eax, nmi_recv
        call wait_ack
        jnc .done
        mov eax, 0x51
.failed:
        xor edx, edx
        xchg eax, edx
        lock cmpxchg [failed], edx
        mov dword [stop], 1
.done:
        popad
        ret

; wait_ack: EAX = address of a counter, EDI = value it must reach; CF set
; when ACK_TSC_HI * 2^32 TSC cycles pass first (IF stays 1: handlers run)
wait_ack:
        push ebx
        push ecx
        push edx
        mov ebx, eax
        rdtsc
        add edx, ACK_TSC_HI
        mov ecx, edx                    ; deadline high word
.poll:
        cmp [ebx], edi
        jae .ok
        pause
        rdtsc
        cmp edx, ecx
        jb .poll
        stc
        jmp .out
.ok:
        clc
.out:
        pop edx
        pop ecx
        pop ebx
        ret

arm_deadline:
        push eax
        push ecx
        push edx
        rdtsc
        add eax, DEADLINE_TSC
        adc edx, 0
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        pop edx
        pop ecx
        pop eax
        ret

; CPU 0, after checking in: wait for the others, compare, report
report:
        cmp dword [failed], 0
        jne .diagnose
        mov ecx, 5000 * PM_TICKS_PER_MS
        call pm_deadline_start
.wait_all:
        cmp dword [checked_in], MAX_CPUS
        je .all_in
        pause
        call pm_deadline_passed
        jnc .wait_all
        mov edx, 0x52                   ; not all in: show who and why
        xor eax, eax
        lock cmpxchg [failed], edx
.all_in:
        cmp dword [failed], 0
        je .no_failure
.diagnose:
        DELAY_MS 1000                   ; let the others check in if they can
        xor ecx, ecx
.diag_cpu:
        PUTS "irq_stress: cpu "
        PUTHEX ecx
        PUTS " state "
        PUTHEX dword [cpu_state + ecx * 4]
        PUTS " timers "
        PUTHEX dword [timer_count + ecx * 4]
        PUTS " sent "
        PUTHEX dword [ring_sent + ecx * 4]
        PUTS " received "
        PUTHEX dword [ring_recv + ecx * 4]
        PUTS " broadcasts "
        PUTHEX dword [bcast_recv + ecx * 4]
        PUTS " timer armed "
        PUTHEX dword [timer_armed + ecx * 4]
        PUTS " ahead "
        PUTHEX dword [ring_dups + ecx * 4]
        PUTS " first at eip "
        PUTHEX dword [ring_dup_eip + ecx * 4]
        PUTS " eflags "
        PUTHEX dword [ring_dup_eflags + ecx * 4]
        PUTS 10
        inc ecx
        cmp ecx, MAX_CPUS
        jb .diag_cpu
        PUTS "irq_stress: checked in "
        PUTHEX dword [checked_in]
        PUTS " nmis sent "
        PUTHEX dword [nmi_sent]
        PUTS " seen "
        PUTHEX dword [nmi_recv]
        PUTS 10
        PUTS "irq_stress: dump now", 10
        DELAY_MS 3000
        mov eax, [failed]
        jmp fail32
.no_failure:
        xor ecx, ecx                    ; every ring link, then print
.check_link:
        lea edx, [ecx + 3]
        and edx, 3                      ; the CPU that sends to ecx
        mov eax, [ring_recv + ecx * 4]
        cmp eax, [ring_sent + edx * 4]
        je .link_ok
        mov dword [failed], 0x53        ; the counts show which link
        jmp .diagnose
.link_ok:
        inc ecx
        cmp ecx, MAX_CPUS
        jb .check_link
        xor ecx, ecx
.cpu:
        mov eax, [ring_recv + ecx * 4]
        PUTS "irq_stress: cpu "
        PUTHEX ecx
        PUTS " timer interrupts "
        PUTHEX dword [timer_count + ecx * 4]
        PUTS " ring ipis "
        PUTHEX eax
        PUTS " ahead "
        PUTHEX dword [ring_dups + ecx * 4]
        PUTS 10
        inc ecx
        cmp ecx, MAX_CPUS
        jb .cpu
        PUTS "irq_stress: broadcasts "
        PUTHEX dword [bcast_sent]
        PUTS " nmis "
        PUTHEX dword [nmi_sent]
        PUTS 10
        EXPECT_EQ dword [spurious_count], 0, 0x56
        PUTS "irq_stress: no interrupt lost", 10
        EXIT 0

ring_handler:                           ; counts, and notes being ahead of
        push eax                        ; the sender (it counts before it
        push edx                        ; sends, so more received than sent
        mov eax, [LAPIC_ID]             ; means a delivery came twice)
        shr eax, 24
        lock inc dword [ring_recv + eax * 4]
        lea edx, [eax + 3]
        and edx, 3
        mov edx, [ring_sent + edx * 4]
        cmp [ring_recv + eax * 4], edx
        jbe .once
        lock inc dword [ring_dups + eax * 4]
        cmp dword [ring_dups + eax * 4], 1
        jne .once                       ; keep the first: once one came
        mov edx, [esp + 8]              ; twice, the receiver stays one
        mov [ring_dup_eip + eax * 4], edx ; ahead and every later one
        mov edx, [esp + 16]             ; counts too
        mov [ring_dup_eflags + eax * 4], edx
.once:
        LAPIC_EOI_W
        pop edx
        pop eax
        iret

bcast_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [bcast_recv + eax * 4]
        LAPIC_EOI_W
        pop eax
        iret

oneshot_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [timer_count + eax * 4]
        cmp dword [stop], 0
        jne .no_rearm
        mov dword [LAPIC_TMICT], ONESHOT_NS
        jmp .eoi
.no_rearm:                              ; the chain ends here
        mov dword [timer_armed + eax * 4], 0
.eoi:
        LAPIC_EOI_W
        pop eax
        iret

deadline_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [timer_count + eax * 4]
        cmp dword [stop], 0
        jne .no_rearm
        call arm_deadline
        jmp .eoi
.no_rearm:
        mov dword [timer_armed + eax * 4], 0
.eoi:
        LAPIC_EOI_W
        pop eax
        iret

nmi_handler:
        lock inc dword [nmi_recv]
        iret

        AP_TRAMPOLINE_CODE
        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
go:             dd 0
stop:           dd 0
failed:         dd 0
checked_in:     dd 0
clock_last:     dd 0
clock_ticks:    dd 0
check_ticks:    dd 0
bcast_sent:     dd 0
nmi_sent:       dd 0
nmi_recv:       dd 0
ring_sent:      times MAX_CPUS dd 0
ring_recv:      times MAX_CPUS dd 0
bcast_recv:     times MAX_CPUS dd 0
timer_count:    times MAX_CPUS dd 0
timer_seen:     times MAX_CPUS dd 0
timer_armed:    times MAX_CPUS dd 0
ring_dups:      times MAX_CPUS dd 0     ; handler runs with more received than sent
ring_dup_eip:   times MAX_CPUS dd 0     ; where the first such one came in
ring_dup_eflags: times MAX_CPUS dd 0    ; with these EFLAGS (IF=0: impossible)     ; 1 while the CPU's timer chain runs
cpu_state:      times MAX_CPUS dd 0     ; 1 running, 2 in HLT, 3 waiting for an ack,
                                        ; 4 checked in
image_end:
bss_end:
