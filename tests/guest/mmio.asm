; mmio - the instruction forms guests use on device registers, against a real
; MMIO region: pc-testdev's 64 KiB scratch area at guest-physical 0xff000000
; (reads return what was last written; QEMU's pc-testdev "iomem", kvm-run's
; PcTestdevIomem). No RAM there, so under KVM every access below is an MMIO
; exit the in-kernel instruction emulator decodes and completes.
;
; 32-bit protected mode (flat segments reach it directly):
;   mov in sizes 1/2/4 both ways; movzx/movsx; rep stosd, rep movsb RAM->MMIO
;   and MMIO->RAM; add/or/and/xor/sub/cmp/test with the memory operand in MMIO
;   (result and CF/ZF/SF/OF); xchg; bt/bts/btr with an immediate and with a
;   register offset past the first dword.
; Real mode (16-bit code copied below 1 MiB): FS keeps a hidden base of
; 0xff000000 loaded in protected mode and GS a 4 GiB limit ("unreal" mode);
; the 16-bit addressing forms [bx+si+disp], [bx+di], [bp+si] (fs override),
; [bp+di+disp8], [si], [di], [disp16], [bx], the 64 KiB offset wrap, against
; fs:, cross-checked with 0x67-prefixed 32-bit addressing through gs:.
; 64-bit mode (0xff000000 mapped with a 2 MiB page): 8-byte mov both ways,
; movsxd, rep stosq, add with a carry across bit 31.
; Every access stays inside the region.

        bits 32
        org 0x100000
%include "lib.inc"

IOMEM     equ 0xff000000
RM_BASE   equ 0x8000
RM_STACK  equ 0x7000
PML4      equ 0x00200000
PDPT      equ 0x00201000
PD_LO     equ 0x00202000
PD_HI     equ 0x00203000
SEL_IOMEM16 equ 0x30                ; base 0xff000000, limit 64 KiB, 16-bit data
FLAGS_MASK  equ 0x8c1               ; OF, SF, ZF, CF
CF equ 0x001
ZF equ 0x040
SF equ 0x080
OF equ 0x800

; FLAGS_ARE value, code: the arithmetic flags now are exactly value
%macro FLAGS_ARE 2
        pushfd
        pop eax
        and eax, FLAGS_MASK
        EXPECT_EQ eax, %1, %2
%endmacro

        ; load_end_addr 0: the whole file, section .rm included, is loaded
        MULTIBOOT_HEADER start, 0, 0

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "mmio: start", 10
        mov ebx, IOMEM

        ; --- mov, sizes 1/2/4 ---------------------------------------------
        mov byte [ebx + 0x10], 0x11
        mov word [ebx + 0x12], 0x3322
        mov dword [ebx + 0x14], 0x77665544
        mov al, [ebx + 0x10]
        EXPECT_EQ al, 0x11, 0x10
        mov ax, [ebx + 0x12]
        EXPECT_EQ ax, 0x3322, 0x11
        mov eax, [ebx + 0x14]
        EXPECT_EQ eax, 0x77665544, 0x12
        mov eax, [ebx + 0x10]               ; wider than each store
        EXPECT_EQ eax, 0x33220011, 0x13
        mov ax, [ebx + 0x15]                ; unaligned
        EXPECT_EQ ax, 0x6655, 0x14
        mov ecx, 0xa1b2c3d4                 ; register source
        mov [ebx + 0x18], ecx
        mov edx, [ebx + 0x18]
        EXPECT_EQ edx, 0xa1b2c3d4, 0x15
        mov dh, [ebx + 0x19]                ; high-byte register destination
        EXPECT_EQ dh, 0xc3, 0x16
        PUTS "mmio: mov sizes 1/2/4 ok", 10

        ; --- movzx / movsx -------------------------------------------------
        mov dword [ebx + 0x20], 0x80018090
        movzx eax, byte [ebx + 0x20]
        EXPECT_EQ eax, 0x90, 0x18
        movsx eax, byte [ebx + 0x20]
        EXPECT_EQ eax, 0xffffff90, 0x19
        movzx eax, word [ebx + 0x22]
        EXPECT_EQ eax, 0x8001, 0x1a
        movsx eax, word [ebx + 0x22]
        EXPECT_EQ eax, 0xffff8001, 0x1b
        movsx ax, byte [ebx + 0x21]
        EXPECT_EQ ax, 0xff80, 0x1c
        PUTS "mmio: movzx/movsx ok", 10

        ; --- string stores and moves ---------------------------------------
        mov edi, IOMEM + 0x100
        mov eax, 0x5aa5c33c
        mov ecx, 16
        rep stosd
        EXPECT_EQ edi, IOMEM + 0x140, 0x20
        EXPECT_EQ ecx, 0, 0x21
        xor ecx, ecx
.stos:  EXPECT_EQ dword [IOMEM + 0x100 + ecx * 4], 0x5aa5c33c, 0x22
        inc ecx
        cmp ecx, 16
        jb .stos
        xor ecx, ecx                        ; a RAM pattern of 37 bytes
.fill:  lea eax, [ecx * 8 + ecx + 0x21]
        mov [ram_src + ecx], al
        inc ecx
        cmp ecx, 37
        jb .fill
        mov esi, ram_src                    ; RAM -> MMIO
        mov edi, IOMEM + 0x203
        mov ecx, 37
        rep movsb
        EXPECT_EQ esi, ram_src + 37, 0x23
        EXPECT_EQ edi, IOMEM + 0x203 + 37, 0x24
        mov esi, IOMEM + 0x203              ; MMIO -> RAM
        mov edi, ram_dst
        mov ecx, 37
        rep movsb
        mov esi, ram_src
        mov edi, ram_dst
        mov ecx, 37
        repe cmpsb
        CHECK 0x25
        mov al, [IOMEM + 0x203 + 36]        ; and one byte read directly
        EXPECT_EQ al, [ram_src + 36], 0x26
        PUTS "mmio: rep stosd, rep movsb both directions ok", 10

        ; --- arithmetic and logic with a memory operand --------------------
        mov dword [ebx + 0x300], 0x000000f0
        add byte [ebx + 0x300], 0x10        ; 0xf0 + 0x10 = 0x00, carry
        FLAGS_ARE CF | ZF, 0x30
        EXPECT_EQ dword [ebx + 0x300], 0, 0x31
        mov dword [ebx + 0x300], 0x7fffffff
        add dword [ebx + 0x300], 1          ; signed overflow
        FLAGS_ARE OF | SF, 0x32
        EXPECT_EQ dword [ebx + 0x300], 0x80000000, 0x33
        mov ecx, 5
        add ecx, [ebx + 0x300]              ; register destination
        EXPECT_EQ ecx, 0x80000005, 0x34
        or dword [ebx + 0x300], 0x0000ff00
        FLAGS_ARE SF, 0x35
        EXPECT_EQ dword [ebx + 0x300], 0x8000ff00, 0x36
        and word [ebx + 0x300], 0x0f0f
        FLAGS_ARE 0, 0x37
        EXPECT_EQ dword [ebx + 0x300], 0x80000f00, 0x38
        mov eax, 0x80000f00
        xor [ebx + 0x300], eax              ; register source
        FLAGS_ARE ZF, 0x39
        EXPECT_EQ dword [ebx + 0x300], 0, 0x3a
        sub dword [ebx + 0x300], 1          ; 0 - 1: borrow
        FLAGS_ARE CF | SF, 0x3b
        EXPECT_EQ dword [ebx + 0x300], 0xffffffff, 0x3c
        cmp dword [ebx + 0x300], 0xffffffff ; flags only
        FLAGS_ARE ZF, 0x3d
        cmp byte [ebx + 0x300], 0           ; 0xff vs 0: no borrow, negative
        FLAGS_ARE SF, 0x3e
        test dword [ebx + 0x300], 0x00010000
        FLAGS_ARE 0, 0x3f
        mov dword [ebx + 0x304], 0x00000100
        test word [ebx + 0x304], 0x00ff
        FLAGS_ARE ZF, 0x40
        EXPECT_EQ dword [ebx + 0x300], 0xffffffff, 0x41 ; cmp/test wrote nothing
        PUTS "mmio: add/or/and/xor/sub/cmp/test with memory, flags ok", 10

        ; --- xchg ----------------------------------------------------------
        mov dword [ebx + 0x310], 0x13572468
        mov eax, 0xcafef00d
        xchg [ebx + 0x310], eax
        EXPECT_EQ eax, 0x13572468, 0x42
        EXPECT_EQ dword [ebx + 0x310], 0xcafef00d, 0x43
        mov cl, 0x99
        xchg cl, [ebx + 0x311]
        EXPECT_EQ cl, 0xf0, 0x44
        EXPECT_EQ dword [ebx + 0x310], 0xcafe990d, 0x45
        PUTS "mmio: xchg ok", 10

        ; --- bit tests -----------------------------------------------------
        mov dword [ebx + 0x320], 0x00000020
        mov dword [ebx + 0x324], 0
        bt dword [ebx + 0x320], 5
        jc .bt1
        EXIT 0x48
.bt1:   bt dword [ebx + 0x320], 6
        jnc .bt2
        EXIT 0x49
.bt2:   bts dword [ebx + 0x320], 6
        jnc .bt3
        EXIT 0x4a                           ; CF = the old bit, 0
.bt3:   EXPECT_EQ dword [ebx + 0x320], 0x60, 0x4b
        btr dword [ebx + 0x320], 5
        jc .bt4
        EXIT 0x4c                           ; CF = the old bit, 1
.bt4:   EXPECT_EQ dword [ebx + 0x320], 0x40, 0x4d
        mov ecx, 35                         ; register offset: bit 3 of the next dword
        lea esi, [ebx + 0x320]
        bts [esi], ecx
        jnc .bt5
        EXIT 0x4e
.bt5:   EXPECT_EQ dword [ebx + 0x324], 0x8, 0x4f
        EXPECT_EQ dword [ebx + 0x320], 0x40, 0x50
        bt [esi], ecx
        jc .bt6
        EXIT 0x51
.bt6:   PUTS "mmio: bt/bts/btr ok", 10

        ; --- to real mode ---------------------------------------------------
        mov esi, section..rm.start
        mov edi, RM_BASE
        mov ecx, rm_end - rm_start
        rep movsb
        jmp SEL_CODE16:pm16_entry

; Back from real mode in 32-bit protected mode: on to long mode.
pm32_back:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK_TOP
        mov edi, PML4
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        mov dword [PML4], PDPT | 3
        mov dword [PDPT], PD_LO | 3
        mov dword [PDPT + 3 * 8], PD_HI | 3 ; 3-4 GiB
        mov dword [PD_HI + 0x1f8 * 8], IOMEM | 0x83 | 0x10 ; 2 MiB page, PCD
        mov edi, PD_LO
        mov eax, 0x83
        mov ecx, 8
.map:   mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .map
        mov eax, cr4
        or eax, 0x20
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xC0000080
        rdmsr
        or eax, 0x100
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
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
        mov rbx, IOMEM + 0x500
        mov rax, 0x0123456789abcdef
        mov [rbx], rax
        mov rcx, [rbx]
        EXPECT_EQ rcx, rax, 0x70
        mov ecx, [rbx + 4]
        EXPECT_EQ ecx, 0x01234567, 0x71
        mov dword [rbx + 8], 0x80000000
        movsxd rdx, dword [rbx + 8]
        mov rax, 0xffffffff80000000
        EXPECT_EQ rdx, rax, 0x72
        mov rdi, IOMEM + 0x600
        mov rax, 0x1122334455667788
        mov ecx, 8
        rep stosq
        mov rcx, IOMEM + 0x640
        EXPECT_EQ rdi, rcx, 0x73
        mov rcx, [rbx + 0x138]              ; the last qword, 0xff000638
        EXPECT_EQ rcx, rax, 0x74
        mov rax, 0x00000000ffffffff
        mov [rbx + 16], rax
        add qword [rbx + 16], 1             ; carry into bit 32
        mov rax, 0x0000000100000000
        EXPECT_EQ [rbx + 16], rax, 0x75
        PUTS "mmio: 64-bit mov/movsxd/rep stosq/add ok", 10
        PUTS "mmio: done", 10
        EXIT 0

        LIB64
        GDT_COMMON
        dq 0xff0092000000ffff       ; 0x30 iomem16: base 0xff000000, 64 KiB, data
        GDT_END

        align 4
ram_src: times 40 db 0
ram_dst: times 40 db 0

; ===========================================================================
        section .rm vstart=RM_BASE follows=.text
        bits 16
rm_start:
pm16_entry:
        mov ax, SEL_DATA16                  ; DS/ES/SS: 64 KiB, base 0
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov ax, SEL_IOMEM16                 ; FS: base 0xff000000
        mov fs, ax
        mov ax, SEL_DATA32                  ; GS: base 0, 4 GiB limit (unreal)
        mov gs, ax
        mov esp, RM_STACK
        lidt [rm_idt_ptr]
        mov eax, cr0
        and eax, ~1
        mov cr0, eax
        jmp 0:rm_entry
rm_entry:
        xor ax, ax                          ; DS/ES/SS real mode; FS/GS untouched
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, RM_STACK
        PUTS "mmio: real mode, fs base 0xff000000, gs 4 GiB limit", 10

        ; [bx+si+disp16]
        mov bx, 0x400
        mov si, 0x10
        mov word [fs:bx + si + 0x120], 0x1234
        a32 mov ax, [gs:dword IOMEM + 0x530]
        EXPECT_EQ ax, 0x1234, 0x60
        ; [bx+di]
        mov di, 0x44
        mov esi, IOMEM + 0x444
        a32 mov dword [gs:esi], 0x600dcafe
        mov eax, [fs:bx + di]
        EXPECT_EQ eax, 0x600dcafe, 0x61
        ; [bp+si] with an fs override (SS would be the default)
        mov bp, 0x800
        mov si, 0x8
        mov byte [fs:bp + si], 0x5e
        a32 mov al, [gs:dword IOMEM + 0x808]
        EXPECT_EQ al, 0x5e, 0x62
        ; [bp+di+disp8]
        mov di, 0x10
        mov word [fs:bp + di - 4], 0xbeef
        a32 mov ax, [gs:dword IOMEM + 0x80c]
        EXPECT_EQ ax, 0xbeef, 0x63
        ; [si], [di], [bx], [disp16]
        mov si, 0x900
        mov word [fs:si], 0x1111
        mov di, 0x902
        mov word [fs:di], 0x2222
        mov bx, 0x904
        mov word [fs:bx], 0x3333
        mov word [fs:0x906], 0x4444
        a32 mov eax, [gs:dword IOMEM + 0x900]
        EXPECT_EQ eax, 0x22221111, 0x64
        a32 mov eax, [gs:dword IOMEM + 0x904]
        EXPECT_EQ eax, 0x44443333, 0x65
        ; 16-bit offsets wrap at 64 KiB: 0xfff0 + 0x20 = 0x0010
        mov bx, 0xfff0
        mov si, 0x20
        mov word [fs:bx + si], 0x7e7e
        a32 mov ax, [gs:dword IOMEM + 0x10]
        EXPECT_EQ ax, 0x7e7e, 0x66
        ; read-modify-write and movzx through a 16-bit form
        mov bx, 0x900
        add word [fs:bx + 2], 0x0101
        a32 movzx eax, word [gs:dword IOMEM + 0x902]
        EXPECT_EQ eax, 0x2323, 0x67
        PUTS "mmio: 16-bit addressing forms and 32-bit (0x67) addressing ok", 10

        ; back to protected mode
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp dword SEL_CODE32:pm32_back

        LIB16
        align 4
rm_idt_ptr:
        dw 0x3ff
        dd 0
rm_end:
