; ptlock - locked read-modify-writes from two vCPUs on a page that is also
; a page table.
;
; 32-bit paging: PD[1] -> PT, a 4 KiB page table mapping 4-8 MiB; PT's own
; page (in the identity-mapped first 4 MiB) also holds three counters and a
; spinlock word in entries that map nothing the payload touches.  On shadow
; paging that page is write-protected while it has a shadow, so each write
; to it traps and is emulated; the write-flooding heuristic unshadows it
; after a few writes, and the next translation through it shadows it
; again.  Both vCPUs therefore mix emulated and native locked writes to the
; same words, and every one must be atomic against the others:
;   lock add dword [CNT_ADD], 2
;   a compare-exchange loop adding 2 to CNT_CAS (lock cmpxchg)
;   an XCHG spinlock (locked without a prefix) around a plain load/add/
;   store of CNT_PLAIN
; Before each of them the vCPU invalidates and touches a page mapped by PT,
; so that the table is used for translation (shadowed again) in between.
; Counters step by 2 so that the entries holding them stay not-present.
; Each vCPU does ROUNDS rounds; every counter must end at 2 * 2 * ROUNDS.
;
; Needs kvm-run -smp 2 (guests.ini passes it), so the in-kernel irqchip.

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

PD        equ 0x00200000
PT        equ 0x00201000            ; maps 4-8 MiB, 4 KiB pages
CNT_ADD   equ PT + 0xff0            ; entries 1020..1023: never used to map
CNT_CAS   equ PT + 0xff4
CNT_PLAIN equ PT + 0xff8
SPINLOCK  equ PT + 0xffc
TOUCH     equ 0x00400000            ; PT[0]
ROUNDS    equ 1500

PTE_P     equ 0x01
PTE_RW    equ 0x02
PDE_PS    equ 0x80
CR0_PG    equ 0x80000000
CR4_PSE   equ 0x10

; Use PT for a translation: drop it from the TLB, then read through it.
%macro TOUCH_PT 0
        invlpg [TOUCH]
        mov eax, [TOUCH]
%endmacro

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "ptlock: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable

        mov edi, PD                 ; PD and PT
        mov ecx, 2 * 1024
        xor eax, eax
        rep stosd
        mov dword [PD + 0 * 4], 0x00000000 | PDE_PS | PTE_P | PTE_RW
        mov dword [PD + 1 * 4], PT | PTE_P | PTE_RW
        mov dword [PD + 2 * 4], 0x00800000 | PDE_PS | PTE_P | PTE_RW
        mov dword [PD + 0x3fb * 4], 0xfec00000 | PDE_PS | PTE_P | PTE_RW ; IOAPIC, LAPIC
        mov edi, PT                 ; PT[0..1019]: identity 4 MiB + i * 4 KiB
        mov eax, 0x00400000 | PTE_P | PTE_RW
        mov ecx, 1020
.pte:   mov [edi], eax
        add eax, 0x1000
        add edi, 4
        loop .pte
        call paging_on
        PUTS "ptlock: paging on", 10

        call ap_start_all
        WAIT_EQ ap_started, 1, 3000, 0x10
        mov dword [go], 1
        call rounds
        ; The AP's rounds may take a while on a slow host: no deadline here
        ; (the runner's timeout catches a hang).
.wait:  pause
        cmp dword [ap_done], 1
        jne .wait

        EXPECT_EQ dword [CNT_ADD], 4 * ROUNDS, 0x20
        EXPECT_EQ dword [CNT_CAS], 4 * ROUNDS, 0x21
        EXPECT_EQ dword [CNT_PLAIN], 4 * ROUNDS, 0x22
        EXPECT_EQ dword [SPINLOCK], 0, 0x23
        PUTS "ptlock: 2 vcpus x 1500 rounds of lock add, lock cmpxchg loop, xchg spinlock on a page-table page: counts ok", 10
        PUTS "ptlock: done", 10
        EXIT 0

paging_on:
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .paged
.paged: ret

ap_main:
        call paging_on
.go:    pause
        cmp dword [go], 1
        jne .go
        call rounds
        mov dword [ap_done], 1
.park:  cli
        hlt
        jmp .park

; ROUNDS rounds of the three locked updates (clobbers eax, ecx, edx, esi)
rounds:
        mov esi, ROUNDS
.round:
        TOUCH_PT
        lock add dword [CNT_ADD], 2

        TOUCH_PT
        mov eax, [CNT_CAS]
.cas:   lea edx, [eax + 2]
        lock cmpxchg [CNT_CAS], edx  ; EAX = what was there when it failed
        jne .cas

        TOUCH_PT
.acquire:
        mov eax, 2
        xchg [SPINLOCK], eax
        test eax, eax
        jz .held
.spin:  pause
        cmp dword [SPINLOCK], 0
        jne .spin
        jmp .acquire
.held:  mov eax, [CNT_PLAIN]
        add eax, 2
        mov [CNT_PLAIN], eax
        mov dword [SPINLOCK], 0

        dec esi
        jnz .round
        ret

        AP_TRAMPOLINE_CODE
        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
go:             dd 0
ap_done:        dd 0
image_end:
bss_end:
