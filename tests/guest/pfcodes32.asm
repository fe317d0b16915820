; pfcodes32 / pfcodespae - page-fault error codes and CR2 for every
; permission combination of 32-bit paging (or, assembled with -DPAE, of PAE
; paging with EFER.NXE and an execute-disable page), from ring 0 and ring 3, with CR0.WP clear and set; A/D
; bit updates; page-table edits seen with and without INVLPG. Written to be
; compared across hypervisors (and QEMU TCG): each probe prints the error
; code it got ("--" for no fault), so a difference shows where.
;
; Test pages (each its own frame, prefilled with a RET for fetches):
;   0  not present          1  present, supervisor, read-only
;   2  supervisor, writable 3  user, read-only       4  user, writable
;   5  PTE user+writable under a PDE that is supervisor-only
;   6  (PAE) user, writable, execute-disable
; A probe is (page, access): r = read, w = write, x = fetch (call a RET).
; Ring 3 runs through IRET to a user stub that ends with int 0x80.

        bits 32
        org 0x100000
%include "lib.inc"

PD        equ 0x00200000
PT0       equ 0x00201000            ; identity 0-4 MiB, user (PAE: 2 tables)
PT1       equ 0x00203000            ; at 4 MiB: the test pages
PT2       equ 0x00204000            ; at 8 MiB: page 5, under a supervisor PDE
PDPT      equ 0x00205000
%ifdef PAE
E         equ 8                     ; bytes per entry
NPAGES    equ 7
%define TAG "pfcodespae"
%else
E         equ 4
NPAGES    equ 6
%define TAG "pfcodes32"
%endif
; the PD entry for linear address a (4 MiB per entry, PAE 2 MiB)
%define PDE(a) (PD + ((a) >> (22 - (E / 8))) * E)
FRAMES    equ 0x00300000            ; backing frames of the test pages
TEST_VA   equ 0x00400000
SUP_VA    equ 0x00800000
REC_VA    equ 0x00c00000
USER_STK  equ 0x00380000
P         equ 1
RW        equ 2
US        equ 4
ACC       equ 0x20
DIRTY     equ 0x40
CR0_PG    equ 0x80000000
CR0_WP    equ 0x00010000
SEL_UCODE equ 0x30 | 3
SEL_UDATA equ 0x38 | 3
SEL_TSS   equ 0x40

; CHECK_NZ code - fail unless ZF is clear
%macro CHECK_NZ 1
        jnz %%ok
        mov eax, %1
        jmp fail32
%%ok:
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS TAG, ": start", 10

        ; TSS: ring-0 stack for faults and int 0x80 from ring 3
        mov dword [tss + 4], STACK_TOP - 0x1000
        mov dword [tss + 8], SEL_DATA32
        mov eax, tss
        mov [gdt_tss + 2], ax
        shr eax, 16
        mov [gdt_tss + 4], al
        mov [gdt_tss + 7], ah
        mov ax, SEL_TSS
        ltr ax

        ; IDT: #PF (14) and the ring-3 return gate (0x80, DPL 3)
        mov eax, isr_pf
        mov ebx, 14
        mov ecx, 0x8e00
        call set_gate
        mov eax, isr_back
        mov ebx, 0x80
        mov ecx, 0xee00
        call set_gate
        lidt [idt_ptr]

        ; page tables
        mov edi, PD
        mov ecx, 6 * 1024
        xor eax, eax
        rep stosd
%ifdef PAE
        mov dword [PDPT], PD | P
        mov dword [PDE(0)], PT0 | P | RW | US
        mov dword [PDE(0x200000)], PT0 + 0x1000 | P | RW | US
%else
        mov dword [PDE(0)], PT0 | P | RW | US
%endif
        mov dword [PDE(TEST_VA)], PT1 | P | RW | US
        mov dword [PDE(SUP_VA)], PT2 | P | RW ; supervisor-only PDE
        mov edi, PT0
        mov eax, P | RW | US
        mov ecx, 1024
.ident: mov [edi], eax
        add edi, E
        add eax, 0x1000
        loop .ident
        ; test frames: a RET at the start of each
        xor ecx, ecx
.fill:  mov eax, ecx
        shl eax, 12
        mov byte [FRAMES + eax], 0xc3
        inc ecx
        cmp ecx, 8
        jb .fill
        call reset_ptes
%ifdef PAE
        mov ecx, 0xc0000080         ; EFER.NXE
        rdmsr
        or eax, 1 << 11
        wrmsr
        mov eax, cr4
        or eax, 1 << 5              ; CR4.PAE
        mov cr4, eax
        mov eax, PDPT
%else
        mov eax, PD
%endif
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        PUTS TAG, ": paging on", 10

        ; --- every combination, WP=0 then WP=1 -----------------------------
        mov dword [cur_wp], 0
.wp_loop:
        mov eax, cr0
        and eax, ~CR0_WP
        cmp dword [cur_wp], 0
        je .wp_set
        or eax, CR0_WP
.wp_set:
        mov cr0, eax
        mov dword [cur_ring], 0
.ring_loop:
        PUTS TAG, ": wp="
        mov eax, [cur_wp]
        call puthex2
        PUTS " ring="
        mov eax, [cur_ring]
        call puthex2
        PUTS ":"
        mov dword [cur_page], 0
.page_loop:
        PUTS " "
        mov dword [cur_kind], 0
.kind_loop:
        call reset_ptes             ; fresh A/D bits, and a flushed TLB
        call probe
        inc dword [cur_kind]
        cmp dword [cur_kind], 3
        jb .kind_loop
        inc dword [cur_page]
        cmp dword [cur_page], NPAGES
        jb .page_loop
        PUTS 10
        inc dword [cur_ring]
        cmp dword [cur_ring], 2
        jb .ring_loop
        inc dword [cur_wp]
        cmp dword [cur_wp], 2
        jb .wp_loop

        ; --- accessed / dirty ----------------------------------------------
        call reset_ptes
        mov eax, [TEST_VA + 2 * 0x1000]         ; read page 2
        mov eax, [PT1 + 2 * E]
        and eax, ACC | DIRTY
        EXPECT_EQ eax, ACC, 0x10
        mov dword [TEST_VA + 2 * 0x1000 + 8], 1 ; write it
        mov eax, [PT1 + 2 * E]
        and eax, ACC | DIRTY
        EXPECT_EQ eax, ACC | DIRTY, 0x11
        mov eax, [PDE(TEST_VA)]
        test eax, ACC
        CHECK_NZ 0x12
        ; the guest clears D and flushes: the next write sets it again
        and dword [PT1 + 2 * E], ~DIRTY
        invlpg [TEST_VA + 2 * 0x1000]
        mov dword [TEST_VA + 2 * 0x1000 + 8], 2
        mov eax, [PT1 + 2 * E]
        test eax, DIRTY
        CHECK_NZ 0x13
        PUTS TAG, ": accessed/dirty ok", 10

        ; --- page-table edits ----------------------------------------------
        ; not present -> present needs no INVLPG
        mov dword [FRAMES + 6 * 0x1000 + 16], 0x6666
        mov dword [FRAMES + 7 * 0x1000 + 16], 0x7777
        mov dword [PT1 + 0 * E], FRAMES + 6 * 0x1000 | P | RW
        mov eax, [TEST_VA + 16]
        EXPECT_EQ eax, 0x6666, 0x20
        ; remap + INVLPG: the new frame is seen
        mov dword [PT1 + 0 * E], FRAMES + 7 * 0x1000 | P | RW
        invlpg [TEST_VA]
        mov eax, [TEST_VA + 16]
        EXPECT_EQ eax, 0x7777, 0x21
        ; present -> not present + INVLPG: faults
        mov dword [PT1 + 0 * E], 0
        invlpg [TEST_VA]
        mov dword [pf_count], 0
        mov dword [resume], .np_back
        mov [saved_esp], esp
        mov eax, [TEST_VA + 16]
.np_back:
        EXPECT_EQ dword [pf_count], 1, 0x22
        ; a whole page table rewritten with rep stosd (a misaligned-looking
        ; stream of writes), then used again: every entry as written
        mov edi, PT1
        mov ecx, 1024
%ifdef PAE
        xor eax, eax                ; high halves zero, low halves below
        rep stosd
        mov edi, PT1
        mov eax, FRAMES + 6 * 0x1000 | P | RW
        mov ecx, 512
.fillpt: mov [edi], eax
        add edi, 8
        loop .fillpt
%else
        mov eax, FRAMES + 6 * 0x1000 | P | RW
        rep stosd
%endif
        mov eax, cr3
        mov cr3, eax
        mov eax, [TEST_VA + 5 * 0x1000 + 16]
        EXPECT_EQ eax, 0x6666, 0x23
        ; byte-wise PTE edit (misaligned writes to a live page table)
        mov byte [PT1 + 3 * E + 1], (FRAMES + 7 * 0x1000) >> 8 & 0xff
        invlpg [TEST_VA + 3 * 0x1000]
        mov eax, [TEST_VA + 3 * 0x1000 + 16]
        EXPECT_EQ eax, 0x7777, 0x24
        ; a page table mapped at two levels: the PD entry for REC_VA points
        ; at the PD itself, so REC_VA + 4 KiB * i reads the table of PD
        ; entry i (a recursive mapping)
        mov dword [PDE(REC_VA)], PD | P | RW
        mov eax, [REC_VA + (PDE(TEST_VA) - PD) / E * 0x1000 + 5 * E]
        EXPECT_EQ eax, FRAMES + 6 * 0x1000 | P | RW | ACC, 0x25
        ; write a PTE through the recursive mapping; seen after INVLPG
        mov dword [REC_VA + (PDE(TEST_VA) - PD) / E * 0x1000 + 5 * E], FRAMES + 7 * 0x1000 | P | RW
        invlpg [TEST_VA + 5 * 0x1000]
        mov eax, [TEST_VA + 5 * 0x1000 + 16]
        EXPECT_EQ eax, 0x7777, 0x26
        PUTS TAG, ": page-table edits ok", 10

        PUTS TAG, ": done", 10
        EXIT 0

; The test PTEs as in the header, all A/D clear; reload CR3 (flush).
reset_ptes:
        mov dword [PT1 + 0 * E], 0
        mov dword [PT1 + 1 * E], FRAMES + 1 * 0x1000 | P
        mov dword [PT1 + 2 * E], FRAMES + 2 * 0x1000 | P | RW
        mov dword [PT1 + 3 * E], FRAMES + 3 * 0x1000 | P | US
        mov dword [PT1 + 4 * E], FRAMES + 4 * 0x1000 | P | RW | US
        mov dword [PT2 + 5 * E], FRAMES + 5 * 0x1000 | P | RW | US
%ifdef PAE
        mov dword [PT1 + 6 * E], FRAMES + 6 * 0x1000 | P | RW | US
        mov dword [PT1 + 6 * E + 4], 0x80000000 ; XD
%endif
        push eax
        mov eax, cr3
        mov cr3, eax
        pop eax
        ret

; EAX -> two hex digits
puthex2:
        push eax
        push ecx
        mov ecx, eax
        shr eax, 4
        call .digit
        mov eax, ecx
        call .digit
        pop ecx
        pop eax
        ret
.digit: and al, 0x0f
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'a' - '9' - 1
.out:   jmp putc32

; probe: access page [cur_page] as [cur_kind] from ring [cur_ring]; print
; the error code (2 hex digits) or "--", then check CR2.
probe:
        pushad
        mov ebx, [cur_page]
        shl ebx, 12
        add ebx, TEST_VA
        cmp dword [cur_page], 5
        jne .va
        mov ebx, SUP_VA + 5 * 0x1000
.va:    mov [probe_va], ebx
        mov dword [pf_count], 0
        mov dword [resume], .back
        mov [saved_esp], esp
        mov eax, [cur_kind]
        cmp dword [cur_ring], 0
        jne .user
        cmp eax, 1
        jb .r0
        je .w0
        call ebx
        jmp .back
.r0:    mov eax, [ebx]
        jmp .back
.w0:    mov byte [ebx + 1], 0x90
        jmp .back
.user:  mov ecx, eax                ; kind for the user stub
        push dword SEL_UDATA
        push dword USER_STK
        pushfd
        push dword SEL_UCODE
        push dword user_stub
        iretd
.back:  mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        cmp dword [pf_count], 0
        jne .fault
        PUTS "--"
        popad
        ret
.fault: mov eax, [pf_error]
        call puthex2
        mov eax, [pf_cr2]
        cmp eax, [probe_va]
        je .cr2ok
        cmp dword [cur_kind], 1     ; a write probe writes ebx + 1
        jne .cr2bad
        dec eax
        cmp eax, [probe_va]
        je .cr2ok
.cr2bad:
        mov eax, 0x40
        jmp fail32
.cr2ok: popad
        ret

user_stub:
        mov ax, SEL_UDATA
        mov ds, ax
        mov es, ax
        cmp ecx, 1
        jb .r
        je .w
        call ebx
        int 0x80
.r:     mov eax, [ebx]
        int 0x80
.w:     mov byte [ebx + 1], 0x90
        int 0x80

; #PF: record, then resume the probe on the ring-0 stack it saved
isr_pf:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        pop eax
        mov [pf_error], eax
        mov eax, cr2
        mov [pf_cr2], eax
        inc dword [pf_count]
        mov esp, [saved_esp]
        jmp [resume]

; int 0x80 from ring 3: the probe did not fault
isr_back:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov esp, [saved_esp]
        jmp [resume]

; EAX = handler, EBX = vector, ECX = type/DPL word
set_gate:
        mov [idt + ebx * 8], ax
        mov word [idt + ebx * 8 + 2], SEL_CODE32
        mov [idt + ebx * 8 + 4], cx
        shr eax, 16
        mov [idt + ebx * 8 + 6], ax
        ret

        LIB32
        GDT_COMMON
        dq 0x00CFFA000000FFFF       ; 0x30 user code32: DPL3
        dq 0x00CFF2000000FFFF       ; 0x38 user data32: DPL3
gdt_tss:
        dq 0x0000890000000067       ; 0x40 32-bit TSS, limit 0x67 (base set above)
        GDT_END

        align 4
cur_wp:    dd 0
cur_ring:  dd 0
cur_page:  dd 0
cur_kind:  dd 0
probe_va:  dd 0
pf_count:  dd 0
pf_error:  dd 0
pf_cr2:    dd 0
resume:    dd 0
saved_esp: dd 0
        align 4
        dw 0
idt_ptr:
        dw 256 * 8 - 1
        dd idt
        align 8
idt:    times 256 * 8 db 0
tss:    times 104 db 0
image_end:
