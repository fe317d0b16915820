; tpr64 - CR8, the task priority in 64-bit mode, against the local APIC.
;
; MOV to/from CR8 reads and writes TPR[7:4] (Intel SDM vol. 3A 10.8.6.1,
; "Interaction of Task Priorities between CR8 and APIC"; AMD APM vol. 2
; 16.6.4). A KVM may run it without exits (VMX TPR shadow, SVM V_TPR),
; so these checks cover both directions of that copy:
;  - CR8 keeps its value across exits and shows in the APIC's TPR (bits 7:4);
;  - a TPR written through the APIC page shows in CR8.
; kvm-run gives a test image its LAPIC (KVM's in-kernel irqchip) only with
; -smp 2 (guests.ini); the AP just waits for an INIT it never gets.
; Tables: PML4[0] -> PDPT -> PD_LO (0-16 MiB) and PD_APIC (the 2 MiB page
; holding the APIC at 0xfee00000, uncached), 2 MiB pages.

        bits 32
        org 0x100000
%include "lib.inc"

PML4      equ 0x00200000
PDPT      equ 0x00201000
PD_LO     equ 0x00202000
PD_APIC   equ 0x00203000

APIC      equ 0xfee00000            ; 64-bit code reaches it through RBX
APIC_TPR  equ 0x080
APIC_SVR  equ 0x0f0


PTE_P     equ 0x01
PTE_RW    equ 0x02
PTE_PCD   equ 0x10
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR4_PAE   equ 0x20
MSR_EFER  equ 0xC0000080
EFER_LME  equ 0x100

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "tpr64: start", 10

        mov edi, PML4               ; clear the tables
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        mov dword [PML4], PDPT | PTE_P | PTE_RW
        mov dword [PDPT], PD_LO | PTE_P | PTE_RW
        mov dword [PDPT + 3 * 8], PD_APIC | PTE_P | PTE_RW
        mov edi, PD_LO              ; 8 x 2 MiB = 0-16 MiB
        mov eax, PDE_PS | PTE_P | PTE_RW
        mov ecx, 8
.ident: mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .ident
        mov dword [PD_APIC + ((APIC >> 21) & 0x1ff) * 8], \
                (APIC & 0xffe00000) | PDE_PS | PTE_PCD | PTE_P | PTE_RW


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
        mov cr0, eax
        jmp SEL_CODE64:long_entry

        LIB32

; ===========================================================================
        bits 64
        default rel
long_entry:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, STACK_TOP
        mov rbx, APIC
        mov dword [rbx + APIC_SVR], 0x1ff     ; software-enable, spurious 0xff
        mov dword [rbx + APIC_TPR], 0
        PUTS "tpr64: in 64-bit mode, apic enabled", 10

        ; --- CR8 -> TPR, across exits ---------------------------------------
        mov eax, 5
        mov cr8, rax
        PUTS "tpr64: cr8 set to 5", 10      ; port I/O: an exit
        mov rax, cr8
        EXPECT_EQ rax, 5, 0x10
        mov eax, [rbx + APIC_TPR]             ; MMIO: the APIC sees it
        and eax, 0xf0
        EXPECT_EQ eax, 0x50, 0x11
        mov rax, cr8
        EXPECT_EQ rax, 5, 0x12

        ; --- TPR -> CR8 -------------------------------------------------------
        mov dword [rbx + APIC_TPR], 0x30
        mov rax, cr8
        EXPECT_EQ rax, 3, 0x13
        xor eax, eax
        mov cr8, rax
        mov eax, [rbx + APIC_TPR]
        and eax, 0xf0
        EXPECT_EQ eax, 0, 0x14
        PUTS "tpr64: cr8 and apic tpr agree ok", 10

        xor eax, eax
        mov cr8, rax
        PUTS "tpr64: done", 10
        EXIT 0

        LIB64

        GDT_COMMON
        GDT_END
image_end:
