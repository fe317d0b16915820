; pic - the two cascaded 8259As of the in-kernel irqchip, driven through
; pc-testdev's IRQ-line ports (0x2000 + n) with the local APIC in virtual-wire
; mode (LINT0 ExtINT): edge delivery and vectors on master and slave, IRR and
; ISR reads (OCW3), masking (a masked edge stays in IRR and is delivered on
; unmask), fixed priority between two pending IRQs, specific EOI, ELCR
; level-triggered inputs (re-delivery after EOI while the line stays high,
; nothing once it fell while masked), auto-EOI mode.
;
; Needs kvm-run's in-kernel irqchip (guests.ini passes -smp 2; the AP stays
; in wait-for-SIPI).

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

%macro PIC_READ_IRR 1                   ; %1 = 0x20 or 0xa0 -> AL
        mov al, 0x0a
        out %1, al
        in al, %1
%endmacro
%macro PIC_READ_ISR 1
        mov al, 0x0b
        out %1, al
        in al, %1
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "pic: start", 10
        call idt_init
        call lapic_enable
        mov dword [LAPIC_LVT0], LVT_EXTINT
        call pic_init
        SET_GATE 0x23, irq3_handler
        SET_GATE 0x25, irq5_handler
        SET_GATE 0x2a, irq10_handler
        SET_GATE 0x2b, irq11_handler

        ; -- IMR reads back
        in al, 0x21
        EXPECT_EQ al, 0xfb, 0x10
        in al, 0xa1
        EXPECT_EQ al, 0xff, 0x11

        ; -- edge IRQ 3 on the master
        mov al, 0xf3                    ; unmask IRQ 3 (and the cascade)
        out 0x21, al
        SET_LINE 3, 1
        PIC_READ_IRR 0x20
        test al, 0x08
        jnz .irr3_ok
        EXIT_FAIL 0x12
.irr3_ok:
        STI_WINDOW
        EXPECT_EQ dword [count3], 1, 0x13
        EXPECT_EQ byte [isr_in_handler], 0x08, 0x14
        PIC_READ_ISR 0x20
        EXPECT_EQ al, 0, 0x15
        ; high again without a fall: no second edge, no second interrupt
        SET_LINE 3, 1
        STI_WINDOW
        EXPECT_EQ dword [count3], 1, 0x16
        SET_LINE 3, 0
        SET_LINE 3, 1
        STI_WINDOW
        EXPECT_EQ dword [count3], 2, 0x17
        SET_LINE 3, 0
        PUTS "pic: edge irq 3 -> vector 0x23, irr/isr reads, eoi ok", 10

        ; -- masked edge: latched in IRR, delivered on unmask
        mov al, 0xfb
        out 0x21, al
        SET_LINE 3, 1
        STI_WINDOW
        EXPECT_EQ dword [count3], 2, 0x18
        PIC_READ_IRR 0x20
        and al, 0x08
        EXPECT_EQ al, 0x08, 0x19
        mov al, 0xf3
        out 0x21, al
        STI_WINDOW
        EXPECT_EQ dword [count3], 3, 0x1a
        SET_LINE 3, 0
        PUTS "pic: masked edge held in irr, delivered on unmask ok", 10

        ; -- slave IRQ 10 through the cascade
        mov al, 0xfb
        out 0xa1, al                    ; unmask slave input 2 = IRQ 10
        SET_LINE 10, 1
        STI_WINDOW
        EXPECT_EQ dword [count10], 1, 0x1b
        SET_LINE 10, 0
        PIC_READ_ISR 0xa0
        EXPECT_EQ al, 0, 0x1c
        PIC_READ_ISR 0x20
        EXPECT_EQ al, 0, 0x1d
        PUTS "pic: slave irq 10 -> vector 0x2a via the cascade ok", 10

        ; -- two pending: IRQ 3 goes first, IRQ 5 (specific EOI) after it
        mov al, 0xd3                    ; unmask 3 and 5
        out 0x21, al
        mov dword [order_len], 0
        SET_LINE 5, 1
        SET_LINE 3, 1
        PIC_READ_IRR 0x20
        and al, 0x28
        EXPECT_EQ al, 0x28, 0x1e
        STI_WINDOW
        EXPECT_EQ dword [order_len], 2, 0x1f
        EXPECT_EQ byte [order], 3, 0x20
        EXPECT_EQ byte [order + 1], 5, 0x21
        SET_LINE 3, 0
        SET_LINE 5, 0
        PIC_READ_ISR 0x20
        EXPECT_EQ al, 0, 0x22
        PUTS "pic: irq 3 before irq 5, specific eoi ok", 10

        ; -- ELCR: IRQ 11 level-triggered
        mov al, 0x08
        mov dx, 0x4d1
        out dx, al
        in al, dx
        EXPECT_EQ al, 0x08, 0x23
        mov al, 0xf3                    ; unmask slave 2 (IRQ 10) and 3 (IRQ 11)
        out 0xa1, al
        SET_LINE 11, 1                  ; the handler lowers it on its 2nd run
        STI_WINDOW
        EXPECT_EQ dword [count11], 2, 0x24
        STI_WINDOW
        EXPECT_EQ dword [count11], 2, 0x25
        PUTS "pic: elcr level irq 11 re-delivered after eoi while high ok", 10

        ; a level that rose and fell while masked leaves nothing behind
        mov al, 0xfb
        out 0xa1, al
        mov dword [count11], 1          ; the handler lowers the line at once
        SET_LINE 11, 1
        STI_WINDOW
        SET_LINE 11, 0
        mov al, 0xf3
        out 0xa1, al
        STI_WINDOW
        EXPECT_EQ dword [count11], 1, 0x26
        ; and one still high when unmasked is delivered
        mov al, 0xfb
        out 0xa1, al
        SET_LINE 11, 1
        STI_WINDOW
        EXPECT_EQ dword [count11], 1, 0x27
        mov al, 0xf3
        out 0xa1, al
        STI_WINDOW
        EXPECT_EQ dword [count11], 2, 0x28
        PUTS "pic: masked level dropped when it falls, delivered when still high ok", 10

        ; -- auto-EOI (ICW4 bit 1): no ISR bit, no EOI needed
        mov al, 0x11
        out 0x20, al
        mov al, 0x20
        out 0x21, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x03                    ; 8086 mode, auto-EOI
        out 0x21, al
        mov al, 0xf3                    ; IRQ 3 (and the cascade)
        out 0x21, al
        mov dword [aeoi], 1
        mov dword [count3], 0
        SET_LINE 3, 1
        STI_WINDOW
        SET_LINE 3, 0
        SET_LINE 3, 1
        STI_WINDOW
        SET_LINE 3, 0
        EXPECT_EQ dword [count3], 2, 0x2a
        EXPECT_EQ byte [isr_in_handler], 0, 0x2b
        PUTS "pic: auto-eoi leaves isr clear, next edge delivered without an eoi ok", 10

        EXPECT_EQ dword [spurious_count], 0, 0x29
        PUTS "pic: done", 10
        EXIT 0

irq3_handler:
        pushad
        PIC_READ_ISR 0x20
        mov [isr_in_handler], al
        inc dword [count3]
        mov eax, [order_len]
        and eax, 15
        mov byte [order + eax], 3
        inc dword [order_len]
        cmp dword [aeoi], 0
        jne .no_eoi
        mov al, 0x20                    ; non-specific EOI
        out 0x20, al
.no_eoi:
        popad
        iret

irq5_handler:
        pushad
        mov eax, [order_len]
        mov byte [order + eax], 5
        inc dword [order_len]
        mov al, 0x65                    ; specific EOI, level 5
        out 0x20, al
        popad
        iret

irq10_handler:
        pushad
        inc dword [count10]
        mov al, 0x20
        out 0xa0, al
        out 0x20, al
        popad
        iret

irq11_handler:                          ; level: lower the line on the 2nd run
        pushad
        inc dword [count11]
        cmp dword [count11], 2
        jb .keep
        SET_LINE 11, 0
.keep:
        mov al, 0x20
        out 0xa0, al
        out 0x20, al
        popad
        iret

        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
count3:         dd 0
count10:        dd 0
count11:        dd 0
order_len:      dd 0
order:          times 16 db 0
aeoi:           dd 0
isr_in_handler: db 0
image_end:
bss_end:
