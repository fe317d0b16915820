; ioapic - the in-kernel IOAPIC, driven through pc-testdev's IRQ-line ports
; (0x2000 + n) with both PICs masked: version register, edge delivery (one
; interrupt per rising edge, none for a second "high" without a fall, LAPIC
; TMR clear), an edge raised while masked,
; level delivery (LAPIC TMR set, remote IRR set until EOI, re-delivery after
; EOI while the line stays high, remote IRR clear after the last EOI), a
; masked level delivered on unmask, logical and lowest-priority destinations,
; NMI delivery mode, a destination that matches nobody, GSI 0 reaching
; pin 2 (the interrupt source override), and a PIC interrupt left pending
; behind an injected NMI that nests as soon as the NMI handler sets IF.
;
; Needs kvm-run's in-kernel irqchip (guests.ini passes -smp 2; the AP stays
; in wait-for-SIPI with its APIC software-disabled and matches nothing).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_EDGE  equ 0x40
V_LEVEL equ 0x41
V_LOG   equ 0x42
V_PIN2  equ 0x44

; RTE pin, low, dest (clobbers eax, ecx, edx)
%macro RTE 3
        mov eax, %1
        mov edx, %2
        mov ecx, %3
        call ioapic_set_rte
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "ioapic: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        mov dword [LAPIC_LVT0], LVT_MASKED | LVT_EXTINT
        SET_GATE V_EDGE, edge_handler
        SET_GATE V_LEVEL, level_handler
        SET_GATE V_LOG, log_handler
        SET_GATE V_PIN2, pin2_handler
        SET_GATE 2, nmi_handler
        SET_GATE 0x23, pic3_handler

        mov eax, 1
        call ioapic_read
        EXPECT_EQ eax, 0x00170011, 0x10
        ; every pin comes up masked
        mov eax, 12
        call ioapic_get_rte
        test eax, RTE_MASKED
        jnz .masked_ok
        EXIT_FAIL 0x11
.masked_ok:
        mov eax, 0
        mov edx, 0x05000000
        call ioapic_write
        mov eax, 0
        call ioapic_read
        EXPECT_EQ eax, 0x05000000, 0x2b
        mov eax, 0
        xor edx, edx
        call ioapic_write
        PUTS "ioapic: version 0x11, 24 pins, pins masked at reset, id writable ok", 10

        ; -- edge, pin 12
        RTE 12, V_EDGE, 0
        mov eax, 12
        call ioapic_get_rte
        EXPECT_EQ eax, V_EDGE, 0x12
        SET_LINE 12, 1
        APIC_BIT LAPIC_IRR, V_EDGE
        jnz .irr_ok
        EXIT_FAIL 0x13
.irr_ok:
        APIC_BIT LAPIC_TMR, V_EDGE
        jz .tmr_ok
        EXIT_FAIL 0x14
.tmr_ok:
        STI_WINDOW
        EXPECT_EQ dword [count_edge], 1, 0x15
        SET_LINE 12, 1                  ; high again without a fall: no edge
        STI_WINDOW
        EXPECT_EQ dword [count_edge], 1, 0x16
        SET_LINE 12, 0
        SET_LINE 12, 1
        STI_WINDOW
        EXPECT_EQ dword [count_edge], 2, 0x17
        SET_LINE 12, 0
        PUTS "ioapic: edge pin 12, one interrupt per rising edge, tmr clear ok", 10

        ; -- edge raised while masked, then unmasked with the line high
        RTE 12, V_EDGE | RTE_MASKED, 0
        SET_LINE 12, 1
        STI_WINDOW
        EXPECT_EQ dword [count_edge], 2, 0x18
        RTE 12, V_EDGE, 0
        STI_WINDOW
        mov eax, [count_edge]
        sub eax, 2
        PUTS "ioapic: edge raised while masked, delivered on unmask: "
        PUTHEX eax
        PUTS 10
        SET_LINE 12, 0
        SET_LINE 12, 1                  ; a fresh edge after unmask is delivered
        STI_WINDOW
        SET_LINE 12, 0
        mov eax, [count_edge]
        sub eax, 2
        PUTS "ioapic: then a fresh edge, total: "
        PUTHEX eax
        PUTS 10

        ; -- level, pin 13
        RTE 13, V_LEVEL | RTE_LEVEL, 0
        SET_LINE 13, 1
        APIC_BIT LAPIC_IRR, V_LEVEL
        jnz .lirr_ok
        EXIT_FAIL 0x19
.lirr_ok:
        APIC_BIT LAPIC_TMR, V_LEVEL
        jnz .ltmr_ok
        EXIT_FAIL 0x1a
.ltmr_ok:
        mov eax, 13
        call ioapic_get_rte
        test eax, RTE_REMOTE_IRR
        jnz .rirr_ok
        EXIT_FAIL 0x1b
.rirr_ok:
        STI_WINDOW                      ; handler: 1st run keeps the line high
        EXPECT_EQ dword [count_level], 2, 0x1c
        EXPECT_EQ dword [level_rirr], RTE_REMOTE_IRR, 0x1d
        mov eax, 13
        call ioapic_get_rte
        EXPECT_EQ eax, V_LEVEL | RTE_LEVEL, 0x1e
        STI_WINDOW
        EXPECT_EQ dword [count_level], 2, 0x1f
        PUTS "ioapic: level pin 13, tmr and remote irr set, re-delivered after eoi while high, remote irr clear ok", 10

        ; -- level raised while masked: delivered on unmask
        RTE 13, V_LEVEL | RTE_LEVEL | RTE_MASKED, 0
        mov dword [count_level], 1      ; the handler lowers the line at once
        SET_LINE 13, 1
        STI_WINDOW
        EXPECT_EQ dword [count_level], 1, 0x20
        mov eax, 13
        call ioapic_get_rte
        EXPECT_EQ eax, V_LEVEL | RTE_LEVEL | RTE_MASKED, 0x21
        RTE 13, V_LEVEL | RTE_LEVEL, 0
        STI_WINDOW
        EXPECT_EQ dword [count_level], 2, 0x22
        mov eax, 13
        call ioapic_get_rte
        EXPECT_EQ eax, V_LEVEL | RTE_LEVEL, 0x23
        PUTS "ioapic: masked level delivered on unmask ok", 10

        ; -- a level pin switched to edge loses its remote IRR (Linux relies
        ; on it to clear a stuck one on IOAPICs without an EOI register)
        mov dword [count_level], 1      ; the handler lowers the line at once
        SET_LINE 13, 1                  ; IF=0: delivered to the LAPIC, not taken
        mov eax, 13
        call ioapic_get_rte
        and eax, RTE_REMOTE_IRR
        EXPECT_EQ eax, RTE_REMOTE_IRR, 0x2c
        RTE 13, V_LEVEL, 0
        mov eax, 13
        call ioapic_get_rte
        EXPECT_EQ eax, V_LEVEL, 0x2d
        RTE 13, V_LEVEL | RTE_LEVEL | RTE_MASKED, 0
        STI_WINDOW
        SET_LINE 13, 0
        EXPECT_EQ dword [count_level], 2, 0x2e
        PUTS "ioapic: switching a level pin to edge clears remote irr ok", 10

        ; -- logical destination (flat, LDR bit 0) and lowest priority
        mov dword [LAPIC_DFR], 0xffffffff
        mov dword [LAPIC_LDR], 0x01000000
        RTE 14, V_LOG | RTE_LOGICAL, 0x01
        SET_LINE 14, 1
        STI_WINDOW
        SET_LINE 14, 0
        EXPECT_EQ dword [count_log], 1, 0x24
        RTE 14, V_LOG | RTE_LOGICAL | RTE_LOWPRI, 0x01
        SET_LINE 14, 1
        STI_WINDOW
        SET_LINE 14, 0
        EXPECT_EQ dword [count_log], 2, 0x25
        RTE 14, V_LOG | RTE_LOGICAL, 0x02         ; nobody has LDR bit 1
        SET_LINE 14, 1
        STI_WINDOW
        SET_LINE 14, 0
        RTE 14, V_LOG, 5                           ; no APIC ID 5
        SET_LINE 14, 1
        STI_WINDOW
        SET_LINE 14, 0
        EXPECT_EQ dword [count_log], 2, 0x26
        PUTS "ioapic: logical and lowest-priority destinations, unmatched ones dropped ok", 10

        ; -- NMI delivery mode: taken with IF=0
        RTE 15, RTE_NMI, 0
        SET_LINE 15, 1
        SET_LINE 15, 0
        mov ecx, 1000
.nmi_wait:
        dec ecx
        jnz .nmi_wait
        EXPECT_EQ dword [count_nmi], 1, 0x27
        PUTS "ioapic: nmi delivery mode with if=0 ok", 10

        ; -- GSI 0 arrives at pin 2
        RTE 2, V_PIN2, 0
        SET_LINE 0, 1
        STI_WINDOW
        SET_LINE 0, 0
        EXPECT_EQ dword [count_pin2], 1, 0x28
        RTE 2, V_PIN2 | RTE_MASKED, 0
        PUTS "ioapic: gsi 0 reaches pin 2 ok", 10

        ; -- One edge on GSI 3 raises PIC IRQ 3 (LINT0 in ExtINT mode) and
        ; IOAPIC pin 3 in NMI mode at once, with IF=0: the NMI is injected
        ; first and the PIC interrupt stays pending.  The NMI handler sets
        ; IF and spins without exiting: the interrupt must nest in it then
        ; (the KVM asked for an interrupt window while injecting the NMI),
        ; not wait for the handler's IRET or some unrelated exit.
        mov dword [LAPIC_LVT0], LVT_EXTINT
        mov al, 0xf3                    ; IRQ 3 and the cascade unmasked
        out 0x21, al
        RTE 3, RTE_NMI, 0
        mov dword [count_nmi], 0
        mov dword [nmi_sti], 1
        SET_LINE 3, 1
        SET_LINE 3, 0
        mov ecx, 1000
.nmi_pic_wait:
        dec ecx
        jnz .nmi_pic_wait
        mov dword [nmi_sti], 0
        EXPECT_EQ dword [count_nmi], 1, 0x2c
        STI_WINDOW                      ; a late PIC interrupt comes in here
        EXPECT_EQ dword [count_pic3], 1, 0x2d
        EXPECT_EQ dword [pic3_in_nmi], 1, 0x2e
        RTE 3, RTE_MASKED, 0
        call pic_mask_all
        mov dword [LAPIC_LVT0], LVT_MASKED | LVT_EXTINT
        PUTS "ioapic: pic interrupt pending behind an injected nmi nests once the nmi handler sets if ok", 10

        APIC_BIT LAPIC_ISR, V_LEVEL
        jz .isr_clear
        EXIT_FAIL 0x29
.isr_clear:
        EXPECT_EQ dword [spurious_count], 0, 0x2a
        PUTS "ioapic: done", 10
        EXIT 0

edge_handler:
        inc dword [count_edge]
        LAPIC_EOI_W
        iret

level_handler:                          ; lowers the line on its 2nd run
        pushad
        mov eax, 13
        call ioapic_get_rte
        and eax, RTE_REMOTE_IRR
        mov [level_rirr], eax
        inc dword [count_level]
        cmp dword [count_level], 2
        jb .keep
        SET_LINE 13, 0
.keep:
        LAPIC_EOI_W
        popad
        iret

log_handler:
        inc dword [count_log]
        LAPIC_EOI_W
        iret

pin2_handler:
        inc dword [count_pin2]
        LAPIC_EOI_W
        iret

nmi_handler:
        inc dword [count_nmi]
        cmp dword [nmi_sti], 0
        je .out
        push eax
        push ecx
        sti
        mov ecx, 1000
.spin:
        dec ecx
        jnz .spin
        cli
        mov eax, [count_pic3]
        mov [pic3_in_nmi], eax
        pop ecx
        pop eax
.out:
        iret

pic3_handler:                           ; ExtINT: the EOI goes to the PIC
        push eax
        inc dword [count_pic3]
        mov al, 0x20
        out 0x20, al
        pop eax
        iret

        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
count_edge:     dd 0
count_level:    dd 0
level_rirr:     dd 0
count_log:      dd 0
count_pin2:     dd 0
count_nmi:      dd 0
nmi_sti:        dd 0
count_pic3:     dd 0
pic3_in_nmi:    dd 0
image_end:
bss_end:
