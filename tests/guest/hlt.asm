; hlt - HLT with interrupts disabled.
;
; Nothing can ever wake a CPU halted with IF=0 while kvm-run has no interrupt
; sources, so kvm-run reports it and exits with status 0 (the expected status:
; exit = 0 in guests.ini). A VMM that resumed the guest anyway would run into
; the EXIT below and finish with status (0x7f << 1) | 1 = 255 instead.
; QEMU waits forever here, so this payload is kvm-run only.

        bits 32
        org 0x100000
%include "lib.inc"

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "hlt: halting with interrupts off", 10
        cli
        hlt
        PUTS "hlt: FAIL resumed after hlt", 10
        EXIT 0x7f

        LIB32
        GDT_COMMON
        GDT_END
image_end:
