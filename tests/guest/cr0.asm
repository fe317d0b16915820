; cr0 - the guest's own view of CR0.CD and CR0.NW, and CR0 writes around them.
;
; A hypervisor may run the guest with caching on while the guest has set
; CR0.CD (upstream KVM's "CD/NW cleared" quirk on SVM does): whatever the CPU
; runs with, the guest must read back exactly what it wrote, by MOV and SMSW,
; memory must keep working, and the architectural checks must hold: setting
; NW without CD is #GP(0) and changes nothing (SDM vol. 3A 2.5, APM vol. 2
; 3.1.1). Also exercised while CD is set: 1000 TS toggles by MOV, CLTS, LMSW
; (which can set PE/MP/EM/TS but never clear PE), and SMSW's low 16 bits.

        bits 32
        org 0x100000
%include "lib.inc"

CR0_PE  equ 0x00000001
CR0_MP  equ 0x00000002
CR0_TS  equ 0x00000008
CR0_NW  equ 0x20000000
CR0_CD  equ 0x40000000
DATA    equ 0x00300000              ; 16 KiB test pattern

; GP_EXPECTED label: a #GP(0) must come from the instruction at `label`.
%macro GP_AT 1
        mov dword [gp_eip_want], %1
        mov dword [gp_count], 0
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "cr0: start", 10

        ; IDT with one gate, #GP (vector 13): 32-bit interrupt gate.
        mov eax, gp_handler
        mov [idt + 13 * 8], ax
        mov word [idt + 13 * 8 + 2], SEL_CODE32
        mov word [idt + 13 * 8 + 4], 0x8e00
        shr eax, 16
        mov [idt + 13 * 8 + 6], ax
        lidt [idt_ptr]

        ; The multiboot entry state: PE on, caching on.
        mov eax, cr0
        test eax, CR0_PE
        jnz .pe_ok
        EXIT 0x10
.pe_ok: test eax, CR0_CD | CR0_NW
        jz .entry_ok
        EXIT 0x11
.entry_ok:
        PUTS "cr0: entry pe=1 cd=0 nw=0 ok", 10

        ; --- CD on: MOV reads it back, SMSW shows the unchanged low word ---
        mov ebx, cr0
        or ebx, CR0_CD
        mov cr0, ebx
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x12
        smsw ecx                    ; register form: the whole CR0 on 386+
        EXPECT_EQ ecx, ebx, 0x13
        PUTS "cr0: cd=1 reads back by mov and smsw ok", 10

        ; memory keeps working with CD set
        mov edi, DATA
        mov ecx, 4096
        mov eax, 0x01020304
.fill:  stosd
        add eax, 0x01010101
        loop .fill
        mov esi, DATA
        mov ecx, 4096
        xor edx, edx
.sum:   lodsd
        add edx, eax
        loop .sum
        EXPECT_EQ edx, 0x98A83800, 0x14
        PUTS "cr0: memory with cd=1 ok", 10

        ; --- with CD set: TS by MOV 1000 times, CLTS, LMSW ------------------
        mov ecx, 1000
.ts:    mov eax, cr0
        xor eax, CR0_TS
        mov cr0, eax
        mov edx, cr0
        EXPECT_EQ edx, eax, 0x15
        loop .ts
        mov eax, cr0
        or eax, CR0_TS
        mov cr0, eax
        clts
        mov eax, cr0
        test eax, CR0_TS
        jz .clts_ok
        EXIT 0x16
.clts_ok:
        test eax, CR0_CD
        jnz .clts_cd
        EXIT 0x17
.clts_cd:
        mov ebx, eax
        mov ax, CR0_MP              ; LMSW: PE stays set although the operand
        lmsw ax                     ; clears it; MP comes on; CD untouched
        or ebx, CR0_MP
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x18
        smsw ax
        EXPECT_EQ ax, bx, 0x19
        PUTS "cr0: ts toggles, clts, lmsw with cd=1 ok", 10

        ; --- CD and NW both on, then NW alone must #GP ---------------------
        or ebx, CR0_NW
        mov cr0, ebx
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x1a
        PUTS "cr0: cd=1 nw=1 reads back ok", 10

        mov eax, ebx
        and eax, ~CR0_CD            ; NW without CD
        GP_AT .gp1
.gp1:   mov cr0, eax
        EXPECT_EQ dword [gp_count], 1, 0x1b
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x1c    ; unchanged
        PUTS "cr0: nw without cd gp(0), cr0 unchanged ok", 10

        ; --- both off again ------------------------------------------------
        and ebx, ~(CR0_CD | CR0_NW | CR0_MP)
        mov cr0, ebx
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x1d
        mov eax, ebx                ; NW alone from CD=0: #GP as well
        or eax, CR0_NW
        GP_AT .gp2
.gp2:   mov cr0, eax
        EXPECT_EQ dword [gp_count], 1, 0x1e
        mov eax, cr0
        EXPECT_EQ eax, ebx, 0x1f
        PUTS "cr0: cd=0 nw=0 again, nw alone gp(0) ok", 10

        PUTS "cr0: done", 10
        EXIT 0

; #GP: check the error code (0) and the faulting EIP, then skip the 3-byte
; MOV CR0 (0F 22 /r) that caused it.
gp_handler:
        inc dword [gp_count]
        cmp dword [gp_count], 1
        je .first
        mov eax, 0x7e               ; a second #GP before the test resumed
        jmp fail32
.first: cmp dword [esp], 0
        je .err_ok
        mov eax, 0x7c
        jmp fail32
.err_ok:
        mov eax, [esp + 4]
        cmp eax, [gp_eip_want]
        je .eip_ok
        mov eax, 0x7d
        jmp fail32
.eip_ok:
        add dword [esp + 4], 3
        add esp, 4                  ; error code
        iret

        LIB32
        GDT_COMMON
        GDT_END

        align 4
gp_count:    dd 0
gp_eip_want: dd 0
        align 4
        dw 0
idt_ptr:
        dw 32 * 8 - 1
        dd idt
        align 8
idt:    times 32 * 8 db 0
image_end:
