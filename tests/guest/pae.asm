; pae - PAE paging: 3 levels (PDPT, page directory, page table), 64-bit
; entries, 2 MiB and 4 KiB pages.
;
; PDPT[0] -> PD0: PD0[0..3] identity-map 0-8 MiB with 2 MiB pages;
;                 PD0[5] -> PT: PT[0x10] maps ALIAS4K onto PHYS_A (4 KiB page).
; PDPT[3] -> PD3: PD3[0] maps ALIAS2M (3 GiB) onto PHYS_2M (2 MiB page).
; Checks both aliases in both directions, offsets inside the 2 MiB page, and
; the accessed/dirty bits the CPU writes into the 64-bit entries.

        bits 32
        org 0x100000
%include "lib.inc"

PDPT      equ 0x00200000            ; 4 entries, 32-byte aligned
PD0       equ 0x00201000            ; virtual 0-1 GiB
PD3       equ 0x00202000            ; virtual 3-4 GiB
PT        equ 0x00203000            ; virtual 10-12 MiB (PD0[5])
ALIAS4K   equ 0x00A10000            ; PD0[5], PT[0x10]
PHYS_A    equ 0x00300000
ALIAS2M   equ 0xC0000000            ; PDPT[3], PD3[0]
PHYS_2M   equ 0x00600000

PTE_P     equ 0x01
PTE_RW    equ 0x02
PTE_A     equ 0x20
PTE_D     equ 0x40
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR4_PAE   equ 0x20

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "pae: start", 10

        mov edi, PDPT               ; clear all four tables
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        ; PDPTEs: only P (RW/US are reserved in PAE PDPTEs). High dwords 0.
        mov dword [PDPT + 0 * 8], PD0 | PTE_P
        mov dword [PDPT + 3 * 8], PD3 | PTE_P
        mov edi, PD0                ; identity 0-8 MiB, 2 MiB pages
        mov eax, PDE_PS | PTE_P | PTE_RW
        mov ecx, 4
.ident: mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .ident
        mov dword [PD0 + 5 * 8], PT | PTE_P | PTE_RW
        mov dword [PT + 0x10 * 8], PHYS_A | PTE_P | PTE_RW
        mov dword [PD3 + 0 * 8], PHYS_2M | PDE_PS | PTE_P | PTE_RW

        mov dword [PHYS_A], 0x11111111
        mov dword [PHYS_A + 0xff8], 0x22222222
        mov dword [PHYS_2M + 0x54320], 0x33333333
        mov dword [PHYS_2M + 0x1ffffc], 0x44444444

        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .paged
.paged:
        mov eax, cr4
        test eax, CR4_PAE
        jnz .pae_on
        EXIT 0x10
.pae_on:
        PUTS "pae: paging on, cr4.pae=1", 10

        EXPECT_EQ dword [ALIAS4K], 0x11111111, 0x11
        EXPECT_EQ dword [ALIAS4K + 0xff8], 0x22222222, 0x12
        mov dword [ALIAS4K + 0x20], 0x55555555
        EXPECT_EQ dword [PHYS_A + 0x20], 0x55555555, 0x13
        mov eax, [PT + 0x10 * 8]
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, PTE_A | PTE_D, 0x14
        PUTS "pae: 4 KiB alias ok", 10

        EXPECT_EQ dword [ALIAS2M + 0x54320], 0x33333333, 0x20
        EXPECT_EQ dword [ALIAS2M + 0x1ffffc], 0x44444444, 0x21
        mov dword [ALIAS2M + 0x100000], 0x66666666
        EXPECT_EQ dword [PHYS_2M + 0x100000], 0x66666666, 0x22
        mov eax, [PD3 + 0 * 8]
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, PTE_A | PTE_D, 0x23
        PUTS "pae: 2 MiB alias ok", 10

        PUTS "pae: done", 10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END
image_end:
