; msr - RDMSR/WRMSR of the architectural MSRs an OS touches, and #GP for the
; rest.
;
; 32-bit protected mode part, with a #GP handler (IDT vector 13) that records
; the error code and resumes at a label:
;   - EFER (0xC0000080): SCE (bit 0) and NXE (bit 11) set and cleared;
;   - STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE: 64-bit round trips (the
;     address MSRs with canonical values, SFMASK within its 32 bits);
;   - SYSENTER_CS/ESP/EIP (0x174-0x176): round trips of 32-bit values (AMD
;     keeps only 32 bits of ESP/EIP);
;   - TSC (0x10): RDMSR and RDTSC move forward; after WRMSR of T the counter
;     reads T plus a little (less than 2^36 cycles);
;   - PAT (0x277): the power-up value 0x0007040600070406 (SDM vol. 3, 13.12.4),
;     a valid value round trip, and an invalid memory type (2) -> #GP(0) with
;     PAT unchanged;
;   - an MSR no CPU has (0xdeadbeef): RDMSR and WRMSR -> #GP(0).
; 64-bit part: FS_BASE/GS_BASE written with WRMSR are the bases fs:/gs:
; memory accesses use; SWAPGS exchanges GS_BASE and KERNEL_GS_BASE.
; QEMU's TCG ignores unknown MSRs and PAT types instead of raising #GP, so
; this payload runs under KVM only.

        bits 32
        org 0x100000
%include "lib.inc"

PML4      equ 0x00200000
PDPT      equ 0x00201000
PD        equ 0x00202000
DATA_FS   equ 0x00300000
DATA_GS   equ 0x00301000
DATA_KGS  equ 0x00302000

MSR_TSC        equ 0x10
MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
MSR_PAT        equ 0x277
MSR_EFER       equ 0xC0000080
MSR_STAR       equ 0xC0000081
MSR_LSTAR      equ 0xC0000082
MSR_CSTAR      equ 0xC0000083
MSR_SFMASK     equ 0xC0000084
MSR_FS_BASE    equ 0xC0000100
MSR_GS_BASE    equ 0xC0000101
MSR_KERNEL_GS_BASE equ 0xC0000102
MSR_BOGUS      equ 0xdeadbeef
EFER_SCE  equ 1 << 0
EFER_LME  equ 1 << 8
EFER_LMA  equ 1 << 10
EFER_NXE  equ 1 << 11
PAT_RESET_LO equ 0x00070406
PAT_RESET_HI equ 0x00070406

; WRMSR then RDMSR: msr, lo, hi, code (code + 1: high half)
%macro ROUND_TRIP 4
        mov ecx, %1
        mov eax, %2
        mov edx, %3
        wrmsr
        xor eax, eax
        xor edx, edx
        rdmsr
        EXPECT_EQ eax, %2, %4
        EXPECT_EQ edx, %3, %4 + 1
%endmacro

; Arm the #GP handler: it resumes at label.
%macro EXPECT_GP_AT 1
        mov dword [resume_eip], %1
        mov dword [gp_count], 0
        mov dword [gp_error], 0xffffffff
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "msr: start", 10
        mov eax, gp_handler                 ; IDT vector 13: 32-bit interrupt gate
        mov [idt + 13 * 8], ax
        mov word [idt + 13 * 8 + 2], SEL_CODE32
        mov word [idt + 13 * 8 + 4], 0x8e00
        shr eax, 16
        mov [idt + 13 * 8 + 6], ax
        lidt [idt_ptr]

        ; --- EFER ----------------------------------------------------------
        mov ecx, MSR_EFER
        rdmsr
        test eax, EFER_LME | EFER_LMA
        jz .efer0
        EXIT 0x10
.efer0: or eax, EFER_SCE | EFER_NXE
        wrmsr
        xor eax, eax
        rdmsr
        and eax, EFER_SCE | EFER_NXE | EFER_LME | EFER_LMA
        EXPECT_EQ eax, EFER_SCE | EFER_NXE, 0x11
        and eax, ~(EFER_SCE | EFER_NXE)
        wrmsr
        rdmsr
        and eax, EFER_SCE | EFER_NXE | EFER_LME | EFER_LMA
        EXPECT_EQ eax, 0, 0x12
        PUTS "msr: efer sce/nxe ok", 10

        ; --- SYSCALL MSRs and KERNEL_GS_BASE -------------------------------
        ROUND_TRIP MSR_STAR, 0x9abcdef0, 0x00230010, 0x20
        ROUND_TRIP MSR_LSTAR, 0x12345678, 0xffff8000, 0x22
        ROUND_TRIP MSR_CSTAR, 0x9abc0000, 0x00007fff, 0x24
        ROUND_TRIP MSR_SFMASK, 0x00047700, 0, 0x26
        ROUND_TRIP MSR_KERNEL_GS_BASE, 0xfedcb000, 0xffffffff, 0x28
        mov ecx, MSR_STAR                   ; still there after other writes
        rdmsr
        EXPECT_EQ eax, 0x9abcdef0, 0x2a
        EXPECT_EQ edx, 0x00230010, 0x2b
        PUTS "msr: star/lstar/cstar/sfmask/kernel_gs_base ok", 10

        ; --- SYSENTER ------------------------------------------------------
        ROUND_TRIP MSR_SYSENTER_CS, 0x00001234, 0, 0x30
        ROUND_TRIP MSR_SYSENTER_ESP, 0x8765f000, 0, 0x32
        ROUND_TRIP MSR_SYSENTER_EIP, 0xc0de1234, 0, 0x34
        PUTS "msr: sysenter_cs/esp/eip ok", 10

        ; --- TSC -----------------------------------------------------------
        mov ecx, MSR_TSC
        rdmsr
        mov esi, eax
        mov edi, edx
        rdtsc                               ; later: not below the MSR read
        sub eax, esi
        sbb edx, edi
        test edx, 0x80000000
        jz .tsc1
        EXIT 0x40
.tsc1:  mov ecx, MSR_TSC
        rdmsr
        sub eax, esi                        ; and a second RDMSR: later still
        sbb edx, edi
        test edx, 0x80000000
        jz .tsc2
        EXIT 0x41
.tsc2:  mov ecx, MSR_TSC                    ; write T = 2^44, read T + a little
        xor eax, eax
        mov edx, 0x1000
        wrmsr
        rdmsr
        sub edx, 0x1000                     ; edx:eax = elapsed
        cmp edx, 0x10                       ; 0 <= elapsed < 2^36
        jb .tsc3
        EXIT 0x42
.tsc3:  rdtsc
        sub edx, 0x1000
        cmp edx, 0x10
        jb .tsc4
        EXIT 0x43
.tsc4:  PUTS "msr: tsc monotonic, write then read back ok", 10

        ; --- PAT -----------------------------------------------------------
        mov ecx, MSR_PAT
        rdmsr
        EXPECT_EQ eax, PAT_RESET_LO, 0x50
        EXPECT_EQ edx, PAT_RESET_HI, 0x51
        ROUND_TRIP MSR_PAT, 0x01050406, 0x00070107, 0x52
        EXPECT_GP_AT .pat_gp
        mov ecx, MSR_PAT
        mov eax, 0x01050402                 ; type 2 in entry 0: reserved
        mov edx, 0x00070107
        wrmsr
        EXIT 0x54                           ; no #GP
.pat_gp:
        EXPECT_EQ dword [gp_count], 1, 0x55
        EXPECT_EQ dword [gp_error], 0, 0x56
        mov ecx, MSR_PAT
        rdmsr
        EXPECT_EQ eax, 0x01050406, 0x57
        EXPECT_EQ edx, 0x00070107, 0x58
        PUTS "msr: pat reset value, round trip, invalid type gp ok", 10

        ; --- an MSR that does not exist ------------------------------------
        EXPECT_GP_AT .rd_gp
        mov ecx, MSR_BOGUS
.rd:    rdmsr
        EXIT 0x60
.rd_gp: EXPECT_EQ dword [gp_count], 1, 0x61
        EXPECT_EQ dword [gp_error], 0, 0x62
        EXPECT_EQ dword [gp_eip], .rd, 0x63     ; a fault: EIP of the rdmsr
        EXPECT_GP_AT .wr_gp
        mov ecx, MSR_BOGUS
        xor eax, eax
        xor edx, edx
        wrmsr
        EXIT 0x64
.wr_gp: EXPECT_EQ dword [gp_count], 1, 0x65
        EXPECT_EQ dword [gp_error], 0, 0x66
        PUTS "msr: unknown msr 0xdeadbeef gp(0) on rdmsr and wrmsr ok", 10

        ; --- long mode: identity-map 0-16 MiB with 2 MiB pages --------------
        mov edi, PML4
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov dword [PML4], PDPT | 3
        mov dword [PDPT], PD | 3
        mov edi, PD
        mov eax, 0x83
        mov ecx, 8
.map:   mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .map
        mov eax, cr4
        or eax, 0x20                        ; PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp SEL_CODE64:long_entry

gp_handler:                                 ; error code, EIP, CS, EFLAGS
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
        add esp, 4
        iret

        LIB32

; ===========================================================================
        bits 64
        default rel
long_entry:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov fs, ax
        mov gs, ax
        PUTS "msr: in 64-bit mode", 10
        mov rax, 0x1111111111111111
        mov [abs DATA_FS + 8], rax
        mov rax, 0x2222222222222222
        mov [abs DATA_GS + 8], rax
        mov rax, 0x3333333333333333
        mov [abs DATA_KGS + 8], rax

        mov ecx, MSR_FS_BASE
        mov eax, DATA_FS
        xor edx, edx
        wrmsr
        mov ecx, MSR_GS_BASE
        mov eax, DATA_GS
        wrmsr
        mov ecx, MSR_KERNEL_GS_BASE
        mov eax, DATA_KGS
        wrmsr
        mov rax, [fs:8]
        mov rbx, 0x1111111111111111
        EXPECT_EQ rax, rbx, 0x70
        mov rax, [gs:8]
        mov rbx, 0x2222222222222222
        EXPECT_EQ rax, rbx, 0x71
        mov rax, 0x4444444444444444
        mov [fs:16], rax                    ; a store through fs: lands at DATA_FS
        mov rbx, [abs DATA_FS + 16]
        EXPECT_EQ rax, rbx, 0x72
        mov ecx, MSR_FS_BASE
        rdmsr
        EXPECT_EQ eax, DATA_FS, 0x73
        EXPECT_EQ edx, 0, 0x74
        PUTS "msr: fs_base/gs_base via wrmsr seen by fs:/gs: accesses ok", 10

        swapgs
        mov rax, [gs:8]
        mov rbx, 0x3333333333333333
        EXPECT_EQ rax, rbx, 0x75
        mov ecx, MSR_GS_BASE
        rdmsr
        EXPECT_EQ eax, DATA_KGS, 0x76
        mov ecx, MSR_KERNEL_GS_BASE
        rdmsr
        EXPECT_EQ eax, DATA_GS, 0x77
        mov dx, TESTDEV_PORT                ; an exit in between
        out dx, al
        swapgs
        mov rax, [gs:8]
        mov rbx, 0x2222222222222222
        EXPECT_EQ rax, rbx, 0x78
        PUTS "msr: swapgs exchanges gs_base and kernel_gs_base ok", 10

        PUTS "msr: done", 10
        EXIT 0

        LIB64
        GDT_COMMON
        GDT_END

        align 4
resume_eip: dd 0
gp_count:   dd 0
gp_error:   dd 0
gp_eip:     dd 0
        align 4
        dw 0
idt_ptr:
        dw 32 * 8 - 1
        dd idt
        align 8
idt:    times 32 * 8 db 0
image_end:
