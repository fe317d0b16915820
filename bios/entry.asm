; Reset vector, shadowing, mode switches and interrupt entry stubs.
;
; Memory: the 128 KiB image is linked at 0xE0000-0xFFFFF (bios.lds).  At
; reset the CPU fetches from 0xFFFFFFF0, the top of the image's copy at
; 4 GiB - 128 KiB; 0xE0000-0xFFFFF shows the same ROM through the i440FX's
; PAM registers (set to "PCI").  POST switches to 32-bit protected mode,
; runs the shadowing code from the high copy, makes 0xE0000-0xFFFFF RAM
; (PAM0/5/6 = read+write DRAM) and copies the image there, then runs C
; (bios_post) from the RAM copy, where data and bss are writable.
;
; Services: every real-mode interrupt that C handles enters through a stub
; "push dword handler; jmp enter_c".  enter_c saves the caller's registers
; on the caller's stack (struct bregs in bios.h), switches to protected mode
; with our GDT (the caller's GDTR is saved and restored) and our stack, calls
; handler(struct bregs *), and returns to real mode and the caller.  C runs
; with interrupts off; a handler that must wait (int 16h AH=00h) sets
; bios_action = ACTION_WAIT and is called again after "sti; hlt".
;
; The GDT: 08 flat code32, 10 flat data32, 18 code16 (base 0xF0000),
; 20 data16 (base 0, 64 KiB limit, what real mode expects).

%define FSEG 0xF0000
%define ACTION_WAIT 1
%define ACTION_BOOT 2
%define ACTION_HALT 3
%define FRAME_HANDLER 40
%define HIGH_ALIAS_DELTA 0x100000   ; link address - this = address in the 4 GiB copy
%define POST_STACK_TOP 0x7000

extern bios_post
extern handle_10_mirror
global bios_action, boot_drive, bios_stack_top

; ---------------------------------------------------------------------------
section .text16 progbits alloc exec write align=16


; reset16 must stay the first thing in .text16, which the linker script puts
; at 0xF0000: offsets in the F segment are then differences of labels in
; this section, plain numbers to the assembler (OFF).
%define OFF(x) ((x) - reset16)

bits 16
global reset16
reset16:
	cli
	cld
	o32 lgdt [cs:OFF(gdt_desc)]
	mov eax, cr0
	and eax, 0x9fffffff            ; caches on (CD, NW clear)
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(shadow32 - HIGH_ALIAS_DELTA)

bits 32
; Runs from the 4 GiB copy: position independent but for the final jump.
shadow32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov dx, 0xcf8                  ; host bridge 00:00.0 an i440FX (8086:1237)?
	mov eax, 0x80000000
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	cmp eax, 0x12378086
	jne .copy
	mov dx, 0xcf8                  ; PAM0 (0x59) high nibble: F0000-FFFFF
	mov eax, 0x80000058
	out dx, eax
	mov dx, 0xcfd
	mov al, 0x30
	out dx, al
	mov dx, 0xcf8                  ; PAM5 (0x5e), PAM6 (0x5f): E0000-EFFFF
	mov eax, 0x8000005c
	out dx, eax
	mov dx, 0xcfe
	mov al, 0x33
	out dx, al
	inc dx
	out dx, al
.copy:
	mov esi, 0xfffe0000
	mov edi, 0xe0000
	mov ecx, 0x20000 / 4
	rep movsd
	; The copy must be RAM now: C keeps its data there.  If it is not (no
	; i440FX PAM and no RAM behind 0xE0000), say so on COM1 and stop.
	mov eax, [shadow_probe]
	not eax
	mov [shadow_probe], eax
	cmp eax, [shadow_probe]
	jne .not_ram
	not eax
	mov [shadow_probe], eax
	mov eax, post32
	jmp eax
.not_ram:
	mov ecx, shadow_msg_end - shadow_msg
	mov esi, shadow_msg - HIGH_ALIAS_DELTA
.putc:
	mov dx, 0x3fd
.busy:
	in al, dx
	test al, 0x20
	jz .busy
	mov dx, 0x3f8
	mov al, [esi]
	out dx, al
	inc esi
	loop .putc
.stop:
	cli
	hlt
	jmp .stop
shadow_msg:
	db 13, 10, "BIOS: 0xE0000-0xFFFFF did not become RAM after the copy (PAM on an i440FX", 13, 10
	db "host bridge, or RAM there, is needed); halted.", 13, 10
shadow_msg_end:
shadow_probe:
	dd 0x5a5aa5a5

post32:
	mov esp, POST_STACK_TOP
	call bios_post
	jmp 0x18:OFF(post_rm16)

bits 16
post_rm16:
	mov ax, 0x20
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, cr0
	and al, 0xfe
	mov cr0, eax
	db 0xea                        ; jmp far 0xf000:post_rm
	dw OFF(post_rm)
	dw 0xf000
post_rm:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov sp, POST_STACK_TOP
	o32 lidt [cs:OFF(rm_idt)]
	sti
	int 0x19
.stuck:
	hlt
	jmp .stuck

; ---- the C trampoline -------------------------------------------------------
enter_c:
	pushad
	push ds
	push es
	push fs
	push gs
.again:
	mov [cs:OFF(saved_ss)], ss
	mov [cs:OFF(saved_sp)], sp
	xor eax, eax
	mov ax, ss
	shl eax, 4
	movzx ebx, sp
	add eax, ebx                   ; eax = linear address of the frame
	o32 sgdt [cs:OFF(saved_gdt)]
	o32 lgdt [cs:OFF(gdt_desc)]
	mov ebx, cr0
	or bl, 1
	mov cr0, ebx
	jmp dword 0x08:enter_c32

bits 32
enter_c32:
	mov bx, 0x10
	mov ds, bx
	mov es, bx
	mov fs, bx
	mov gs, bx
	mov ss, bx
	mov esp, bios_stack_top
	cld
	push eax
	call [eax + FRAME_HANDLER]
	add esp, 4
	jmp 0x18:OFF(leave16)

bits 16
leave16:
	mov bx, 0x20
	mov ds, bx
	mov es, bx
	mov fs, bx
	mov gs, bx
	mov ss, bx
	mov ebx, cr0
	and bl, 0xfe
	mov cr0, ebx
	db 0xea                        ; jmp far 0xf000:leave_rm
	dw OFF(leave_rm)
	dw 0xf000
leave_rm:
	o32 lgdt [cs:OFF(saved_gdt)]
	mov ss, [cs:OFF(saved_ss)]
	mov sp, [cs:OFF(saved_sp)]
	mov al, [cs:OFF(bios_action)]
	test al, al
	jnz .action
	pop gs
	pop fs
	pop es
	pop ds
	popad
	add sp, 4
	iret
.action:
	mov byte [cs:OFF(bios_action)], 0
	cmp al, ACTION_WAIT
	jne .not_wait
	sti
	hlt
	cli
	jmp enter_c.again
.not_wait:
	cmp al, ACTION_BOOT
	jne .halt
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov sp, 0x7c00
	xor edx, edx
	mov dl, [cs:OFF(boot_drive)]
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	sti
	jmp 0x0000:0x7c00
.halt:
	sti
.h:	hlt
	jmp .h

; ---- interrupt stubs ---------------------------------------------------------
%macro C_STUB 2
global %1
extern %2
%1:
	push dword %2
	jmp enter_c
%endmacro

C_STUB stub_int10, handle_10
C_STUB stub_int11, handle_11
C_STUB stub_int12, handle_12
C_STUB stub_int13, handle_13
C_STUB stub_int14, handle_14
C_STUB stub_int15, handle_15
C_STUB stub_int16, handle_16
C_STUB stub_int18, handle_18
C_STUB stub_int19, handle_19
C_STUB stub_int1a, handle_1a
C_STUB stub_irq1, handle_irq1

; IRQ0: the 18.2 Hz tick (BDA 0x46c, midnight flag 0x470), then int 1Ch.
global stub_irq0
stub_irq0:
	push ds
	push eax
	xor ax, ax
	mov ds, ax
	mov eax, [0x46c]
	inc eax
	cmp eax, 0x1800b0
	jb .store
	xor eax, eax
	inc byte [0x470]
.store:
	mov [0x46c], eax
	int 0x1c
	mov al, 0x20
	out 0x20, al
	pop eax
	pop ds
	iret

global stub_irq_master, stub_irq_slave, stub_iret
stub_irq_master:                       ; unexpected IRQ 2-7: acknowledge
	push ax
	mov al, 0x20
	out 0x20, al
	pop ax
	iret
stub_irq_slave:                        ; unexpected IRQ 8-15
	push ax
	mov al, 0x20
	out 0xa0, al
	out 0x20, al
	pop ax
	iret
stub_iret:
	iret

; ---- option ROMs ---------------------------------------------------------------
; void call_option_rom(u32 entry /* seg << 16 | off */, u32 ax)
; From POST (32-bit, flat): far-call a ROM's init entry in real mode with
; AX = its PCI bus/devfn, on a real-mode stack at 0:ROM_STACK, interrupts
; off, and come back.  Everything but the caller-saved registers survives.
; With entry 0 it issues int 10h with that AX instead (a video mode set
; through the card's BIOS).
%define ROM_STACK 0x6000
global call_option_rom
bits 32
call_option_rom:
	pushad
	mov [rom_esp], esp
	mov eax, [esp + 36]
	mov [rom_entry], eax
	mov eax, [esp + 40]
	mov [rom_ax], ax
	jmp 0x18:OFF(.rm16)
bits 16
.rm16:
	mov ax, 0x20
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, cr0
	and al, 0xfe
	mov cr0, eax
	db 0xea
	dw OFF(.rm)
	dw 0xf000
.rm:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov sp, ROM_STACK
	o32 lidt [cs:OFF(rm_idt)]
	mov ax, [cs:OFF(rom_ax)]
	mov bx, 0xffff
	mov dx, 0xffff
	xor di, di
	cmp dword [cs:OFF(rom_entry)], 0
	je .int10
	call far [cs:OFF(rom_entry)]
	jmp .back
.int10:
	int 0x10
.back:
	cli
	cld
	o32 lgdt [cs:OFF(gdt_desc)]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:.pm32
bits 32
.pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, [rom_esp]
	popad
	ret
bits 16

; int 10h once a VGA BIOS owns it: mirror to COM1 in C, then on to the
; card's handler with the caller's registers and interrupt frame.
global stub_int10_chain, vga_int10
stub_int10_chain:
	pushf                          ; a frame for enter_c's iret to come back here
	push cs
	push word OFF(.to_vga)
	push dword handle_10_mirror
	jmp enter_c
.to_vga:
	jmp far [cs:OFF(vga_int10)]

; ---- application processors ------------------------------------------------
; cpu_setup (acpi.c) copies ap_tramp..ap_tramp_end to 0x8000 and sends
; INIT-SIPI-SIPI with vector 08h.  Each AP starts here at 0800:0000, loads
; the MSRs listed in ap_msr_table (the BSP's MTRRs: {ecx, eax, edx}, ecx 0
; ends the list), counts itself in ap_started and parks in the F segment
; (cli; hlt) until the OS sends its own INIT.  Position independent: data
; is addressed relative to ap_tramp through DS = CS.
global ap_tramp, ap_tramp_end, ap_msr_table, ap_started
ap_tramp:
	cli
	cld
	mov ax, cs
	mov ds, ax
	mov eax, cr0
	and eax, 0x9fffffff            ; caches on, as on the BSP
	mov cr0, eax
	mov si, ap_msr_table - ap_tramp
.next:
	mov ecx, [si]
	test ecx, ecx
	jz .done
	mov eax, [si + 4]
	mov edx, [si + 8]
	wrmsr
	add si, 12
	jmp .next
.done:
	lock inc word [ap_started - ap_tramp]
	db 0xea                        ; jmp far 0xf000:ap_park
	dw OFF(ap_park)
	dw 0xf000
align 4
ap_started:
	dd 0
ap_msr_table:
	times 12 * 40 + 4 db 0
ap_tramp_end:

ap_park:
	cli
	hlt
	jmp ap_park

; ---- data (written through CS, so the F segment must be RAM) ---------------
align 8
; Every descriptor has its accessed bit set: the first loads happen while this GDT is still
; ROM, and a CPU that must set the bit writes the descriptor.  A PC drops that write; under
; KVM the ROM is a read-only memory slot and the write never completes (SeaBIOS's GDT has the
; bit set for the same reason).
gdt:
	dq 0
	dq 0x00cf9b000000ffff          ; 08 code32 flat
	dq 0x00cf93000000ffff          ; 10 data32 flat
	dq 0x00009b0f0000ffff          ; 18 code16, base 0xF0000
	dq 0x000093000000ffff          ; 20 data16, base 0
gdt_end:
gdt_desc:
	dw gdt_end - gdt - 1
	dd gdt
rm_idt:
	dw 0x3ff
	dd 0
saved_gdt:
	dw 0
	dd 0
saved_ss:
	dw 0
saved_sp:
	dw 0
rom_esp:
	dd 0
rom_entry:
	dd 0
rom_ax:
	dw 0
vga_int10:
	dd 0
bios_action:
	db 0
boot_drive:
	db 0

; ---------------------------------------------------------------------------
section .reset progbits alloc exec write
bits 16
global reset_vector
reset_vector:
	db 0xea                        ; jmp far 0xf000:0000 (reset16)
	dw 0
	dw 0xf000
	times 16 - ($ - reset_vector) db 0

; ---------------------------------------------------------------------------
section .bss nobits alloc write align=16
	resb 8192
bios_stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
