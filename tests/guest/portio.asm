; portio - port I/O round trips through the VMM's exit path.
;
; pc-testdev's scratch register at 0xe0 is 4 bytes wide with byte lanes: a
; write of size N at 0xe0+k replaces bytes k..k+N-1, a read returns them.
; Checks: sizes 1/2/4, immediate and DX port forms, partial reads of a 4-byte
; write, partial writes merging into it, 1000 write/read rounds of varying
; values, string I/O (rep outs/ins: one exit may carry several items), and
; all-ones from an unassigned port (QEMU returns all-ones there too).

        bits 32
        org 0x100000
%include "lib.inc"

UNASSIGNED_PORT equ 0x2f0           ; nothing lives here in kvm-run or QEMU
ROUNDS          equ 1000

        MULTIBOOT_HEADER start, image_end, image_end

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "portio: start", 10

        ; --- sizes and forms ------------------------------------------------
        mov eax, 0x12345678
        out TESTDEV_PORT, eax       ; immediate-port form
        xor eax, eax
        in eax, TESTDEV_PORT
        EXPECT_EQ eax, 0x12345678, 0x10
        mov dx, TESTDEV_PORT        ; DX form
        mov eax, 0xffffffff
        in ax, dx                   ; only AX changes
        EXPECT_EQ eax, 0xffff5678, 0x11
        mov eax, 0xffffffff
        in al, dx
        EXPECT_EQ eax, 0xffffff78, 0x12
        PUTS "portio: sizes 1/2/4 ok", 10

        ; --- byte lanes -----------------------------------------------------
        in al, TESTDEV_PORT + 1
        EXPECT_EQ al, 0x56, 0x20
        in ax, TESTDEV_PORT + 2
        EXPECT_EQ ax, 0x1234, 0x21
        mov al, 0xab
        out TESTDEV_PORT, al        ; replaces byte 0 only
        in eax, TESTDEV_PORT
        EXPECT_EQ eax, 0x123456ab, 0x22
        mov ax, 0xcdef
        out TESTDEV_PORT + 2, ax    ; replaces bytes 2..3
        in eax, TESTDEV_PORT
        EXPECT_EQ eax, 0xcdef56ab, 0x23
        PUTS "portio: byte lanes ok", 10

        ; --- many round trips ---------------------------------------------
        ; EBX walks a linear congruential sequence so each round differs.
        mov ebx, 0x2545f491
        mov ecx, ROUNDS
        mov dx, TESTDEV_PORT
.round:
        imul ebx, ebx, 1664525
        add ebx, 1013904223
        mov eax, ebx
        out dx, eax
        xor eax, eax
        in eax, dx
        EXPECT_EQ eax, ebx, 0x30
        mov eax, ebx
        shr eax, 7
        out dx, ax
        mov esi, eax
        in eax, dx                  ; the word replaced the low half only
        mov edi, ebx
        and edi, 0xffff0000
        and esi, 0x0000ffff
        or edi, esi
        EXPECT_EQ eax, edi, 0x31
        mov eax, ebx
        shr eax, 13
        out dx, al
        mov esi, eax
        xor eax, eax
        in al, dx
        and esi, 0xff
        EXPECT_EQ eax, esi, 0x32
        dec ecx
        jnz .round
        PUTS "portio: 1000 rounds ok", 10

        ; --- string I/O ----------------------------------------------------
        mov esi, out_bytes          ; 5 byte writes to 0xe0: the last wins
        mov ecx, 5
        mov dx, TESTDEV_PORT
        rep outsb
        EXPECT_EQ ecx, 0, 0x40
        EXPECT_EQ esi, out_bytes + 5, 0x41
        mov dword [in_buf], 0
        mov dword [in_buf + 4], 0
        in al, dx
        EXPECT_EQ al, 0x55, 0x42
        mov eax, 0x0badf00d
        out dx, eax
        mov edi, in_buf             ; 4 dword reads: all the same value
        mov ecx, 4
        rep insd
        EXPECT_EQ ecx, 0, 0x43
        EXPECT_EQ edi, in_buf + 16, 0x44
        EXPECT_EQ dword [in_buf], 0x0badf00d, 0x45
        EXPECT_EQ dword [in_buf + 12], 0x0badf00d, 0x46
        mov edi, in_buf             ; 3 word reads
        mov ecx, 3
        rep insw
        EXPECT_EQ word [in_buf + 4], 0xf00d, 0x47
        EXPECT_EQ word [in_buf + 6], 0x0bad, 0x48 ; left from the dwords
        std                         ; backwards: DI decrements
        mov edi, in_buf + 14
        mov ecx, 2
        rep insw
        cld
        EXPECT_EQ edi, in_buf + 10, 0x49
        PUTS "portio: string i/o ok", 10

        ; --- unassigned port reads as all-ones ------------------------------
        mov dx, UNASSIGNED_PORT
        xor eax, eax
        in al, dx
        EXPECT_EQ eax, 0xff, 0x50
        xor eax, eax
        in ax, dx
        EXPECT_EQ eax, 0xffff, 0x51
        xor eax, eax
        in eax, dx
        EXPECT_EQ eax, 0xffffffff, 0x52
        mov al, 0x12                ; writes there are ignored
        out dx, al
        in al, dx
        EXPECT_EQ al, 0xff, 0x53
        PUTS "portio: unassigned port 0x2f0 reads all-ones ok", 10

        PUTS "portio: done", 10
        EXIT 0

        LIB32
        GDT_COMMON
        GDT_END

out_bytes: db 0x11, 0x22, 0x33, 0x44, 0x55
        align 4
in_buf: times 16 db 0
image_end:
