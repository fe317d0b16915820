; flat16 - a flat (non-multiboot) image for kvm-run's flat loader.
;
; kvm-run places an image with no multiboot header at guest-physical 0x7C00
; and starts it in real mode like a BIOS starts a boot sector: CS:IP =
; 0000:7C00, DL = 0x80 (first hard disk), SP = 0x7C00, DS = ES = SS = 0.
; This checks exactly that state. The image is also a valid 512-byte boot
; sector (0x55 0xAA at the end), but under a real BIOS SP differs, so it is
; not listed as a QEMU payload.

        bits 16
        org 0x7c00
%include "lib.inc"

entry:
        call .next                  ; first instruction: pushes entry + 3
.next:  pop bx                      ; (SP is back to its entry value)
        mov [cs:saved_sp], sp       ; through CS: DS may be wrong
        mov [cs:saved_dx], dx
        mov [cs:saved_cs], cs
        mov [cs:saved_ds], ds
        mov [cs:saved_es], es
        mov [cs:saved_ss], ss

        ; Known segments for the rest (and for printing), whatever we got.
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00

        PUTS "flat16: start", 10
        sub bx, 3                   ; the call is 3 bytes long
        EXPECT_EQ bx, 0x7c00, 0x10  ; IP at entry
        EXPECT_EQ word [saved_cs], 0, 0x11
        EXPECT_EQ word [saved_ds], 0, 0x12
        EXPECT_EQ word [saved_es], 0, 0x13
        EXPECT_EQ word [saved_ss], 0, 0x14
        EXPECT_EQ word [saved_sp], 0x7c00, 0x15
        EXPECT_EQ byte [saved_dx], 0x80, 0x16
        PUTS "flat16: cs:ip=0000:7c00 dl=80 sp=7c00 ok", 10
        ; The whole image was loaded: the signature at its end is there.
        EXPECT_EQ word [0x7c00 + 510], 0xaa55, 0x17
        PUTS "flat16: done", 10
        EXIT 0

        LIB16

saved_sp: dw 0
saved_dx: dw 0
saved_cs: dw 0
saved_ds: dw 0
saved_es: dw 0
saved_ss: dw 0

        times 510 - ($ - $$) db 0
        dw 0xaa55
