; triple - a triple fault.
;
; With an empty IDT (limit 0) no exception can be delivered: the #UD from UD2
; cannot be delivered (#GP), neither can that (#DF), and failing to deliver a
; double fault shuts the CPU down: a triple fault. kvm-run exits with status 2
; (exit = 2 in guests.ini). QEMU with -no-reboot simply exits with status 0
; after the shutdown, so this payload is listed as kvm-run only.

        bits 32
        org 0x100000
%include "lib.inc"

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "triple: raising UD with an empty IDT", 10
        lidt [empty_idt]
        ud2
        ; Never reached: had the exception been delivered somewhere and
        ; returned, the test says so and fails.
        PUTS "triple: FAIL survived ud2", 10
        EXIT 0x7f

        LIB32
        GDT_COMMON
        GDT_END
        align 4
        dw 0
empty_idt:
        dw 0                        ; limit 0: no vector fits
        dd 0                        ; base
image_end:
