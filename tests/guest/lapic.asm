; lapic - the in-kernel local APIC in xAPIC mode on one CPU: reset values
; (version, SVR, DFR, LDR, LVTs masked), TPR/PPR (a vector at or below the
; task priority class waits in IRR until TPR drops), priority order of two
; pending vectors, nesting (a higher class interrupts a handler, a lower one
; waits for its EOI; PPR follows ISR), software disable (LVTs forced masked, fixed IPIs dropped, NMI still
; taken) and NMI blocking (an NMI raised in the NMI handler waits for IRET).
; Values whose exact form is implementation detail are printed, not assumed:
; the reference KVM's output is the expectation.
;
; Needs kvm-run's in-kernel irqchip (guests.ini passes -smp 2).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

; SELF vector: a fixed self-IPI by shorthand
%macro SELF 1
        mov dword [LAPIC_ICR_HI], 0
        mov eax, ICR_SELF | (%1)
        call icr_send
%endmacro

; LOGV: append AL to the order log
%macro LOGV 1
        push eax
        push ebx
        mov ebx, [log_len]
        mov byte [log + ebx], %1
        inc dword [log_len]
        pop ebx
        pop eax
%endmacro

; PRINT "label", value
%macro PRINT 2
        PUTS %1
        PUTHEX %2
        PUTS 10
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "lapic: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        SET_GATE 0x35, h35
        SET_GATE 0x45, h45
        SET_GATE 0x50, h50
        SET_GATE 0x65, h65
        SET_GATE 0x70, h70
        SET_GATE 2, nmi_handler

        ; -- reset values, before the APIC is enabled
        PRINT "lapic: version ", dword [LAPIC_VER]
        PRINT "lapic: svr at reset ", dword [LAPIC_SVR]
        PRINT "lapic: dfr at reset ", dword [LAPIC_DFR]
        PRINT "lapic: ldr at reset ", dword [LAPIC_LDR]
        PRINT "lapic: lvt timer at reset ", dword [LAPIC_LVTT]
        PRINT "lapic: lvt lint1 at reset ", dword [LAPIC_LVT1]
        PRINT "lapic: lvt error at reset ", dword [LAPIC_LVTERR]
        EXPECT_EQ dword [LAPIC_ID], 0, 0x10

        call lapic_enable
        mov dword [LAPIC_LVT0], LVT_MASKED | LVT_EXTINT

        ; -- TPR: class 4 waits while TPR >= 0x40
        mov dword [LAPIC_TPR], 0x50
        EXPECT_EQ dword [LAPIC_PPR], 0x50, 0x11
        SELF 0x45
        STI_WINDOW
        EXPECT_EQ dword [log_len], 0, 0x12
        APIC_BIT LAPIC_IRR, 0x45
        jnz .tpr_pending
        EXIT_FAIL 0x13
.tpr_pending:
        mov dword [LAPIC_TPR], 0x40
        STI_WINDOW
        EXPECT_EQ dword [log_len], 0, 0x14
        mov dword [LAPIC_TPR], 0x30     ; (KVM on AMD keeps only TPR[7:4])
        EXPECT_EQ dword [LAPIC_PPR], 0x30, 0x15
        STI_WINDOW
        EXPECT_EQ dword [log_len], 2, 0x16   ; h45 logs entry and exit
        mov dword [LAPIC_TPR], 0
        PUTS "lapic: tpr holds back its class and below, ppr follows ok", 10

        ; -- two pending: the higher vector first
        mov dword [log_len], 0
        SELF 0x50
        SELF 0x70
        STI_WINDOW
        EXPECT_EQ dword [log_len], 2, 0x17
        EXPECT_EQ byte [log], 0x70, 0x18
        EXPECT_EQ byte [log + 1], 0x50, 0x19
        PUTS "lapic: vector 0x70 before 0x50 ok", 10

        ; -- nesting from the 0x45 handler (see h45)
        mov dword [log_len], 0
        mov dword [nest], 1
        SELF 0x45
        STI_WINDOW
        mov dword [nest], 0
        EXPECT_EQ dword [log_len], 4, 0x1a
        EXPECT_EQ byte [log], 0x45, 0x1b
        EXPECT_EQ byte [log + 1], 0x65, 0x1c
        EXPECT_EQ byte [log + 2], 0xc5, 0x1d   ; 0x45's exit
        EXPECT_EQ byte [log + 3], 0x35, 0x1e
        EXPECT_EQ dword [ppr_in_45], 0x40, 0x1f
        EXPECT_EQ dword [LAPIC_PPR], 0, 0x20
        PUTS "lapic: 0x65 nests in 0x45, 0x35 waits for its eoi, ppr 0x40 in it ok", 10

        ; -- software disable
        mov dword [LAPIC_LVTT], 0x50
        mov dword [LAPIC_SVR], SPURIOUS_VECTOR
        PRINT "lapic: lvt timer after software disable ", dword [LAPIC_LVTT]
        mov dword [LAPIC_LVTT], 0x50     ; the mask stays set while disabled
        PRINT "lapic: lvt timer written unmasked while disabled ", dword [LAPIC_LVTT]
        mov dword [log_len], 0
        SELF 0x50
        STI_WINDOW
        PRINT "lapic: fixed self-ipis taken while disabled ", dword [log_len]
        mov dword [nmi_count], 0
        mov dword [nmi_nest], 0
        mov dword [LAPIC_ICR_HI], 0
        mov eax, ICR_NMI                ; physical destination 0: ourselves
        call icr_send
        PRINT "lapic: nmis taken while disabled ", dword [nmi_count]
        call lapic_enable
        mov dword [LAPIC_LVTT], 0x50
        EXPECT_EQ dword [LAPIC_LVTT], 0x50, 0x21
        PUTS "lapic: re-enabled, lvt unmasks again ok", 10

        ; -- NMI blocking: an NMI sent from the NMI handler waits for IRET
        mov dword [nmi_count], 0
        mov dword [nmi_nest], 1
        mov dword [LAPIC_ICR_HI], 0
        mov eax, ICR_NMI
        call icr_send
        mov ecx, 1000
.nmi_spin:
        dec ecx
        jnz .nmi_spin
        EXPECT_EQ dword [nmi_count], 2, 0x22
        EXPECT_EQ dword [count_in_nmi], 1, 0x23
        PUTS "lapic: nmi raised in the nmi handler waits for iret ok", 10

        EXPECT_EQ dword [spurious_count], 0, 0x24
        PUTS "lapic: done", 10
        EXIT 0

h35:
        LOGV 0x35
        LAPIC_EOI_W
        iret

h45:                                    ; when [nest]: raise 0x65 and 0x35 inside
        LOGV 0x45
        cmp dword [nest], 0
        je .out
        push eax
        mov eax, [LAPIC_PPR]
        mov [ppr_in_45], eax
        SELF 0x35                       ; class 3 < 4: waits
        SELF 0x65                       ; class 6 > 4: nests once IF=1
        sti
        mov eax, 1000
.spin:
        dec eax
        jnz .spin
        cli
        pop eax
.out:
        LOGV 0xc5
        LAPIC_EOI_W
        iret

h50:
        LOGV 0x50
        LAPIC_EOI_W
        iret

h65:
        LOGV 0x65
        LAPIC_EOI_W
        iret

h70:
        LOGV 0x70
        LAPIC_EOI_W
        iret

nmi_handler:
        inc dword [nmi_count]
        cmp dword [nmi_nest], 0
        je .out
        mov dword [nmi_nest], 0
        push eax
        push ecx
        mov dword [LAPIC_ICR_HI], 0
        mov eax, ICR_NMI
        call icr_send
        mov ecx, 1000
.spin:
        dec ecx
        jnz .spin
        mov eax, [nmi_count]
        mov [count_in_nmi], eax
        pop ecx
        pop eax
.out:
        iret

        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
log_len:        dd 0
nest:           dd 0
ppr_in_45:      dd 0
nmi_count:      dd 0
nmi_nest:       dd 0
count_in_nmi:   dd 0
log:            times 32 db 0
image_end:
bss_end:
