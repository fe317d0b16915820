// Exit decoding for the VMX backend: exit qualifications (I/O, CR
// access, EPT violation), INS/OUTS instruction information, IDT-vectoring
// re-injection, NMI unblocking by a faulting IRET, CR0 writes and EPT
// entry construction.  Qualification layouts per SDM vol. 3C 28.2.1.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "vmx_sim_vmcs.h"

namespace {

TEST(VmxExitIo, OutDxAl) {
  vmx_io_exit io;
  // OUT DX, AL with DX = 0x3f8: size 0 (1 byte), out, port in 31:16.
  vmx_decode_io(0x03f80000ULL, 0, true, &io);
  EXPECT_EQ(io.port, 0x3f8);
  EXPECT_EQ(io.size, 1);
  EXPECT_FALSE(io.in);
  EXPECT_FALSE(io.string);
}

TEST(VmxExitIo, InEaxImmediate) {
  vmx_io_exit io;
  vmx_decode_io((0x71ULL << 16) | IO_QUAL_IMMEDIATE | IO_QUAL_IN | 3, 0, true, &io);
  EXPECT_EQ(io.port, 0x71);
  EXPECT_EQ(io.size, 4);
  EXPECT_TRUE(io.in);
}

TEST(VmxExitIo, RepOutswWithSegmentAndAddressSize) {
  vmx_io_exit io;
  // REP OUTSW, 32-bit addressing, FS override: info 9:7 = 1, 17:15 = 4.
  const u32 info = (1u << 7) | (4u << 15);
  vmx_decode_io((0xe9ULL << 16) | IO_QUAL_REP | IO_QUAL_STRING | 1, info, true, &io);
  EXPECT_TRUE(io.string);
  EXPECT_TRUE(io.rep);
  EXPECT_EQ(io.size, 2);
  EXPECT_EQ(io.addr_size, 4);
  EXPECT_EQ(io.seg, VMX_SEG_FS);
  // Without the INS/OUTS information (IA32_VMX_BASIC[54] = 0): unknown.
  vmx_decode_io((0xe9ULL << 16) | IO_QUAL_STRING | 1, info, false, &io);
  EXPECT_EQ(io.addr_size, 0);
  EXPECT_EQ(io.seg, -1);
}

TEST(VmxExitIo, InsbIn64BitCodeHasNoSegment) {
  vmx_io_exit io;
  vmx_decode_io((0x60ULL << 16) | IO_QUAL_STRING | IO_QUAL_IN, 2u << 7, true, &io);
  EXPECT_EQ(io.addr_size, 8);
  EXPECT_EQ(io.seg, -1) << "INS always stores through ES";
}

TEST(VmxExitCr, MovToCr4FromRcx) {
  vmx_cr_exit cr;
  vmx_decode_cr(4 | (CR_QUAL_TYPE_MOV_TO_CR << 4) | (1 << 8), &cr);
  EXPECT_EQ(cr.cr, 4);
  EXPECT_EQ(cr.type, CR_QUAL_TYPE_MOV_TO_CR);
  EXPECT_EQ(cr.gpr, 1);
}

TEST(VmxExitCr, MovFromCr8ToR9AndLmsw) {
  vmx_cr_exit cr;
  vmx_decode_cr(8 | (CR_QUAL_TYPE_MOV_FROM_CR << 4) | (9 << 8), &cr);
  EXPECT_EQ(cr.cr, 8);
  EXPECT_EQ(cr.type, CR_QUAL_TYPE_MOV_FROM_CR);
  EXPECT_EQ(cr.gpr, 9);
  vmx_decode_cr(0 | (CR_QUAL_TYPE_LMSW << 4) | CR_QUAL_LMSW_MEMORY | (0x000bULL << 16), &cr);
  EXPECT_EQ(cr.type, CR_QUAL_TYPE_LMSW);
  EXPECT_TRUE(cr.lmsw_memory);
  EXPECT_EQ(cr.lmsw_data, 0xb);
}

TEST(VmxExitEpt, ViolationQualification) {
  vmx_ept_exit e;
  vmx_decode_ept_violation(EPT_QUAL_WRITE | EPT_QUAL_GLA_VALID, &e);
  EXPECT_TRUE(e.write);
  EXPECT_FALSE(e.read);
  EXPECT_FALSE(e.present);
  vmx_decode_ept_violation(EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE, &e);
  EXPECT_TRUE(e.present) << "write to a read-only page";
  vmx_decode_ept_violation(EPT_QUAL_FETCH | EPT_QUAL_READ | EPT_QUAL_NMI_UNBLOCKED_IRET, &e);
  EXPECT_TRUE(e.fetch);
  EXPECT_TRUE(e.nmi_unblocked);
}

TEST(VmxReinject, HardwareEventsAreDeliveredAgain) {
  // #PF with error code interrupted by an EPT violation on the IDT.
  const u32 pf = 14 | INTR_TYPE_HW_EXCEPTION | INTR_INFO_HAS_ERROR | INTR_INFO_VALID;
  EXPECT_EQ(vmx_reinject_info(pf), pf);
  const u32 irq = 0x30 | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
  EXPECT_EQ(vmx_reinject_info(irq), irq);
  const u32 nmi = 2 | INTR_TYPE_NMI | INTR_INFO_VALID;
  EXPECT_EQ(vmx_reinject_info(nmi | (1u << 12)), nmi) << "bit 12 is undefined";
  // The result is valid VM-entry information in the common encoding.
  EXPECT_EQ(vmx_reinject_info(irq) & 0x7ffff000u, 0u);
}

TEST(VmxReinject, SoftwareEventsRunAgainInstead) {
  EXPECT_EQ(vmx_reinject_info(0x80 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID), 0u);
  EXPECT_EQ(vmx_reinject_info(3 | INTR_TYPE_SOFT_EXCEPTION | INTR_INFO_VALID), 0u);
  EXPECT_EQ(vmx_reinject_info(1 | INTR_TYPE_PRIV_SOFT_EXCEPTION | INTR_INFO_VALID), 0u);
  EXPECT_EQ(vmx_reinject_info(14 | INTR_TYPE_HW_EXCEPTION), 0u) << "not valid";
}

TEST(VmxReinject, FaultingIretMustReblockNmis) {
  const u32 pf_after_iret = 14 | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID |
                            INTR_INFO_NMI_UNBLOCKED_IRET;
  EXPECT_TRUE(vmx_exit_refaults_iret(EXIT_REASON_EXCEPTION_NMI, pf_after_iret, 0, 0));
  EXPECT_FALSE(vmx_exit_refaults_iret(EXIT_REASON_EXCEPTION_NMI,
                                      8 | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID |
                                          INTR_INFO_NMI_UNBLOCKED_IRET,
                                      0, 0))
      << "undefined for #DF";
  EXPECT_TRUE(vmx_exit_refaults_iret(EXIT_REASON_EPT_VIOLATION, 0,
                                     EPT_QUAL_READ | EPT_QUAL_NMI_UNBLOCKED_IRET, 0));
  EXPECT_FALSE(vmx_exit_refaults_iret(EXIT_REASON_EPT_VIOLATION, 0,
                                      EPT_QUAL_NMI_UNBLOCKED_IRET,
                                      0x20 | INTR_INFO_VALID))
      << "undefined while an event was being delivered";
  EXPECT_FALSE(vmx_exit_refaults_iret(EXIT_REASON_EPT_VIOLATION, 0, EPT_QUAL_READ, 0));
}

TEST(VmxEvents, CommonEncodingMapsOntoEntryInformation) {
  // x86.h: vector 7:0, type 10:8, error 11, valid 31 -- the VMX layout.
  u32 len = 7;
  EXPECT_EQ(vmx_entry_info_from_event(0, true, &len), 0u);
  EXPECT_EQ(len, 0u);
  const u32 ud = 6 | (3u << 8) | (1u << 31);
  EXPECT_EQ(vmx_entry_info_from_event(ud, true, &len),
            6 | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID);
  const u32 nmi = 2 | (2u << 8) | (1u << 31);
  EXPECT_EQ(vmx_entry_info_from_event(nmi, false, &len), 2 | INTR_TYPE_NMI | INTR_INFO_VALID);
}

constexpr u64 kPe = 1, kCd = 1ULL << 30, kNw = 1ULL << 29, kPg = 1ULL << 31;
constexpr u64 kPae = 1 << 5, kLme = 1 << 8, kLma = 1 << 10;

TEST(VmxCr0, WriteRules) {
  u64 efer = 0;
  EXPECT_EQ(vmx_cr0_write(kPe, kPg, 0, false, &efer), -1) << "PG without PE";
  EXPECT_EQ(vmx_cr0_write(kPe, kPe | kNw, 0, false, &efer), -1) << "NW without CD";
  EXPECT_EQ(vmx_cr0_write(kPe, kPe | (1ULL << 32), 0, false, &efer), -1);
  EXPECT_EQ(vmx_cr0_write(kPe | kCd, kPe | kCd | kNw, 0, false, &efer), 0);
}

TEST(VmxCr0, EnteringAndLeavingLongMode) {
  u64 efer = kLme;
  EXPECT_EQ(vmx_cr0_write(kPe, kPe | kPg, 0, false, &efer), -1) << "no PAE";
  EXPECT_EQ(vmx_cr0_write(kPe, kPe | kPg, kPae, false, &efer), 0);
  EXPECT_EQ(efer, kLme | kLma);
  EXPECT_EQ(vmx_cr0_write(kPe | kPg, kPe, kPae, true, &efer), -1)
      << "paging off from 64-bit code";
  EXPECT_EQ(vmx_cr0_write(kPe | kPg, kPe, kPae, false, &efer), 0);
  EXPECT_EQ(efer, kLme);
}

TEST(VmxCr0, GuestSeesItsOwnValueWhileFixedBitsAreForced) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0);
  const u64 guest = 0x60000010;  // CD NW ET, NE clear
  const u64 hw = vmx_cr0_hw(&cfg, guest);
  EXPECT_EQ(hw, guest | 0x20);
  EXPECT_EQ(vmx_cr_guest_view(hw, guest, cfg.cr0_host_owned), guest);
  // A guest-owned bit the CPU changed (TS by the guest) shows through.
  EXPECT_EQ(vmx_cr_guest_view(hw | 8, guest, cfg.cr0_host_owned), guest | 8);
  EXPECT_EQ(vmx_cr4_hw(&cfg, kPae), kPae | 0x2000);
}

TEST(VmxEpt, EntriesAndPointer) {
  const u64 leaf_ro = vmx_ept_leaf(0x1234000, false);
  EXPECT_EQ(leaf_ro, 0x1234000 | EPT_READ | EPT_EXEC | (6ULL << 3));
  EXPECT_EQ(vmx_ept_leaf(0x1234000, true), leaf_ro | EPT_WRITE);
  EXPECT_EQ(vmx_ept_leaf(0x1234fff, true) & EPT_ADDR_MASK, 0x1234000u);
  const u64 table = vmx_ept_table_entry(0x5000);
  EXPECT_EQ(table, 0x5000 | 7u);
  EXPECT_EQ(table & 0xf8u, 0u) << "bits 7:3 of a non-leaf entry are reserved";
  EXPECT_FALSE(leaf_ro & EPT_IGNORE_PAT);
  // Write without read would be an EPT misconfiguration.
  for (bool w : {false, true}) {
    const u64 e = vmx_ept_leaf(0x1000, w);
    EXPECT_TRUE(!(e & EPT_WRITE) || (e & EPT_READ));
  }
  EXPECT_EQ(vmx_eptp(0xabc000, 4), 0xabc000 | 6u | (3u << 3));
}

}  // namespace

// Real mode without unrestricted guest: what a #GP in vm86 was about.
namespace {

vmx_rmode_insn RmDecode(std::initializer_list<u8> bytes) {
  std::vector<u8> v(bytes);
  vmx_rmode_insn d;
  vmx_rmode_decode(v.data(), static_cast<int>(v.size()), &d);
  return d;
}

TEST(VmxRmodeDecode, PortIo) {
  auto d = RmDecode({0xe6, 0x80});  // out 0x80, al
  EXPECT_EQ(d.kind, VMX_RM_IO);
  EXPECT_FALSE(d.in);
  EXPECT_TRUE(d.port_imm);
  EXPECT_EQ(d.port, 0x80);
  EXPECT_EQ(d.size, 1);
  EXPECT_EQ(d.len, 2);
  d = RmDecode({0x66, 0xed});  // in eax, dx
  EXPECT_EQ(d.kind, VMX_RM_IO);
  EXPECT_TRUE(d.in);
  EXPECT_FALSE(d.port_imm);
  EXPECT_EQ(d.size, 4);
  EXPECT_EQ(d.len, 2);
  d = RmDecode({0xef});  // out dx, ax
  EXPECT_FALSE(d.in);
  EXPECT_EQ(d.size, 2);
  EXPECT_EQ(d.len, 1);
}

TEST(VmxRmodeDecode, StringIoTakesPrefixes) {
  auto d = RmDecode({0xf3, 0x26, 0x67, 0x6f});  // rep outsw es:[esi]
  EXPECT_EQ(d.kind, VMX_RM_STRING_IO);
  EXPECT_FALSE(d.in);
  EXPECT_TRUE(d.rep);
  EXPECT_TRUE(d.a32);
  EXPECT_EQ(d.size, 2);
  EXPECT_EQ(d.seg, VMX_SEG_ES);
  EXPECT_EQ(d.len, 4);
  d = RmDecode({0x6c});  // insb: ES:DI, no override possible
  EXPECT_TRUE(d.in);
  EXPECT_EQ(d.seg, -1);
  d = RmDecode({0x6e});  // outsb: DS by default
  EXPECT_EQ(d.seg, VMX_SEG_DS);
}

TEST(VmxRmodeDecode, InterruptsFlagsAndPrivileged) {
  auto d = RmDecode({0xcd, 0x42});
  EXPECT_EQ(d.kind, VMX_RM_INT);
  EXPECT_EQ(d.vector, 0x42);
  EXPECT_EQ(d.len, 2);
  EXPECT_EQ(RmDecode({0xcc}).vector, 3);
  EXPECT_EQ(RmDecode({0xce}).vector, 4);
  for (u8 op : {0xfa, 0xfb, 0x9c, 0x9d, 0xcf}) {
    d = RmDecode({0x66, op});
    EXPECT_EQ(d.kind, VMX_RM_FLAGS) << int(op);
    EXPECT_TRUE(d.o32);
    EXPECT_EQ(d.opcode, op);
    EXPECT_EQ(d.len, 2);
  }
  EXPECT_EQ(RmDecode({0xf4}).kind, VMX_RM_HLT);
  EXPECT_EQ(RmDecode({0x0f, 0x30}).kind, VMX_RM_WRMSR);
  EXPECT_EQ(RmDecode({0x0f, 0x32}).kind, VMX_RM_RDMSR);
  d = RmDecode({0x0f, 0x09});
  EXPECT_EQ(d.kind, VMX_RM_NOP);
  EXPECT_EQ(d.len, 2);
}

// The rest goes to the emulator: MOV CR, LGDT, unreal-mode accesses, and
// instructions cut short by a hole in guest memory.
TEST(VmxRmodeDecode, EverythingElseIsEmulated) {
  EXPECT_EQ(RmDecode({0x0f, 0x22, 0xc0}).kind, VMX_RM_EMULATE);        // mov cr0, eax
  EXPECT_EQ(RmDecode({0x66, 0x2e, 0x0f, 0x01, 0x16}).kind, VMX_RM_EMULATE);  // lgdt
  EXPECT_EQ(RmDecode({0x67, 0x65, 0x8b, 0x06}).kind, VMX_RM_EMULATE);  // mov ax, gs:[esi]
  EXPECT_EQ(RmDecode({0xcd}).kind, VMX_RM_EMULATE);                    // INT n cut short
  EXPECT_EQ(RmDecode({0xe4}).kind, VMX_RM_EMULATE);
  EXPECT_EQ(RmDecode({0x66, 0x66}).kind, VMX_RM_EMULATE);
  EXPECT_EQ(RmDecode({}).kind, VMX_RM_EMULATE);
}

}  // namespace
