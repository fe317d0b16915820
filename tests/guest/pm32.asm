; pm32 - 32-bit protected mode, paging off.
;
; Checks: our own GDT loads and every segment register reloads from it; RAM
; above 1 MiB holds distinct values at several addresses at once (no aliasing);
; a data segment with a nonzero base translates offsets by that base; a far
; call through a second code selector pushes CS:EIP and RETF comes back.

        bits 32
        org 0x100000
%include "lib.inc"

        MULTIBOOT_HEADER start, image_end, image_end

SEL_CODE32_ALT equ 0x30             ; a second flat 32-bit code segment
SEL_DATA_2M    equ 0x38             ; data segment with base 2 MiB

; Test addresses and patterns (all below 16 MiB, well inside 128 MiB of RAM).
TEST_ADDRS:
        dd 0x00200000, 0x00345678, 0x00800000, 0x00fffffc
TEST_COUNT equ 4

start:
        MULTIBOOT_ENTRY
        PUTS "pm32: start", 10

        ; --- GDT and segment reload -------------------------------------
        LOAD_GDT32
        mov ax, cs
        EXPECT_EQ ax, SEL_CODE32, 0x10
        mov ax, ss
        EXPECT_EQ ax, SEL_DATA32, 0x11
        mov ax, ds
        EXPECT_EQ ax, SEL_DATA32, 0x12
        sgdt [sgdt_buf]
        EXPECT_EQ word [sgdt_buf], gdt_end - gdt - 1, 0x13
        EXPECT_EQ dword [sgdt_buf + 2], gdt, 0x14
        smsw ax
        test al, 1                  ; CR0.PE set
        jnz .pe_ok
        EXIT 0x15
.pe_ok:
        PUTS "pm32: gdt loaded, segments reloaded", 10

        ; --- memory above 1 MiB ------------------------------------------
        ; Write a pattern derived from each address to all addresses first,
        ; then read them all back: a VMM mapping two of them to the same page
        ; would lose one of the values.
        xor ecx, ecx
.write:
        mov ebx, [TEST_ADDRS + ecx * 4]
        mov eax, ebx
        xor eax, 0xa5a5a5a5
        mov [ebx], eax
        inc ecx
        cmp ecx, TEST_COUNT
        jb .write
        xor ecx, ecx
.read:
        mov ebx, [TEST_ADDRS + ecx * 4]
        mov eax, ebx
        xor eax, 0xa5a5a5a5
        EXPECT_EQ [ebx], eax, 0x20
        inc ecx
        cmp ecx, TEST_COUNT
        jb .read
        ; byte and word accesses within a written dword
        mov dword [0x00400000], 0x11223344
        EXPECT_EQ byte [0x00400001], 0x33, 0x21
        mov word [0x00400002], 0xbeef
        EXPECT_EQ dword [0x00400000], 0xbeef3344, 0x22
        PUTS "pm32: memory above 1 MiB ok", 10

        ; --- segment base ------------------------------------------------
        mov dword [0x00200100], 0xcafef00d
        mov ax, SEL_DATA_2M
        mov es, ax
        EXPECT_EQ dword [es:0x100], 0xcafef00d, 0x30
        mov dword [es:0x104], 0x600dd00d      ; lands at 0x00200104
        EXPECT_EQ dword [0x00200104], 0x600dd00d, 0x31
        mov ax, SEL_DATA32
        mov es, ax
        PUTS "pm32: segment base ok", 10

        ; --- far call / far return ---------------------------------------
        mov ebx, esp
        call SEL_CODE32_ALT:far_target
after_call:
        EXPECT_EQ esp, ebx, 0x40            ; retf popped both words
        EXPECT_EQ eax, 0x12345678, 0x41     ; callee ran
        EXPECT_EQ ecx, SEL_CODE32_ALT, 0x42 ; CS inside the callee
        EXPECT_EQ edx, SEL_CODE32, 0x43     ; caller CS pushed on the stack
        EXPECT_EQ esi, after_call, 0x44     ; return EIP pushed on the stack
        mov ax, cs
        EXPECT_EQ ax, SEL_CODE32, 0x45      ; back on the original CS
        PUTS "pm32: far call ok", 10

        PUTS "pm32: done", 10
        EXIT 0

far_target:                         ; runs with CS = SEL_CODE32_ALT
        xor ecx, ecx
        mov cx, cs
        mov esi, [esp]              ; return EIP
        mov edx, [esp + 4]          ; return CS (dword slot)
        and edx, 0xffff
        mov eax, 0x12345678
        retf

        LIB32

        GDT_COMMON
        dq 0x00CF9A000000FFFF       ; 0x30 code32, same as 0x08
        dq 0x00CF92200000FFFF       ; 0x38 data32, base 0x00200000
        GDT_END

sgdt_buf: times 6 db 0
image_end:
