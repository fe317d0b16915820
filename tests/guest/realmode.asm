; realmode - leave protected mode the proper way and work in real mode.
;
; Multiboot enters in 32-bit protected mode. Real mode can only reach the
; first MiB, so the 16-bit part of this image (section .rm, assembled for
; address RM_BASE) is copied down to RM_BASE first. The way back (Intel SDM
; vol. 3, 9.9.2 "Switching Back to Real-Address Mode"):
;   1. far jump to a 16-bit code segment (limit 64 KiB),
;   2. load the data segment registers with 16-bit, 64 KiB selectors,
;   3. load a real-mode IDT (base 0, limit 0x3ff),
;   4. clear CR0.PE, then far jump to a real-mode CS:IP,
;   5. load real-mode values into the segment registers.
; Checks in real mode: CS/CR0/IDTR, two seg:off pairs naming the same byte,
; the 16-bit addressing forms (BP defaults to SS, 64 KiB offset wraparound),
; a far call through a nonzero CS, and a software interrupt through the IVT.

        bits 32
        org 0x100000
%include "lib.inc"

RM_BASE  equ 0x8000                 ; where the 16-bit code runs
RM_STACK equ 0x7000
DATA_SEG equ 0x2000                 ; linear 0x20000: addressing-form tests

        ; The whole file is loaded (load_end_addr 0): section .rm follows .text.
        MULTIBOOT_HEADER start, 0, 0

start:
        MULTIBOOT_ENTRY
        PUTS "realmode: start in 32-bit protected mode", 10
        LOAD_GDT32

        ; Copy the 16-bit code to low memory.
        mov esi, section..rm.start
        mov edi, RM_BASE
        mov ecx, rm_end - rm_start
        rep movsb

        jmp SEL_CODE16:pm16_entry   ; step 1: 16-bit protected mode

        LIB32
        GDT_COMMON
        GDT_END

; ===========================================================================
        section .rm vstart=RM_BASE follows=.text
        bits 16
rm_start:

pm16_entry:
        mov ax, SEL_DATA16          ; step 2: 64 KiB data segments
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, RM_STACK
        lidt [rm_idt_ptr]           ; step 3: the real-mode IVT at 0
        mov eax, cr0                ; step 4: PE off (paging is already off)
        and eax, ~1
        mov cr0, eax
        jmp 0:rm_entry

rm_entry:
        xor ax, ax                  ; step 5: real-mode segments
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov sp, RM_STACK
        PUTS "realmode: now in real mode", 10

        ; --- where are we ------------------------------------------------
        mov ax, cs
        EXPECT_EQ ax, 0, 0x10
        smsw ax
        test al, 1
        jz .pe_clear
        EXIT 0x11
.pe_clear:
        sidt [idt_buf]
        EXPECT_EQ word [idt_buf], 0x3ff, 0x12
        EXPECT_EQ word [idt_buf + 2], 0, 0x13
        EXPECT_EQ byte [idt_buf + 4], 0, 0x14
        call .here                  ; IP check: the pushed return address
.here:  pop ax
        EXPECT_EQ ax, .here, 0x15
        PUTS "realmode: cs=0 pe=0 idt=0:3ff ok", 10

        ; --- segment arithmetic: linear = seg * 16 + off -------------------
        ; 1234:0010, 1235:0000 and 1000:2350 all name linear 0x12350.
        mov ax, 0x1234
        mov es, ax
        mov word [es:0x0010], 0x5a3c
        mov ax, 0x1235
        mov fs, ax
        mov bx, [fs:0x0000]
        mov ax, 0x1000
        mov gs, ax
        mov cx, [gs:0x2350]
        mov word [gs:0x2352], 0x7e81        ; write through a third alias
        mov dx, [es:0x0012]
        xor ax, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        EXPECT_EQ bx, 0x5a3c, 0x20
        EXPECT_EQ cx, 0x5a3c, 0x21
        EXPECT_EQ dx, 0x7e81, 0x22
        PUTS "realmode: segment aliasing ok", 10

        ; --- 16-bit addressing forms ---------------------------------------
        ; DATA_SEG:0100 holds words 0x1000, 0x1001, ... (word i at 0x100 + 2i).
        mov ax, DATA_SEG
        mov es, ax
        mov di, 0x100
        mov ax, 0x1000
        mov cx, 16
.fill:  stosw                               ; es:di
        inc ax
        loop .fill
        mov word [es:0x0000], 0x0bad        ; what [0x0000] would give
        mov ax, 0x3010                      ; linear 0x30100: where an
        mov es, ax                          ; unwrapped bx+si would land
        mov word [es:0x0000], 0x0bad

        mov ax, DATA_SEG
        mov ds, ax
        mov bx, 0x100
        mov si, 0x4
        mov di, 0x2
        mov ax, [bx+si]                     ; 0x104 -> 0x1002
        mov cx, [bx+di+6]                   ; 0x108 -> 0x1004
        mov dx, [0x10a]                     ; 0x10a -> 0x1005
        push ax
        mov bx, 0xffff                      ; 0xffff + 0x0101 wraps to 0x0100
        mov si, 0x0101
        mov ax, [bx+si]                     ; -> 0x1000
        mov bx, 0x110
        mov di, [bx-2]                      ; negative disp8: 0x10e -> 0x1007
        mov si, ax
        pop ax
        xor bx, bx
        mov ds, bx
        EXPECT_EQ ax, 0x1002, 0x30
        EXPECT_EQ cx, 0x1004, 0x31
        EXPECT_EQ dx, 0x1005, 0x32
        EXPECT_EQ si, 0x1000, 0x33
        EXPECT_EQ di, 0x1007, 0x34

        ; [bp+...] uses SS, not DS: point SS at DATA_SEG (interrupts are off
        ; and nothing uses the stack in between), DS stays 0.
        mov ax, DATA_SEG
        mov ss, ax
        mov bp, 0x100
        mov si, 0xc
        mov ax, [bp+si]                     ; SS:010c -> 0x1006
        mov cx, [bp+0x1c]                   ; SS:011c -> 0x100e
        mov dx, [ds:bp+0x1c]                ; override: DS:011c (not 0x100e)
        xor bx, bx
        mov ss, bx
        mov sp, RM_STACK
        EXPECT_EQ ax, 0x1006, 0x35
        EXPECT_EQ cx, 0x100e, 0x36
        cmp dx, 0x100e
        jne .override_ok
        EXIT 0x37
.override_ok:
        PUTS "realmode: 16-bit addressing forms ok", 10

        ; --- far call through CS=0x0700 ------------------------------------
        ; rm_far lives at linear rm_far; with CS=0x700 its IP is rm_far-0x7000.
        call 0x0700:(rm_far - 0x7000)
.after_far:
        EXPECT_EQ ax, 0x0700, 0x40          ; CS seen by the callee
        EXPECT_EQ bx, .after_far, 0x41      ; return IP it found on the stack
        EXPECT_EQ cx, 0, 0x42               ; return CS it found on the stack
        EXPECT_EQ sp, RM_STACK, 0x43
        PUTS "realmode: far call ok", 10

        ; --- software interrupt through the IVT ----------------------------
        mov word [0x42 * 4], rm_int42       ; IVT entry: offset, then segment
        mov word [0x42 * 4 + 2], 0
        xor cx, cx
        int 0x42
.after_int:
        EXPECT_EQ cx, 0x4242, 0x50          ; the handler ran
        EXPECT_EQ bx, .after_int, 0x51      ; pushed IP
        EXPECT_EQ dx, 0, 0x52               ; pushed CS
        EXPECT_EQ sp, RM_STACK, 0x53        ; IRET popped IP, CS, FLAGS
        PUTS "realmode: int 0x42 via IVT ok", 10

        PUTS "realmode: done", 10
        EXIT 0

rm_far:                                     ; called as 0700:xxxx
        mov ax, cs
        mov bp, sp
        mov bx, [bp]                        ; return IP
        mov cx, [bp+2]                      ; return CS
        retf

rm_int42:
        mov bp, sp
        mov bx, [bp]                        ; IP
        mov dx, [bp+2]                      ; CS
        mov cx, 0x4242
        iret

        LIB16

rm_idt_ptr:
        dw 0x3ff
        dd 0
idt_buf: times 6 db 0xff
rm_end:
