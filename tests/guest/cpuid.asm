; cpuid - what a guest learns from CPUID, and CPUID exits that follow CR4.
;
; kvm-run fills the guest's CPUID table from KVM_GET_SUPPORTED_CPUID, so the
; values differ from host to host; the checks are the properties every x86
; CPU and every KVM must share (Intel SDM vol. 2A "CPUID", AMD APM vol. 3
; "CPUID"), never a particular value:
;   - leaf 0: max basic leaf >= 1 (and the same every time); the vendor string
;     is 12 printable ASCII characters;
;   - leaf 0x80000000: max extended leaf in 0x80000001..0x800000ff;
;   - leaf 1: family (base + extended) and model are sane (family 4..0x20);
;     the hypervisor bit (ECX bit 31) is set;
;   - a leaf above the max basic leaf: what it returns is vendor-specific
;     (AMD: zeros, Intel: the highest basic leaf), so only that it does not
;     fault and that two queries agree;
;   - OSXSAVE (leaf 1 ECX bit 27) mirrors CR4.OSXSAVE (bit 18) as the guest
;     sets and clears it (needs XSAVE, leaf 1 ECX bit 26: a failure if absent).

        bits 32
        org 0x100000
%include "lib.inc"

CR4_OSXSAVE   equ 1 << 18
ECX_XSAVE     equ 1 << 26
ECX_OSXSAVE   equ 1 << 27
ECX_HYPERVISOR equ 1 << 31

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "cpuid: start", 10

        ; --- leaf 0 --------------------------------------------------------
        xor eax, eax
        cpuid
        mov [max_basic], eax
        mov [vendor], ebx
        mov [vendor + 4], edx
        mov [vendor + 8], ecx
        cmp eax, 1
        jae .max_ok
        EXIT 0x10
.max_ok:
        cmp eax, 0x100              ; no CPU has anywhere near 256 basic leaves
        jb .max_small
        EXIT 0x11
.max_small:
        xor ecx, ecx                ; each vendor byte in 0x20..0x7e
.vbyte: mov al, [vendor + ecx]
        cmp al, 0x20
        jae .vlow
        EXIT 0x12
.vlow:  cmp al, 0x7e
        jbe .vhigh
        EXIT 0x13
.vhigh: inc ecx
        cmp ecx, 12
        jb .vbyte
                                    ; the same answer 100 times (100 exits)
.again: xor eax, eax
        cpuid
        EXPECT_EQ eax, [max_basic], 0x14
        EXPECT_EQ ebx, [vendor], 0x15
        EXPECT_EQ edx, [vendor + 4], 0x16
        EXPECT_EQ ecx, [vendor + 8], 0x17
        mov ecx, 0
        dec dword [count]
        jnz .again
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000001
        jae .ext_low
        EXIT 0x18
.ext_low:
        cmp eax, 0x80000100
        jb .ext_high
        EXIT 0x19
.ext_high:
        PUTS "cpuid: leaf 0 max leaf and vendor ok", 10

        ; --- leaf 1 --------------------------------------------------------
        mov eax, 1
        cpuid
        mov [leaf1_ecx], ecx
        mov ebx, eax
        shr ebx, 8
        and ebx, 0xf                ; base family
        cmp ebx, 0xf
        jne .family
        mov edx, eax
        shr edx, 20
        and edx, 0xff               ; extended family counts only with 0xf
        add ebx, edx
.family:
        cmp ebx, 4
        jae .fam_low
        EXIT 0x20
.fam_low:
        cmp ebx, 0x20
        jbe .fam_high
        EXIT 0x21
.fam_high:
        mov edx, eax                ; model = ext model << 4 | model: 8 bits
        shr edx, 4
        and edx, 0xf
        mov ecx, eax
        shr ecx, 12
        and ecx, 0xf0
        or edx, ecx
        cmp edx, 0xff
        jbe .model
        EXIT 0x22
.model: test eax, 0xf0000000        ; EAX bits 31:28 are reserved (zero)
        jz .rsvd
        EXIT 0x23
.rsvd:  test dword [leaf1_ecx], ECX_HYPERVISOR
        jnz .hv
        EXIT 0x24
.hv:    PUTS "cpuid: leaf 1 family/model sane, hypervisor bit set", 10

        ; --- a leaf past the max basic leaf --------------------------------
        mov eax, [max_basic]
        inc eax
        xor ecx, ecx
        cpuid
        mov [oor], eax
        mov [oor + 4], ebx
        mov [oor + 8], ecx
        mov [oor + 12], edx
        mov eax, [max_basic]
        inc eax
        xor ecx, ecx
        cpuid
        EXPECT_EQ eax, [oor], 0x30
        EXPECT_EQ ebx, [oor + 4], 0x31
        EXPECT_EQ ecx, [oor + 8], 0x32
        EXPECT_EQ edx, [oor + 12], 0x33
        PUTS "cpuid: leaf past the max answers consistently", 10

        ; --- OSXSAVE follows CR4.OSXSAVE -----------------------------------
        test dword [leaf1_ecx], ECX_XSAVE
        jnz .xsave
        EXIT 0x40                   ; the rig's CPUs and -cpu max have XSAVE
.xsave: test dword [leaf1_ecx], ECX_OSXSAVE
        jz .off0
        EXIT 0x41                   ; CR4.OSXSAVE is 0 at entry
.off0:  mov eax, cr4
        or eax, CR4_OSXSAVE
        mov cr4, eax
        mov eax, 1
        cpuid
        test ecx, ECX_OSXSAVE
        jnz .on
        EXIT 0x42
.on:    mov eax, cr4
        and eax, ~CR4_OSXSAVE
        mov cr4, eax
        mov eax, 1
        cpuid
        test ecx, ECX_OSXSAVE
        jz .off
        EXIT 0x43
.off:   mov eax, cr4                ; and once more on: not a one-shot
        or eax, CR4_OSXSAVE
        mov cr4, eax
        mov eax, 1
        cpuid
        test ecx, ECX_OSXSAVE
        jnz .on2
        EXIT 0x44
.on2:   PUTS "cpuid: osxsave follows cr4.osxsave", 10

        PUTS "cpuid: done", 10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END

        align 4
count:     dd 100
max_basic: dd 0
leaf1_ecx: dd 0
vendor:    times 12 db 0
oor:       times 4 dd 0
image_end:
