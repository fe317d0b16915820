; pdpte - PAE PDPTE reserved bits, checked when the PDPTEs are loaded.
;
; In PAE paging (not long mode) the processor loads the four PDPTEs on a
; MOV to CR3, and when CR0.PG/CD/NW or CR4.PGE/PSE/PAE/SMEP change with
; paging on; a present PDPTE with a reserved bit (2:1, 8:5, 63:MAXPHYADDR)
; makes that instruction #GP(0) and leaves the register as it was (SDM
; vol. 3A 4.4.1).  A KVM that intercepts control-register writes (shadow
; paging: npt=0) does these checks; with nested paging AMD hardware does
; not, so guests.ini runs this payload only on shadow paging.
;
; Checks: enabling paging with a bad PDPT; MOV CR3 for each reserved bit
; (1 2 5 6 7 8 62 63) in PDPTE 3; reserved bits in a non-present PDPTE are
; ignored; CR4.PGE and CR0.CD changes reload (and check) the PDPTEs; the
; good PDPT translates through all four PDPTEs afterwards.

        bits 32
        org 0x100000
%include "lib.inc"

GOOD      equ 0x00200000            ; PDPT: [0] -> PD0, [3] -> PD3
BAD       equ 0x00200100            ; PDPT: [0] -> PD0, [3] = the test entry
PD0       equ 0x00201000            ; identity 0-8 MiB, 2 MiB pages
PD3       equ 0x00202000            ; 3 GiB -> PHYS_2M (2 MiB page)
ALIAS2M   equ 0xC0000000
PHYS_2M   equ 0x00600000

PTE_P     equ 0x01
PTE_RW    equ 0x02
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR0_CD    equ 0x40000000
CR4_PAE   equ 0x20
CR4_PGE   equ 0x80

; TRY label: a #GP in the next instructions resumes at `label`.
%macro RESUME_AT 1
        mov dword [resume_eip], %1
        mov dword [gp_count], 0
        mov dword [gp_error], 0xffffffff
%endmacro

; One #GP(0), at `eip`; fail with code, code+1, code+2.
%macro EXPECT_GP 2
        EXPECT_EQ dword [gp_count], 1, %2
        EXPECT_EQ dword [gp_error], 0, %2 + 1
        EXPECT_EQ dword [gp_eip], %1, %2 + 2
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "pdpte: start", 10

        ; IDT: #GP (13) to gp_isr, every other vector to bad_isr.
        xor ecx, ecx
.gate:  mov eax, bad_isr
        cmp ecx, 13
        jne .set
        mov eax, gp_isr
.set:   mov [idt + ecx * 8], ax
        mov word [idt + ecx * 8 + 2], SEL_CODE32
        mov word [idt + ecx * 8 + 4], 0x8e00
        shr eax, 16
        mov [idt + ecx * 8 + 6], ax
        inc ecx
        cmp ecx, 32
        jb .gate
        lidt [idt_ptr]

        mov edi, GOOD               ; both PDPTs and both directories
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov dword [GOOD + 0 * 8], PD0 | PTE_P
        mov dword [GOOD + 3 * 8], PD3 | PTE_P
        mov dword [BAD + 0 * 8], PD0 | PTE_P
        mov dword [BAD + 3 * 8], PD3 | PTE_P | PTE_RW   ; bit 1: reserved
        mov edi, PD0
        mov eax, PDE_PS | PTE_P | PTE_RW
        mov ecx, 4
.ident: mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .ident
        mov dword [PD3], PHYS_2M | PDE_PS | PTE_P | PTE_RW
        mov dword [PHYS_2M + 0x1230], 0x600d600d

        ; --- paging on with a reserved bit in a PDPTE -----------------------
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, BAD
        mov cr3, eax                ; paging off: nothing is loaded yet
        RESUME_AT .pg_done
        mov eax, cr0
        or eax, CR0_PG
.pg:    mov cr0, eax
        EXIT 0x10                   ; paging came on: no #GP
.pg_done:
        EXPECT_GP .pg, 0x11
        mov eax, cr0
        test eax, CR0_PG
        CHECK 0x14                  ; still off
        PUTS "pdpte: paging on with reserved bit 1 in pdpte 3: #GP(0)", 10

        mov eax, GOOD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .paged
.paged:
        EXPECT_EQ dword [ALIAS2M + 0x1230], 0x600d600d, 0x15

        ; --- MOV CR3 for each reserved bit ----------------------------------
        xor esi, esi
.bit:   mov dword [BAD + 3 * 8], PD3 | PTE_P
        mov dword [BAD + 3 * 8 + 4], 0
        movzx ecx, byte [rsvd_bits + esi]
        cmp ecx, 32
        jae .high
        mov eax, 1
        shl eax, cl
        or [BAD + 3 * 8], eax
        jmp .load
.high:  sub ecx, 32
        mov eax, 1
        shl eax, cl
        or [BAD + 3 * 8 + 4], eax
.load:  RESUME_AT .cr3_done
        mov eax, BAD
.cr3:   mov cr3, eax
        mov eax, 0x20
        add eax, esi
        jmp fail32                  ; loaded: 0x20 + index of the bit
.cr3_done:
        EXPECT_GP .cr3, 0x30
        mov eax, cr3
        EXPECT_EQ eax, GOOD, 0x33   ; CR3 unchanged
        inc esi
        cmp esi, rsvd_bits_end - rsvd_bits
        jb .bit
        PUTS "pdpte: mov cr3 #GP(0) for reserved bits 1 2 5 6 7 8 62 63 of a present pdpte", 10

        ; --- a non-present PDPTE's other bits mean nothing ------------------
        mov dword [BAD + 3 * 8], 0xfffffffe
        mov dword [BAD + 3 * 8 + 4], 0xffffffff
        RESUME_AT .np_gp
        mov eax, BAD
        mov cr3, eax
        mov eax, cr3
        EXPECT_EQ eax, BAD, 0x40
        mov eax, GOOD
        mov cr3, eax
        jmp .np_ok
.np_gp: EXIT 0x41
.np_ok:
        PUTS "pdpte: non-present pdpte with every other bit set loads", 10

        ; --- CR4.PGE and CR0.CD changes reload the PDPTEs -------------------
        ; BAD is valid when loaded, then its PDPTE 3 gets a reserved bit
        ; in memory: the loaded copy is fine, a reload is not.
        mov dword [BAD + 3 * 8], PD3 | PTE_P
        mov dword [BAD + 3 * 8 + 4], 0
        mov eax, BAD
        mov cr3, eax
        mov dword [BAD + 3 * 8], PD3 | PTE_P | 0x20      ; bit 5 (A): reserved
        RESUME_AT .pge_done
        mov eax, cr4
        or eax, CR4_PGE
.pge:   mov cr4, eax
        EXIT 0x50
.pge_done:
        EXPECT_GP .pge, 0x51
        mov eax, cr4
        test eax, CR4_PGE
        CHECK 0x54
        RESUME_AT .cd_done
        mov eax, cr0
        or eax, CR0_CD
.cd:    mov cr0, eax
        EXIT 0x55
.cd_done:
        EXPECT_GP .cd, 0x56
        mov eax, cr0
        test eax, CR0_CD
        CHECK 0x59
        PUTS "pdpte: cr4.pge and cr0.cd changes check the pdptes: #GP(0)", 10

        ; --- the good PDPT still translates ---------------------------------
        mov eax, GOOD
        mov cr3, eax
        EXPECT_EQ dword [ALIAS2M + 0x1230], 0x600d600d, 0x60
        mov dword [ALIAS2M + 0x1234], 0x12345678
        EXPECT_EQ dword [PHYS_2M + 0x1234], 0x12345678, 0x61
        PUTS "pdpte: done", 10
        EXIT 0

; #GP: record the error code and EIP, return to resume_eip.
gp_isr:
        push eax
        mov eax, [esp + 4]
        mov [gp_error], eax
        mov eax, [esp + 8]
        mov [gp_eip], eax
        inc dword [gp_count]
        cmp dword [gp_count], 1
        je .first
        mov eax, 0x7e
        jmp fail32
.first: mov eax, [resume_eip]
        mov [esp + 8], eax
        pop eax
        add esp, 4                  ; the error code
        iret

bad_isr:
        mov eax, 0x7f               ; any other exception
        jmp fail32

        LIB32
        GDT_COMMON
        GDT_END

rsvd_bits:   db 1, 2, 5, 6, 7, 8, 62, 63
rsvd_bits_end:
        align 4
resume_eip:  dd 0
gp_count:    dd 0
gp_error:    dd 0
gp_eip:      dd 0
        align 4
        dw 0
idt_ptr:
        dw 32 * 8 - 1
        dd idt
        align 8
idt:    times 32 * 8 db 0
image_end:
