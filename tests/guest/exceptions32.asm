; exceptions32 - exception delivery through a 32-bit IDT.
;
; Installs interrupt gates for vectors 0-31. Each handler records the vector,
; error code, saved CS:EIP and CR2, then returns to the address the test put
; in resume_eip. Checks: #DE (div by 0), #BP (int3, a trap: EIP after it),
; #UD (ud2), #GP with a selector error code, and #PF for a not-present read,
; a write to a read-only page with CR0.WP=1, and a fetch from a not-present
; page, each with its error code and CR2. exc_count catches double delivery.

        bits 32
        org 0x100000
%include "lib.inc"

PD        equ 0x00200000
PT0       equ 0x00201000            ; identity 0-4 MiB
PT1       equ 0x00202000            ; 4-8 MiB: page 0 absent, page 1 read-only
NP_PAGE   equ 0x00400000
RO_PAGE   equ 0x00401000
PTE_P     equ 0x01
PTE_RW    equ 0x02
CR0_PG    equ 0x80000000
CR0_WP    equ 0x00010000
BAD_SEL   equ 0x1230                ; index 0x246, far past the GDT limit

; TRIGGER label: the handler returns to `label`.
%macro RESUME_AT 1
        mov dword [resume_eip], %1
        mov dword [exc_count], 0
        mov dword [last_vector], 0xffffffff
%endmacro

; EXPECT_EXC vector, error, eip, code: exactly one exception with these values.
%macro EXPECT_EXC 4
        EXPECT_EQ dword [exc_count], 1, %4
        EXPECT_EQ dword [last_vector], %1, %4 + 1
        EXPECT_EQ dword [last_error], %2, %4 + 2
        EXPECT_EQ dword [last_eip], %3, %4 + 3
        EXPECT_EQ dword [last_cs], SEL_CODE32, %4 + 4
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "exceptions32: start", 10

        ; --- IDT: 32 interrupt gates (type 0xE, P=1, DPL=0) -----------------
        xor ecx, ecx
.gate:  mov eax, [isr_table + ecx * 4]
        mov [idt + ecx * 8], ax                 ; offset 15:0
        mov word [idt + ecx * 8 + 2], SEL_CODE32
        mov word [idt + ecx * 8 + 4], 0x8e00    ; P, DPL0, 32-bit int gate
        shr eax, 16
        mov [idt + ecx * 8 + 6], ax             ; offset 31:16
        inc ecx
        cmp ecx, 32
        jb .gate
        lidt [idt_ptr]

        ; --- #DE ---------------------------------------------------------
        RESUME_AT .de_done
        mov eax, 1
        xor edx, edx
        xor ecx, ecx
.de:    div ecx
        EXIT 0x0f                   ; fell through: no exception
.de_done:
        EXPECT_EXC 0, 0, .de, 0x10
        PUTS "exceptions32: DE ok", 10

        ; --- #BP (trap: saved EIP is the next instruction) ----------------
        RESUME_AT .bp_done
        int3
.bp_next:
        EXIT 0x1f
.bp_done:
        EXPECT_EXC 3, 0, .bp_next, 0x20
        PUTS "exceptions32: BP ok", 10

        ; --- #UD --------------------------------------------------------
        RESUME_AT .ud_done
.ud:    ud2
        EXIT 0x2f
.ud_done:
        EXPECT_EXC 6, 0, .ud, 0x30
        PUTS "exceptions32: UD ok", 10

        ; --- #GP(selector) ----------------------------------------------
        RESUME_AT .gp_done
        mov ax, BAD_SEL
.gp:    mov fs, ax
        EXIT 0x3f
.gp_done:
        EXPECT_EXC 13, BAD_SEL, .gp, 0x40
        mov ax, fs
        EXPECT_EQ ax, SEL_DATA32, 0x46  ; the faulting load changed nothing
        PUTS "exceptions32: GP ok", 10

        ; --- paging for #PF ----------------------------------------------
        mov edi, PD
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov dword [PD + 0], PT0 | PTE_P | PTE_RW
        mov dword [PD + 4], PT1 | PTE_P | PTE_RW
        mov edi, PT0
        mov eax, PTE_P | PTE_RW
        mov ecx, 1024
.ident: stosd
        add eax, 0x1000
        loop .ident
        ; PT1[0] stays 0: NP_PAGE is not present.
        mov dword [PT1 + 4], RO_PAGE | PTE_P    ; read-only
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG | CR0_WP     ; WP: supervisor writes honour R/W
        mov cr0, eax

        ; not-present read: error 0 (P=0, read, supervisor)
        RESUME_AT .pf1_done
.pf1:   mov eax, [NP_PAGE + 0x123]
        EXIT 0x4f
.pf1_done:
        EXPECT_EXC 14, 0, .pf1, 0x50
        EXPECT_EQ dword [last_cr2], NP_PAGE + 0x123, 0x55
        PUTS "exceptions32: PF not-present read ok", 10

        ; read-only write: error 3 (P=1, write)
        RESUME_AT .pf2_done
        mov eax, [RO_PAGE + 0x10]   ; reading it is fine
        EXPECT_EQ dword [exc_count], 0, 0x5f
.pf2:   mov dword [RO_PAGE + 0x10], 0x1234
        EXIT 0x6f
.pf2_done:
        EXPECT_EXC 14, 3, .pf2, 0x60
        EXPECT_EQ dword [last_cr2], RO_PAGE + 0x10, 0x65
        PUTS "exceptions32: PF read-only write ok", 10

        ; fetch from a not-present page: saved EIP = CR2 = the target
        RESUME_AT .pf3_done
        mov eax, NP_PAGE + 0x40
        jmp eax
.pf3_done:
        EXPECT_EXC 14, 0, NP_PAGE + 0x40, 0x70
        EXPECT_EQ dword [last_cr2], NP_PAGE + 0x40, 0x75
        PUTS "exceptions32: PF instruction fetch ok", 10

        PUTS "exceptions32: done", 10
        EXIT 0

; ---------------------------------------------------------------------------
; Handlers. Stack on entry to isr_common: vector, error code, EIP, CS, EFLAGS
; (vectors without an error code push a 0 in its place).
%macro ISR 1
isr_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
        push dword %1               ; the CPU pushed an error code
%else
        push dword 0
        push dword %1
%endif
        jmp isr_common
%endmacro

%assign v 0
%rep 32
        ISR v
%assign v v + 1
%endrep

isr_common:
        push eax
        mov eax, [esp + 4]
        mov [last_vector], eax
        mov eax, [esp + 8]
        mov [last_error], eax
        mov eax, [esp + 12]
        mov [last_eip], eax
        mov eax, [esp + 16]
        mov [last_cs], eax
        mov eax, cr2
        mov [last_cr2], eax
        inc dword [exc_count]
        cmp dword [exc_count], 1
        je .first
        mov eax, 0x7e               ; a second exception before resuming:
        jmp fail32                  ; stop rather than loop
.first:
        mov eax, [resume_eip]
        mov [esp + 12], eax
        pop eax
        add esp, 8                  ; vector and error code
        iret

        align 4
isr_table:
%assign v 0
%rep 32
        dd isr_%[v]
%assign v v + 1
%endrep

        LIB32
        GDT_COMMON
        GDT_END

        align 4
resume_eip:  dd 0
exc_count:   dd 0
last_vector: dd 0
last_error:  dd 0
last_eip:    dd 0
last_cs:     dd 0
last_cr2:    dd 0
        align 4
        dw 0
idt_ptr:
        dw 32 * 8 - 1
        dd idt
        align 8
idt:    times 32 * 8 db 0
image_end:
