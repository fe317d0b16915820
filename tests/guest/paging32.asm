; paging32 - 32-bit two-level paging: 4 KiB pages, then 4 MiB pages (CR4.PSE).
;
; Part 1, 4 KiB pages: identity-map 0-8 MiB and map the virtual page ALIAS4K
; onto the physical page PHYS_A. Checks: the alias reads what was written
; physically and the other way round; the CPU sets the accessed bit in the
; PDE/PTE it used and the dirty bit only in a PTE written through; a PTE
; nothing touched stays clean; rewriting a PTE + INVLPG moves the alias.
; Part 2, 4 MiB pages: a second page directory of PS=1 entries identity-maps
; 0-8 MiB and maps virtual ALIAS4M onto physical 4 MiB; checks offsets inside
; the large page and its dirty bit.

        bits 32
        org 0x100000
%include "lib.inc"

PD        equ 0x00200000            ; 4 KiB page directory
PT0       equ 0x00201000            ; identity 0-4 MiB
PT1       equ 0x00202000            ; identity 4-8 MiB
PT_ALIAS  equ 0x00203000            ; virtual 12-16 MiB (PDE 3)
PD_PSE    equ 0x00204000            ; 4 MiB page directory
ALIAS4K   equ 0x00C05000            ; -> PHYS_A (PTE 5 of PT_ALIAS)
CLEAN4K   equ 0x00C06000            ; -> PHYS_C, never touched (PTE 6)
READ4K    equ 0x00C07000            ; -> PHYS_C, only read (PTE 7)
PHYS_A    equ 0x00300000
PHYS_B    equ 0x00301000
PHYS_C    equ 0x00302000
ALIAS4M   equ 0x40000000            ; -> physical 0x00400000 (PDE 0x100)

PTE_P     equ 0x01
PTE_RW    equ 0x02
PTE_A     equ 0x20
PTE_D     equ 0x40
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR4_PSE   equ 0x10

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "paging32: start", 10

        ; --- build the 4 KiB tables (paging still off) --------------------
        mov edi, PD                 ; clear PD, PT0, PT1, PT_ALIAS, PD_PSE
        mov ecx, 5 * 1024
        xor eax, eax
        rep stosd
        mov dword [PD + 0 * 4], PT0 | PTE_P | PTE_RW
        mov dword [PD + 1 * 4], PT1 | PTE_P | PTE_RW
        mov dword [PD + 3 * 4], PT_ALIAS | PTE_P | PTE_RW
        mov edi, PT0                ; PT0 and PT1 are contiguous: 2048 PTEs
        mov eax, PTE_P | PTE_RW     ; for physical 0, 4 KiB, 8 KiB, ...
        mov ecx, 2048
.ident: stosd
        add eax, 0x1000
        loop .ident
        mov dword [PT_ALIAS + 5 * 4], PHYS_A | PTE_P | PTE_RW
        mov dword [PT_ALIAS + 6 * 4], PHYS_C | PTE_P | PTE_RW
        mov dword [PT_ALIAS + 7 * 4], PHYS_C | PTE_P | PTE_RW

        ; Physical contents the aliases should show.
        mov dword [PHYS_A], 0x11111111
        mov dword [PHYS_A + 0xffc], 0x22222222
        mov dword [PHYS_B], 0x44444444
        mov dword [PHYS_C], 0x55555555

        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .paged                  ; (identity-mapped: execution continues)
.paged:
        mov eax, cr0
        test eax, CR0_PG
        jnz .pg_on
        EXIT 0x10
.pg_on:
        PUTS "paging32: paging on, 4 KiB pages", 10

        ; --- alias checks ------------------------------------------------
        EXPECT_EQ dword [ALIAS4K], 0x11111111, 0x11
        EXPECT_EQ dword [ALIAS4K + 0xffc], 0x22222222, 0x12
        mov dword [ALIAS4K + 0x10], 0x33333333
        EXPECT_EQ dword [PHYS_A + 0x10], 0x33333333, 0x13
        mov eax, [READ4K]
        EXPECT_EQ eax, 0x55555555, 0x14
        PUTS "paging32: 4 KiB alias ok", 10

        ; --- accessed / dirty bits (the tables are identity-mapped) --------
        mov eax, [PD + 3 * 4]
        test eax, PTE_A
        jnz .pde_a
        EXIT 0x20
.pde_a:
        mov eax, [PT_ALIAS + 5 * 4] ; read and written
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, PTE_A | PTE_D, 0x21
        mov eax, [PT_ALIAS + 7 * 4] ; only read
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, PTE_A, 0x22
        mov eax, [PT_ALIAS + 6 * 4] ; never used
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, 0, 0x23
        PUTS "paging32: accessed/dirty bits ok", 10

        ; --- change a PTE, flush it, and see the new mapping ---------------
        mov dword [PT_ALIAS + 5 * 4], PHYS_B | PTE_P | PTE_RW
        invlpg [ALIAS4K]
        EXPECT_EQ dword [ALIAS4K], 0x44444444, 0x24
        PUTS "paging32: pte update + invlpg ok", 10

        ; --- 4 MiB pages ----------------------------------------------------
        mov dword [PD_PSE + 0 * 4], 0x00000000 | PDE_PS | PTE_P | PTE_RW
        mov dword [PD_PSE + 1 * 4], 0x00400000 | PDE_PS | PTE_P | PTE_RW
        mov dword [PD_PSE + 0x100 * 4], 0x00400000 | PDE_PS | PTE_P | PTE_RW
        mov dword [0x00523450], 0x66666666   ; physical, via the identity map
        mov dword [0x007ffffc], 0x77777777   ; last dword of the large page
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov eax, PD_PSE
        mov cr3, eax
        PUTS "paging32: cr4.pse on, 4 MiB pages", 10
        EXPECT_EQ dword [ALIAS4M + 0x123450], 0x66666666, 0x30
        EXPECT_EQ dword [ALIAS4M + 0x3ffffc], 0x77777777, 0x31
        mov dword [ALIAS4M + 0x100], 0x88888888
        EXPECT_EQ dword [0x00400100], 0x88888888, 0x32
        mov eax, [PD_PSE + 0x100 * 4]
        and eax, PTE_A | PTE_D
        EXPECT_EQ eax, PTE_A | PTE_D, 0x33
        PUTS "paging32: 4 MiB alias ok", 10

        PUTS "paging32: done", 10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END
image_end:
