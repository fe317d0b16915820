; smp - four vCPUs on the in-kernel LAPICs: INIT/SIPI/SIPI bring-up of the
; three APs (each starts in real mode at the SIPI page, counts itself once;
; the second SIPI is ignored), then IPIs between them: self-IPI by shorthand
; and by physical ID, fixed IPIs to each AP by physical ID, logical (flat)
; destination, lowest priority (exactly one of three gets it), the shorthands
; all-excluding-self and all-including-self, physical broadcast 0xff, NMI to
; an AP, to self (taken with IF=0) and to all others, 200 cross-vCPU round
; trips to halted APs, an INIT level de-assert that changes nothing,
; INIT + SIPI restarting a running AP, and logical destinations in the
; cluster model.
;
; Needs kvm-run -smp 4 (guests.ini passes it), which needs the in-kernel irqchip.

        bits 32
        org 0x100000
%include "lib.inc"
%include "apic.inc"

        MULTIBOOT_HEADER start, image_end, bss_end

V_IPI   equ 0x60                        ; counted per CPU
V_PING  equ 0x61                        ; an AP answers with V_PONG to the BSP
V_PONG  equ 0x62
V_CLUSTER equ 0x63                      ; an AP switches to the cluster model
ROUNDS  equ 200

; IPI_COUNT cpu -> dword operand
%define IPI_COUNT(n) ipi_count + (n) * 4
%define NMI_COUNT(n) nmi_count + (n) * 4

start:
        MULTIBOOT_ENTRY
        LOAD_GDT32
        PUTS "smp: start", 10
        call idt_init
        call pic_init
        call pic_mask_all
        call lapic_enable
        mov dword [LAPIC_DFR], 0xffffffff
        mov dword [LAPIC_LDR], 0x01000000
        SET_GATE V_IPI, ipi_handler
        SET_GATE V_PING, ping_handler
        SET_GATE V_PONG, pong_handler
        SET_GATE V_CLUSTER, cluster_handler
        SET_GATE 2, nmi_handler
        call lapic_id
        EXPECT_EQ eax, 0, 0x10

        ; -- bring-up
        call ap_start_all
        WAIT_EQ ap_started, 3, 3000, 0x11
        DELAY_MS 20                     ; a second start would show by now
        EXPECT_EQ dword [ap_started], 3, 0x12
        EXPECT_EQ dword [ap_ids], 0x0e, 0x13
        PUTS "smp: init/sipi/sipi started 3 aps (apic ids 1-3), each once ok", 10

        ; -- self-IPI: shorthand, then physical destination 0
        SEND_IPI 0, ICR_SELF | V_IPI
        APIC_BIT LAPIC_IRR, V_IPI
        jnz .self_pending
        EXIT_FAIL 0x14
.self_pending:
        STI_WINDOW
        EXPECT_EQ dword [IPI_COUNT(0)], 1, 0x15
        SEND_IPI 0, V_IPI
        STI_WINDOW
        EXPECT_EQ dword [IPI_COUNT(0)], 2, 0x16
        PUTS "smp: self-ipi by shorthand and by physical id ok", 10

        ; -- fixed, physical, to each AP
        SEND_IPI 1, V_IPI
        WAIT_EQ IPI_COUNT(1), 1, 1000, 0x17
        SEND_IPI 2, V_IPI
        WAIT_EQ IPI_COUNT(2), 1, 1000, 0x18
        SEND_IPI 3, V_IPI
        WAIT_EQ IPI_COUNT(3), 1, 1000, 0x19
        PUTS "smp: fixed ipi to each ap by physical id ok", 10

        ; -- logical, flat: APs 1-3 are LDR bits 1-3
        SEND_IPI 0x0e, ICR_LOGICAL | V_IPI
        WAIT_EQ ipi_total, 8, 1000, 0x1a
        EXPECT_EQ dword [IPI_COUNT(1)], 2, 0x1b
        EXPECT_EQ dword [IPI_COUNT(2)], 2, 0x1c
        EXPECT_EQ dword [IPI_COUNT(3)], 2, 0x1d
        PUTS "smp: logical destination 0x0e reaches aps 1-3 ok", 10

        ; -- lowest priority among APs 1-3: exactly one takes it
        SEND_IPI 0x0e, ICR_LOGICAL | ICR_LOWPRI | V_IPI
        WAIT_EQ ipi_total, 9, 1000, 0x1e
        DELAY_MS 20
        EXPECT_EQ dword [ipi_total], 9, 0x1f
        EXPECT_EQ dword [IPI_COUNT(0)], 2, 0x20
        PUTS "smp: lowest priority to 0x0e delivered once ok", 10

        ; -- shorthands
        SEND_IPI 0, ICR_OTHERS | V_IPI
        WAIT_EQ ipi_total, 12, 1000, 0x21
        STI_WINDOW
        EXPECT_EQ dword [IPI_COUNT(0)], 2, 0x22
        SEND_IPI 0, ICR_ALL | V_IPI
        STI_WINDOW
        WAIT_EQ ipi_total, 16, 1000, 0x23
        EXPECT_EQ dword [IPI_COUNT(0)], 3, 0x24
        SEND_IPI 0xff, V_IPI            ; physical broadcast, self included
        STI_WINDOW
        WAIT_EQ ipi_total, 20, 1000, 0x25
        EXPECT_EQ dword [IPI_COUNT(0)], 4, 0x26
        DELAY_MS 20
        EXPECT_EQ dword [ipi_total], 20, 0x27
        PUTS "smp: all-excluding-self, all-including-self, broadcast 0xff ok", 10

        ; -- NMI: to AP 2, and to self with IF=0
        SEND_IPI 2, ICR_NMI
        WAIT_EQ NMI_COUNT(2), 1, 1000, 0x28
        SEND_IPI 0, ICR_NMI
        WAIT_EQ NMI_COUNT(0), 1, 1000, 0x29
        EXPECT_EQ dword [NMI_COUNT(1)], 0, 0x2a
        EXPECT_EQ dword [NMI_COUNT(3)], 0, 0x2b
        SEND_IPI 0, ICR_OTHERS | ICR_NMI
        WAIT_EQ NMI_COUNT(1), 1, 1000, 0x31
        WAIT_EQ NMI_COUNT(2), 2, 1000, 0x32
        WAIT_EQ NMI_COUNT(3), 1, 1000, 0x33
        EXPECT_EQ dword [NMI_COUNT(0)], 1, 0x34
        PUTS "smp: nmi to ap 2, to self with if=0, to all excluding self ok", 10

        ; -- round trips to halted APs: PING -> AP, PONG -> BSP
        xor esi, esi
.round:
        mov eax, esi                    ; APs 1, 2, 3 in turn
        xor edx, edx
        mov ecx, 3
        div ecx
        lea eax, [edx + 1]
        shl eax, 24
        mov [LAPIC_ICR_HI], eax
        mov eax, V_PING
        call icr_send
        lea edi, [esi + 1]
        sti
        WAIT_EQ pong_count, edi, 1000, 0x2c
        cli
        inc esi
        cmp esi, ROUNDS
        jb .round
        PUTS "smp: 200 ping/pong round trips to halted aps ok", 10

        ; -- an INIT level de-assert (the old MP-spec sequence) does nothing
        SEND_IPI 0, ICR_OTHERS | ICR_INIT | 0x8000    ; level, not asserted
        mov ebx, [ipi_total]
        add ebx, 3
        SEND_IPI 0, ICR_OTHERS | V_IPI
        WAIT_EQ ipi_total, ebx, 1000, 0x35
        EXPECT_EQ dword [ap_started], 3, 0x36
        PUTS "smp: init level de-assert ignored, aps keep running ok", 10

        ; -- INIT + SIPI restart AP 3, which then answers again
        mov ebx, [IPI_COUNT(3)]
        inc ebx
        SEND_IPI 3, ICR_INIT | ICR_ASSERT
        SEND_IPI 3, ICR_SIPI | ICR_ASSERT | (AP_TRAMPOLINE >> 12)
        WAIT_EQ ap_started, 4, 3000, 0x2d
        mov edi, [ipi_total]
        inc edi
        SEND_IPI 3, V_IPI
        WAIT_EQ ipi_total, edi, 1000, 0x2e
        EXPECT_EQ dword [IPI_COUNT(3)], ebx, 0x2f
        PUTS "smp: init + sipi restarted ap 3 ok", 10

        ; -- logical cluster model: everyone to DFR 0x0fffffff; APs in
        ; cluster 1 with member bit id-1, the BSP in cluster 2 member bit 0
        mov dword [LAPIC_DFR], 0x0fffffff
        mov dword [LAPIC_LDR], 0x21000000
        mov ebx, [ipi_total]
        add ebx, 3
        SEND_IPI 0, ICR_OTHERS | V_CLUSTER
        WAIT_EQ ipi_total, ebx, 1000, 0x37
        mov esi, [IPI_COUNT(1)]
        mov edi, [IPI_COUNT(3)]
        SEND_IPI 0x13, ICR_LOGICAL | V_IPI  ; cluster 1, members 0-1: APs 1, 2
        add ebx, 2
        WAIT_EQ ipi_total, ebx, 1000, 0x38
        inc esi
        EXPECT_EQ dword [IPI_COUNT(1)], esi, 0x39
        EXPECT_EQ dword [IPI_COUNT(3)], edi, 0x3a
        SEND_IPI 0x21, ICR_LOGICAL | V_IPI  ; cluster 2, member 0: the BSP
        STI_WINDOW
        inc ebx
        WAIT_EQ ipi_total, ebx, 1000, 0x3b
        SEND_IPI 0x14, ICR_LOGICAL | V_IPI  ; cluster 1, member 2: AP 3
        inc ebx
        WAIT_EQ ipi_total, ebx, 1000, 0x3c
        inc edi
        EXPECT_EQ dword [IPI_COUNT(3)], edi, 0x3d
        DELAY_MS 20
        EXPECT_EQ dword [ipi_total], ebx, 0x3e
        PUTS "smp: logical cluster destinations ok", 10

        EXPECT_EQ dword [spurious_count], 0, 0x30
        PUTS "smp: done", 10
        EXIT 0

; APs: sleep, taking interrupts
ap_main:
        sti
        hlt
        jmp ap_main

ipi_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [ipi_count + eax * 4]
        lock inc dword [ipi_total]
        LAPIC_EOI_W
        pop eax
        iret

ping_handler:                           ; on an AP: answer the BSP
        push eax
        mov dword [LAPIC_ICR_HI], 0
        mov eax, V_PONG
        call icr_send
        LAPIC_EOI_W
        pop eax
        iret

cluster_handler:                        ; on an AP: cluster 1, member bit id-1
        push eax
        push ecx
        mov dword [LAPIC_DFR], 0x0fffffff
        mov ecx, [LAPIC_ID]
        shr ecx, 24
        dec ecx
        mov eax, 1
        shl eax, cl
        or eax, 0x10
        shl eax, 24
        mov [LAPIC_LDR], eax
        lock inc dword [ipi_total]
        LAPIC_EOI_W
        pop ecx
        pop eax
        iret

pong_handler:
        lock inc dword [pong_count]
        LAPIC_EOI_W
        iret

nmi_handler:
        push eax
        mov eax, [LAPIC_ID]
        shr eax, 24
        lock inc dword [nmi_count + eax * 4]
        pop eax
        iret

        AP_TRAMPOLINE_CODE
        LIB32
        APIC_LIB32
        GDT_COMMON
        GDT_END
        APIC_DATA
ipi_count:      times MAX_CPUS dd 0
nmi_count:      times MAX_CPUS dd 0
ipi_total:      dd 0
pong_count:     dd 0
image_end:
bss_end:
