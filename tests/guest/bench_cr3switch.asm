; bench_cr3switch - the cost of an address-space switch under the guest's
; own paging: what a process context switch costs the hypervisor.
;
; Not a test: prints "bench <row> <cycles per op, hex>" for make bench.
; Two address spaces (32-bit paging) share a "kernel" page table (identity
; 0-4 MiB) and each has 64 private pages at 4 MiB. One op: load CR3 of
; space A, write a word in each of its 64 pages, the same for space B.
; Under shadow paging with the cache, each CR3 load finds the shadow it had
; before; without it (shadow_cache=0) every load rebuilds, page by page.
; Listed in bench.ini, not guests.ini.

        bits 32
        org 0x100000
%include "lib.inc"

ITER    equ 500
NPAGES  equ 64
PD_A    equ 0x00200000
PD_B    equ 0x00201000
PT_K    equ 0x00202000              ; shared: identity 0-4 MiB
PT_A    equ 0x00203000
PT_B    equ 0x00204000
FRAMES  equ 0x00400000              ; A's frames, then B's
USER_VA equ 0x00400000
P       equ 1
RW      equ 2

%macro TOUCH 1                      ; %1 = PD
        mov eax, %1
        mov cr3, eax
        mov edx, USER_VA
        mov ebx, NPAGES
%%t:    mov [edx], ecx
        add edx, 0x1000
        dec ebx
        jnz %%t
%endmacro

%macro SWITCH_OP 0
        TOUCH PD_A
        TOUCH PD_B
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        mov edi, PD_A
        mov ecx, 5 * 1024
        xor eax, eax
        rep stosd
        mov edi, PT_K
        mov eax, P | RW
        mov ecx, 1024
.k:     stosd
        add eax, 0x1000
        loop .k
        mov edi, PT_A
        mov eax, FRAMES | P | RW
        mov ecx, NPAGES
.a:     stosd
        add eax, 0x1000
        loop .a
        mov edi, PT_B
        mov ecx, NPAGES
.b:     stosd
        add eax, 0x1000
        loop .b
        mov dword [PD_A], PT_K | P | RW
        mov dword [PD_A + 4], PT_A | P | RW
        mov dword [PD_B], PT_K | P | RW
        mov dword [PD_B + 4], PT_B | P | RW
        mov eax, PD_A
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax

        mov ecx, 20
.warm:  SWITCH_OP
        dec ecx
        jnz .warm
        rdtsc
        mov esi, eax
        mov edi, edx
        mov ecx, ITER
.loop:  SWITCH_OP
        dec ecx
        jnz .loop
        rdtsc
        sub eax, esi
        sbb edx, edi
        mov ecx, ITER
        div ecx
        PUTS "bench cr3switch "
        PUTHEX eax
        PUTS 10
        ; each space kept its own pages
        mov eax, PD_A
        mov cr3, eax
        EXPECT_EQ dword [USER_VA], 1, 0x10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END
image_end:
