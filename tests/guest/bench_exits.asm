; bench_exits - exit round-trip costs, measured in the guest with RDTSC.
;
; Not a test: prints one line per row, "bench <row> <cycles per op, hex>",
; for make bench (scripts/bench.sh) to turn into ratios ours/reference.
; Rows: cpuid (CPUID exit handled in the kernel), pio_user (OUT to
; pc-testdev: an exit to kvm-run), mmio_user (a store to pc-testdev's iomem
; at 0xff000000: a nested page fault, the emulator, an exit to kvm-run).
; Listed in bench.ini, not guests.ini: the numbers differ run to run.

        bits 32
        org 0x100000
%include "lib.inc"

ITER  equ 2000
IOMEM equ 0xff000000

; ROW "name", body: time ITER runs of body (after 100 warm-up runs)
%macro ROW 2+
        mov ecx, 100
%%warm: %2
        dec ecx
        jnz %%warm
        rdtsc
        mov esi, eax
        mov edi, edx
        mov ecx, ITER
%%loop: %2
        dec ecx
        jnz %%loop
        rdtsc
        sub eax, esi
        sbb edx, edi
        mov ecx, ITER
        div ecx                     ; cycles per op (fits: < 2^32 * ITER)
        PUTS "bench ", %1, " "
        PUTHEX eax
        PUTS 10
%endmacro

%macro CPUID_OP 0
        push ecx
        xor eax, eax
        cpuid
        pop ecx
%endmacro
%macro PIO_OP 0
        mov dx, TESTDEV_PORT
        out dx, al
%endmacro
%macro MMIO_OP 0
        mov [IOMEM], ecx
%endmacro

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        ROW "cpuid", CPUID_OP
        ROW "pio_user", PIO_OP
        ROW "mmio_user", MMIO_OP
        mov eax, [IOMEM]            ; the MMIO stores really landed
        EXPECT_EQ eax, 1, 0x10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END
image_end:
