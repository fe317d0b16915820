; A tiny test disk for the BIOS (bios/test/run-qemu.py builds and boots it).
;
; Sector 0 is a boot sector: it checks how it was entered, prints through
; int 10h and loads the rest of itself (sectors 1-4, "stage 2") with an
; int 13h CHS read.  Stage 2 exercises the services an OS loader uses and
; reports on COM1 (through int 10h, which the BIOS mirrors there):
;   "BIOSTEST ok <what>" per check, "BIOSTEST PASS" at the end, or
;   "BIOSTEST FAIL <n>" and exit code n through the isa-debug-exit port
;   0xf4 (QEMU exits with (n << 1) | 1; PASS writes 0).
; Sectors 5.. hold a pattern: every sector starts with its LBA as a dword,
; the rest is the byte (LBA & 0xff).  Sector 40 is where the write test
; writes 'W's, which the runner then finds in the image file.
bits 16
org 0x7c00

%define STAGE2 0x7e00        ; right after the boot sector, where org puts it
%define BUF 0x9000
%define WRITE_LBA 40
%define CHS_WRITE_LBA 41    ; int 13h AH=03h writes 'C's to 41-42

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	mov [boot_drive], dl
	mov si, msg_hello
	call print
	cmp byte [boot_drive], 0x80
	mov al, 1
	jne fail
	mov ax, 0x0204          ; read 4 sectors
	mov cx, 0x0002          ; cylinder 0, sector 2
	xor dh, dh
	mov dl, [boot_drive]
	mov bx, STAGE2
	int 0x13
	mov al, 2
	jc fail
	cmp word [stage2_base], 0x5453  ; "ST" stage 2 magic
	mov al, 3
	jne fail
	jmp stage2

; print the zero-terminated string at SI
print:
	pusha
.next:
	lodsb
	test al, al
	jz .done
	mov ah, 0x0e
	xor bx, bx
	int 0x10
	jmp .next
.done:
	popa
	ret

; AL = failure number
fail:
	mov [fail_code], al
	mov si, msg_fail
	call print
	mov al, [fail_code]
	shr al, 4
	call hexdigit
	mov al, [fail_code]
	call hexdigit
	mov si, msg_crlf
	call print
	movzx ax, byte [fail_code]
	out 0xf4, ax
.hang:
	hlt
	jmp .hang

hexdigit:
	and al, 15
	add al, '0'
	cmp al, '9'
	jbe .p
	add al, 7
.p:	mov ah, 0x0e
	xor bx, bx
	int 0x10
	ret

msg_hello: db "BIOSTEST boot sector entered with DL=80h", 13, 10, 0
msg_fail: db "BIOSTEST FAIL ", 0
msg_crlf: db 13, 10, 0
boot_drive: db 0
fail_code: db 0

	times 446 - ($ - $$) db 0
	; one partition entry so partition-table readers see a sane disk
	db 0x80, 0, 2, 0, 0x83, 0, 0, 0
	dd 1, 4095
	times 510 - ($ - $$) db 0
	dw 0xaa55

; ---------------------------------------------------------------- stage 2
stage2_base:
	dw 0x5453
stage2:
	mov si, msg_stage2
	call print

	; int 13h 41h: EDD present, version 3.0, fixed-disk access
	mov ah, 0x41
	mov bx, 0x55aa
	mov dl, [boot_drive]
	int 0x13
	mov al, 0x10
	jc fail
	cmp bx, 0xaa55
	jne fail
	test cx, 1
	jz fail
	mov si, msg_edd
	call print

	; int 13h 08h: one hard disk, geometry that covers the disk
	mov ah, 0x08
	mov dl, [boot_drive]
	int 0x13
	mov al, 0x11
	jc fail
	cmp dl, 1
	jne fail
	and cl, 0x3f
	cmp cl, 63
	jne fail
	mov si, msg_geom
	call print

	; int 13h 48h: EDD 3.0 parameters, 4096 sectors, PCI ATA path, checksum
	mov word [BUF], 0x4a
	mov ah, 0x48
	mov dl, [boot_drive]
	mov si, BUF
	int 0x13
	mov al, 0x12
	jc fail
	cmp word [BUF], 0x4a
	jne fail
	cmp dword [BUF + 16], 4096
	jne fail
	cmp word [BUF + 24], 512
	jne fail
	cmp word [BUF + 30], 0xbedd
	jne fail
	cmp dword [BUF + 36], "PCI "
	jne fail
	mov si, BUF + 30
	mov cx, 44
	xor ah, ah
.sum:	lodsb
	add ah, al
	loop .sum
	mov al, 0x13
	test ah, ah
	jnz fail
	mov si, msg_edd48
	call print

	; int 13h 42h: read LBA 10-11, check the pattern
	mov dword [dap_lba], 10
	mov word [dap_count], 2
	mov ah, 0x42
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x14
	jc fail
	cmp dword [BUF], 10
	jne fail
	cmp byte [BUF + 511], 10
	jne fail
	cmp dword [BUF + 512], 11
	jne fail
	mov si, msg_ext
	call print

	; int 13h 02h beyond cylinder 0: LBA 1100 = C1 H1 S30 with 16 heads
	mov ax, 0x0201
	mov cx, (1 << 8) | 30
	mov dh, 1
	mov dl, [boot_drive]
	mov bx, BUF
	int 0x13
	mov al, 0x15
	jc fail
	cmp dword [BUF], 1100
	jne fail
	mov si, msg_chs
	call print

	; int 13h 43h: write 'W's to WRITE_LBA, read back through 42h
	mov di, BUF
	mov cx, 512
	mov al, 'W'
	rep stosb
	mov dword [dap_lba], WRITE_LBA
	mov word [dap_count], 1
	mov ax, 0x4300
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x16
	jc fail
	mov di, BUF
	mov cx, 512
	xor al, al
	rep stosb
	mov word [dap_count], 1
	mov ah, 0x42
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x17
	jc fail
	cmp dword [BUF + 508], "WWWW"
	jne fail
	mov si, msg_write
	call print

	; int 13h 03h: two sectors of 'C's at CHS C0 H0 S42-43 (LBA 41-42),
	; read back through 42h
	mov di, BUF
	mov cx, 1024
	mov al, 'C'
	rep stosb
	mov ax, 0x0302
	mov cx, 42
	xor dh, dh
	mov dl, [boot_drive]
	mov bx, BUF
	int 0x13
	mov bl, al              ; sectors written
	mov al, 0x30
	jc fail
	cmp bl, 2
	mov al, 0x31
	jne fail
	mov di, BUF
	mov cx, 1024
	xor al, al
	rep stosb
	mov dword [dap_lba], CHS_WRITE_LBA
	mov word [dap_count], 2
	mov ah, 0x42
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x32
	jc fail
	cmp dword [BUF], "CCCC"
	jne fail
	cmp dword [BUF + 1020], "CCCC"
	jne fail
	mov si, msg_chs_write
	call print

	; int 13h 42h: 40 sectors at once (several DRQ blocks), LBA 100-139
	mov dword [dap_lba], 100
	mov word [dap_count], 40
	mov ah, 0x42
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x33
	jc fail
	cmp word [dap_count], 40
	jne fail
	mov bx, BUF
	mov eax, 100
.big:	cmp [bx], eax
	jne .big_bad
	cmp [bx + 511], al
	jne .big_bad
	add bx, 512
	inc eax
	cmp eax, 140
	jb .big
	mov si, msg_big
	call print
	jmp .big_done
.big_bad:
	mov al, 0x34
	jmp fail
.big_done:

	; reading past the end fails with CF and a status
	mov dword [dap_lba], 4096
	mov word [dap_count], 1
	mov ah, 0x42
	mov dl, [boot_drive]
	mov si, dap
	int 0x13
	mov al, 0x18
	jnc fail
	test ah, ah
	jz fail
	mov si, msg_range
	call print

	; int 15h E820: at least 3 entries, the first is RAM at 0
	xor ebx, ebx
	xor bp, bp
	mov di, BUF
.e820:
	mov eax, 0xe820
	mov edx, 0x534d4150
	mov ecx, 20
	int 0x15
	jc .e820_bad
	cmp eax, 0x534d4150
	jne .e820_bad
	inc bp
	add di, 20
	test ebx, ebx
	jnz .e820
	cmp bp, 3
	mov al, 0x21
	jb fail
	cmp dword [BUF], 0
	jne fail
	cmp dword [BUF + 16], 1
	jne fail
	mov si, msg_e820
	call print
	jmp .e820_done
.e820_bad:
	mov al, 0x20
	jmp fail
.e820_done:

	; int 12h: 639 KiB base memory; int 15h E801: 15 MiB below 16 MiB
	int 0x12
	cmp ax, 639
	mov al, 0x22
	jne fail
	mov ax, 0xe801
	int 0x15
	jc .e801_bad
	cmp ax, 15 * 1024
	je .e801_ok
.e801_bad:
	mov al, 0x23
	jmp fail
.e801_ok:
	mov si, msg_mem
	call print

	; int 15h 88h: KiB above 1 MiB (64 MiB of RAM: 60 MiB or more, at
	; most FC00h); C0h: the configuration table says AT (model FCh)
	mov ah, 0x88
	int 0x15
	mov bl, 0x35
	jc .mem_bad
	cmp ax, 60 * 1024
	jb .mem_bad
	cmp ax, 0xfc00
	ja .mem_bad
	push es
	mov ah, 0xc0
	int 0x15
	mov dl, 0x36
	jc .c0_bad
	test ah, ah
	jnz .c0_bad
	cmp word [es:bx], 8
	jb .c0_bad
	cmp byte [es:bx + 2], 0xfc
	jne .c0_bad
	pop es
	mov si, msg_mem2
	call print
	jmp .mem2_done
.c0_bad:
	pop es
	mov bl, dl
.mem_bad:
	mov al, bl
	jmp fail
.mem2_done:

	; int 1Ah: the tick count moves while we wait in hlt
	xor ah, ah
	int 0x1a
	mov [ticks], dx
	mov cx, 3
.wait:	sti
	hlt
	loop .wait
	xor ah, ah
	int 0x1a
	cmp dx, [ticks]
	mov al, 0x24
	je fail
	mov si, msg_ticks
	call print

	; int 1Ah B101h/B102h: PCI BIOS present, finds the PIIX3 IDE (8086:7010)
	mov ax, 0xb101
	int 0x1a
	mov al, 0x25
	jc fail
	cmp edx, 0x20494350
	jne fail
	mov ax, 0xb102
	mov cx, 0x7010
	mov dx, 0x8086
	xor si, si
	int 0x1a
	mov al, 0x26
	jc fail
	mov ax, 0xb10a
	xor di, di
	int 0x1a
	cmp ecx, 0x70108086
	mov al, 0x27
	jne fail
	mov si, msg_pci
	call print

	; int 1Ah B108h/B10Bh: the IDE function's interrupt line register
	; (0x3C) takes a byte written through the PCI BIOS; B109h: class 0101h
	mov ax, 0xb102
	mov cx, 0x7010
	mov dx, 0x8086
	xor si, si
	int 0x1a
	mov al, 0x37
	jc fail
	mov ax, 0xb109
	mov di, 0x0a
	int 0x1a
	cmp cx, 0x0101
	mov al, 0x38
	jne fail
	mov ax, 0xb108
	mov di, 0x3c
	int 0x1a
	mov [saved_line], cl
	mov ax, 0xb10b
	mov cl, 0x5a
	int 0x1a
	mov ax, 0xb108
	int 0x1a
	cmp cl, 0x5a
	mov al, 0x39
	jne fail
	mov ax, 0xb10b
	mov cl, [saved_line]
	int 0x1a
	mov si, msg_pcicfg
	call print

	; $PIR in F000h, 16-byte aligned: version 1.0, 32 + 16n bytes, the
	; PIIX3 (8086:7000) as router, bytes summing to 0
	push ds
	mov ax, 0xf000
	mov ds, ax
	xor si, si
.pir:	cmp dword [si], "$PIR"
	je .pir_found
	add si, 16
	jnz .pir
	pop ds
	mov al, 0x3a
	jmp fail
.pir_found:
	mov bl, 0x3b
	cmp word [si + 4], 0x0100
	jne .pir_bad
	mov cx, [si + 6]
	cmp cx, 48
	jb .pir_bad
	test cl, 15
	jnz .pir_bad
	cmp dword [si + 12], 0x70008086
	jne .pir_bad
	xor ah, ah
.pirsum: lodsb
	add ah, al
	loop .pirsum
	mov bl, 0x3c
	test ah, ah
	jnz .pir_bad
	pop ds
	mov si, msg_pir
	call print
	jmp .pir_done
.pir_bad:
	pop ds
	mov al, bl
	jmp fail
.pir_done:

	; int 16h AH=01h: no key waiting; AH=05h stores one, AH=01h shows it
	; without taking it, AH=00h takes it, and the buffer is empty again
	mov ah, 0x01
	int 0x16
	mov al, 0x28
	jnz fail
	mov ah, 0x05
	mov cx, 0x1e61          ; 'a'
	int 0x16
	test al, al
	mov al, 0x29
	jnz fail
	mov ah, 0x01
	int 0x16
	mov bl, 0x2a
	jz .kbd_bad
	cmp ax, 0x1e61
	jne .kbd_bad
	mov ah, 0x00
	int 0x16
	mov bl, 0x2b
	cmp ax, 0x1e61
	jne .kbd_bad
	mov ah, 0x01
	int 0x16
	mov bl, 0x2c
	jnz .kbd_bad
	mov si, msg_kbd
	call print
	jmp .kbd_done
.kbd_bad:
	mov al, bl
	jmp fail
.kbd_done:

	mov si, msg_pass
	call print
	xor ax, ax
	out 0xf4, ax
.hang:
	hlt
	jmp .hang

align 4
dap:
	db 16, 0
dap_count: dw 1
	dw BUF, 0
dap_lba: dq 0
ticks: dw 0
saved_line: db 0

msg_stage2: db "BIOSTEST ok stage 2 loaded by int 13h AH=02h", 13, 10, 0
msg_edd: db "BIOSTEST ok int 13h AH=41h", 13, 10, 0
msg_geom: db "BIOSTEST ok int 13h AH=08h", 13, 10, 0
msg_edd48: db "BIOSTEST ok int 13h AH=48h", 13, 10, 0
msg_ext: db "BIOSTEST ok int 13h AH=42h", 13, 10, 0
msg_chs: db "BIOSTEST ok int 13h AH=02h cylinder 1", 13, 10, 0
msg_write: db "BIOSTEST ok int 13h AH=43h", 13, 10, 0
msg_range: db "BIOSTEST ok read past the end fails", 13, 10, 0
msg_e820: db "BIOSTEST ok int 15h E820h", 13, 10, 0
msg_mem: db "BIOSTEST ok int 12h, int 15h E801h", 13, 10, 0
msg_ticks: db "BIOSTEST ok int 1Ah ticks", 13, 10, 0
msg_pci: db "BIOSTEST ok int 1Ah PCI BIOS", 13, 10, 0
msg_chs_write: db "BIOSTEST ok int 13h AH=03h", 13, 10, 0
msg_big: db "BIOSTEST ok int 13h AH=42h 40 sectors", 13, 10, 0
msg_mem2: db "BIOSTEST ok int 15h 88h, C0h", 13, 10, 0
msg_pcicfg: db "BIOSTEST ok int 1Ah PCI config B108h-B10Bh", 13, 10, 0
msg_pir: db "BIOSTEST ok $PIR", 13, 10, 0
msg_kbd: db "BIOSTEST ok int 16h AH=01h/05h/00h", 13, 10, 0
msg_pass: db "BIOSTEST PASS", 13, 10, 0

	times 5 * 512 - ($ - $$) db 0
