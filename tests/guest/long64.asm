; long64 - enter 64-bit long mode with 4-level paging.
;
; Steps (Intel SDM vol. 3, 10.8.5 "Initializing IA-32e Mode"): build the page
; tables, set CR4.PAE, load CR3 with the PML4, set EFER.LME (MSR 0xC0000080,
; bit 8), set CR0.PG, then far jump to a code segment with L=1.
; Tables: PML4[0] -> PDPT_LO -> PD_LO: identity-map 0-16 MiB with 2 MiB pages.
;         PML4[256] -> PDPT_HI -> PD_HI -> PT_HI: 4 KiB pages mapping the high
;         virtual address HIGH_VA (0xffff800000000000) onto PHYS_A.
; Checks in 64-bit mode: EFER.LMA, 64-bit arithmetic (carries across bit 31,
; 64x64->128 multiply, shifts), RIP-relative addressing, the high alias in
; both directions, and printing from 64-bit code.

        bits 32
        org 0x100000
%include "lib.inc"

PML4      equ 0x00200000
PDPT_LO   equ 0x00201000
PD_LO     equ 0x00202000
PDPT_HI   equ 0x00203000
PD_HI     equ 0x00204000
PT_HI     equ 0x00205000
PHYS_A    equ 0x00300000
HIGH_VA   equ 0xffff800000000000    ; PML4 index 256, everything else 0

PTE_P     equ 0x01
PTE_RW    equ 0x02
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR4_PAE   equ 0x20
MSR_EFER  equ 0xC0000080
EFER_LME  equ 0x100
EFER_LMA  equ 0x400

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "long64: start in 32-bit protected mode", 10

        mov edi, PML4               ; clear the six tables
        mov ecx, 6 * 1024
        xor eax, eax
        rep stosd
        mov dword [PML4 + 0 * 8], PDPT_LO | PTE_P | PTE_RW
        mov dword [PML4 + 256 * 8], PDPT_HI | PTE_P | PTE_RW
        mov dword [PDPT_LO], PD_LO | PTE_P | PTE_RW
        mov edi, PD_LO              ; 8 x 2 MiB = 0-16 MiB
        mov eax, PDE_PS | PTE_P | PTE_RW
        mov ecx, 8
.ident: mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .ident
        mov dword [PDPT_HI], PD_HI | PTE_P | PTE_RW
        mov dword [PD_HI], PT_HI | PTE_P | PTE_RW
        mov dword [PT_HI], PHYS_A | PTE_P | PTE_RW
        mov dword [PHYS_A], 0x89abcdef     ; a 64-bit value to read through
        mov dword [PHYS_A + 4], 0x01234567 ;   the alias

        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME
        wrmsr
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax                ; now in compatibility mode (CS.L = 0)
        jmp SEL_CODE64:long_entry

        LIB32

; ===========================================================================
        bits 64
        default rel
long_entry:
        mov ax, SEL_DATA32          ; data segments: only the selector matters
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, STACK_TOP
        PUTS "long64: in 64-bit mode", 10

        mov ecx, MSR_EFER
        rdmsr
        test eax, EFER_LMA
        jnz .lma
        EXIT 0x10
.lma:
        mov ax, cs
        EXPECT_EQ ax, SEL_CODE64, 0x11

        ; --- 64-bit arithmetic ----------------------------------------------
        mov rax, 0x00000000ffffffff
        add rax, 1                  ; carry into bit 32
        mov rbx, 0x0000000100000000
        EXPECT_EQ rax, rbx, 0x20
        mov rax, 0x123456789abcdef0
        mov rcx, 0x10
        mul rcx                     ; rdx:rax = 0x1_23456789abcdef00
        mov rbx, 0x23456789abcdef00
        EXPECT_EQ rax, rbx, 0x21
        EXPECT_EQ rdx, 1, 0x22
        mov rax, 0x8000000000000000
        sar rax, 63                 ; sign fills all 64 bits
        EXPECT_EQ rax, -1, 0x23
        mov rax, -5
        mov rcx, 3
        cqo
        idiv rcx                    ; -5 / 3 = -1 rem -2
        EXPECT_EQ rax, -1, 0x24
        EXPECT_EQ rdx, -2, 0x25
        mov r15, 0xfedcba9876543210 ; the new registers work too
        mov r8, r15
        bswap r8
        mov rbx, 0x1032547698badcfe
        EXPECT_EQ r8, rbx, 0x26
        mov eax, 0xffffffff
        mov rbx, -1
        mov ebx, eax                ; 32-bit writes zero the upper half
        mov rcx, 0x00000000ffffffff
        EXPECT_EQ rbx, rcx, 0x27
        PUTS "long64: 64-bit arithmetic ok", 10

        ; --- RIP-relative addressing ----------------------------------------
        lea rax, [rel data64]       ; computed from RIP
        mov rbx, data64             ; absolute, from the assembler
        EXPECT_EQ rax, rbx, 0x30
        mov rax, [rel data64]
        mov rbx, 0x0123456789abcdef
        EXPECT_EQ rax, rbx, 0x31
        mov qword [rel data64], 0x5a5a
        EXPECT_EQ qword [abs data64], 0x5a5a, 0x32
        PUTS "long64: rip-relative ok", 10

        ; --- high virtual alias --------------------------------------------
        mov rsi, HIGH_VA
        mov rax, [rsi]
        mov rbx, 0x0123456789abcdef
        EXPECT_EQ rax, rbx, 0x40
        mov rax, 0xfeedfacecafebeef
        mov [rsi + 0x18], rax
        EXPECT_EQ rax, [abs PHYS_A + 0x18], 0x41
        PUTS "long64: alias 0xffff800000000000 -> 0x300000 ok", 10

        PUTS "long64: done", 10
        EXIT 0

        LIB64

        align 8
data64: dq 0x0123456789abcdef

        GDT_COMMON
        GDT_END
image_end:
