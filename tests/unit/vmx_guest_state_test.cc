// The guest-state area: the state the backend writes for real, protected
// and long mode goes through a simulated VMCS and passes the SDM 27.3
// checks we implement; each broken rule is caught by its own check.
#include <utility>
#include <gtest/gtest.h>

#include "vmx_sim_vmcs.h"

namespace {

constexpr u64 kCr0Pe = 1, kCr0Ne = 1 << 5, kCr0Et = 1 << 4, kCr0Pg = 1ULL << 31;
constexpr u64 kCr4Pae = 1 << 5;
constexpr u64 kEferLme = 1 << 8, kEferLma = 1 << 10;

class VmxGuestState : public ::testing::Test {
 protected:
  void SetUp() override {
    caps_ = vmx_samples::SkylakeLike();
    const char* why = nullptr;
    ASSERT_EQ(vmx_derive_config(&caps_, &cfg_, &why), 0);
    c_.pin = cfg_.pin;
    c_.proc = cfg_.proc;
    c_.proc2 = cfg_.proc2;
    c_.exit = cfg_.exit;
    c_.entry = cfg_.entry;
    c_.cr0_mask = cfg_.cr0_host_owned;
    c_.cr4_mask = ~0ULL;
    c_.eptp = vmx_eptp(0x5000, 4);
    c_.vpid = 1;
    vmx_reset_guest_state(&g_, &cfg_);
  }

  // Program the simulated VMCS as vcpu_run does, then VMLAUNCH it.
  vmx_check Launch() {
    SimVmcs vmcs;
    vmcs_accessor a = vmcs.Accessor();
    vmx_store_entry_controls(&a, &c_);
    vmx_store_guest_state(&a, &g_, true);
    EXPECT_TRUE(vmcs.bad_writes().empty()) << "wrote a read-only field";
    return vmcs.Launch(caps_);
  }

  void Seg(int i, u16 sel, u64 base, u32 limit, u32 ar) {
    g_.seg[i] = vmx_segment{base, limit, ar, sel};
  }

  // Flat 32-bit protected mode, CPL 0 (as a boot loader sets it up).
  void ProtectedMode() {
    g_.cr0_shadow = kCr0Pe | kCr0Et;
    g_.cr0 = vmx_cr0_hw(&cfg_, g_.cr0_shadow);
    Seg(VMX_SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
    for (int i : {VMX_SEG_DS, VMX_SEG_ES, VMX_SEG_SS, VMX_SEG_FS, VMX_SEG_GS})
      Seg(i, 0x10, 0, 0xffffffff, 0xc093);
    Seg(VMX_SEG_TR, 0x18, 0x1000, 0x67, 0x8b);
    Seg(VMX_SEG_LDTR, 0, 0, 0, VMX_AR_UNUSABLE);
  }

  // 64-bit mode with 4-level paging.
  void LongMode() {
    ProtectedMode();
    g_.cr0_shadow |= kCr0Pg;
    g_.cr0 = vmx_cr0_hw(&cfg_, g_.cr0_shadow);
    g_.cr4_shadow = kCr4Pae;
    g_.cr4 = vmx_cr4_hw(&cfg_, g_.cr4_shadow);
    g_.cr3 = 0x9000;
    g_.efer = kEferLme | kEferLma;
    c_.entry |= ENTRY_IA32E_MODE_GUEST;
    Seg(VMX_SEG_CS, 0x08, 0, 0xffffffff, 0xa09b);  // L=1, D=0
    Seg(VMX_SEG_DS, 0, 0, 0, VMX_AR_UNUSABLE);     // null in 64-bit code
    g_.rip = 0xffffffff81000000ULL;
  }

  vmx_caps caps_;
  vmx_config cfg_;
  vmx_entry_controls c_{};
  vmx_guest_state g_;
};

TEST_F(VmxGuestState, ResetStateIsValidRealModeWithUnrestrictedGuest) {
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  // The guest sees its CR0 while the CPU holds NE.
  EXPECT_TRUE(g_.cr0 & kCr0Ne);
  EXPECT_EQ(vmx_cr_guest_view(g_.cr0, g_.cr0_shadow, c_.cr0_mask), 0x60000010u);
  EXPECT_EQ(g_.cr4, 0x2000u);
  EXPECT_EQ(vmx_cr_guest_view(g_.cr4, g_.cr4_shadow, c_.cr4_mask), 0u);
}

// Found under Bochs: QEMU's KVM_SET_SREGS (TR 0x8b busy TSS, LDTR 0x82)
// landed in each other's VMCS fields, and entry failed ("LDTR type 11").
TEST_F(VmxGuestState, CommonSegmentNumbersMapToVmcsOrder) {
  EXPECT_EQ(vmx_seg_index(0), VMX_SEG_ES);
  EXPECT_EQ(vmx_seg_index(1), VMX_SEG_CS);
  EXPECT_EQ(vmx_seg_index(2), VMX_SEG_SS);
  EXPECT_EQ(vmx_seg_index(3), VMX_SEG_DS);
  EXPECT_EQ(vmx_seg_index(4), VMX_SEG_FS);
  EXPECT_EQ(vmx_seg_index(5), VMX_SEG_GS);
  EXPECT_EQ(vmx_seg_index(VMX_COMMON_SREG_TR), VMX_SEG_TR);
  EXPECT_EQ(vmx_seg_index(VMX_COMMON_SREG_LDTR), VMX_SEG_LDTR);
  // QEMU's reset state, stored through the common numbering, enters.
  g_.seg[vmx_seg_index(VMX_COMMON_SREG_TR)] = {0, 0xffff, 0x8b, 0};
  g_.seg[vmx_seg_index(VMX_COMMON_SREG_LDTR)] = {0, 0xffff, 0x82, 0};
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  // Swapped, as before the fix, the LDTR rule rejects it.
  std::swap(g_.seg[VMX_SEG_TR], g_.seg[VMX_SEG_LDTR]);
  EXPECT_NE(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, RealModeNeedsUnrestrictedGuest) {
  c_.proc2 &= ~PROC2_UNRESTRICTED_GUEST;
  EXPECT_EQ(Launch(), VMX_CHECK_CR0_FIXED);
}

TEST_F(VmxGuestState, RealModeSsDplMustBeZero) {
  g_.seg[VMX_SEG_SS].ar |= 3 << VMX_AR_DPL_SHIFT;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_CS_DPL);  // CS.DPL must equal SS.DPL first
  g_.seg[VMX_SEG_CS].ar |= 3 << VMX_AR_DPL_SHIFT;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_SS_DPL);
}

TEST_F(VmxGuestState, ProtectedModeFlat) {
  ProtectedMode();
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, LongMode) {
  LongMode();
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, LongModeRules) {
  LongMode();
  g_.seg[VMX_SEG_CS].ar |= VMX_AR_DB;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_CS_DB);
  LongMode();
  g_.cr4 &= ~kCr4Pae;
  EXPECT_EQ(Launch(), VMX_CHECK_IA32E_PAGING);
  LongMode();
  g_.efer &= ~kEferLma;
  EXPECT_EQ(Launch(), VMX_CHECK_EFER);
  LongMode();
  g_.rip = 0x0000800000000000ULL;
  EXPECT_EQ(Launch(), VMX_CHECK_RIP);
  LongMode();
  g_.seg[VMX_SEG_TR].ar = 0x83;  // 16-bit busy TSS
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_TR);
  LongMode();
  g_.cr3 = 1ULL << 39;
  EXPECT_EQ(Launch(), VMX_CHECK_CR3_WIDTH);
}

TEST_F(VmxGuestState, CompatibilityModeRipIs32Bit) {
  LongMode();
  g_.seg[VMX_SEG_CS].ar = 0xc09b;  // L=0
  g_.rip = 0x100000000ULL;
  EXPECT_EQ(Launch(), VMX_CHECK_RIP);
  g_.rip = 0x1000;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, SegmentRules) {
  ProtectedMode();
  g_.seg[VMX_SEG_DS].ar &= ~1u;  // not accessed
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_DATA_TYPE);
  ProtectedMode();
  g_.seg[VMX_SEG_SS].ar = (g_.seg[VMX_SEG_SS].ar & ~0xfu) | 0xb;  // code
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_SS_TYPE);
  ProtectedMode();
  g_.seg[VMX_SEG_ES].limit = 0xffffe000;  // G=1 needs 0xfff in 11:0
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_G);
  ProtectedMode();
  g_.seg[VMX_SEG_ES].ar &= ~VMX_AR_G;  // a limit above 1 MiB needs G=1
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_G);
  ProtectedMode();
  g_.seg[VMX_SEG_FS].ar &= ~VMX_AR_P;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_P);
  ProtectedMode();
  g_.seg[VMX_SEG_TR].ar |= VMX_AR_UNUSABLE;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_TR);
  ProtectedMode();
  g_.seg[VMX_SEG_LDTR].ar = 0x83;  // usable, not an LDT
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_LDTR);
  ProtectedMode();
  g_.seg[VMX_SEG_CS].base = 1ULL << 32;
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_BASE);
}

TEST_F(VmxGuestState, UnusableDataSegmentsAreNotChecked) {
  ProtectedMode();
  Seg(VMX_SEG_GS, 0, 1ULL << 40, 0x12345, VMX_AR_UNUSABLE | 0x3);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, AccessRightsPackAndUnpack) {
  vmx_seg_attrs a{0xb, 1, 3, 1, 1, 1, 0, 1, 0};
  const u32 ar = vmx_ar_pack(&a);
  EXPECT_EQ(ar, 0xb | VMX_AR_S | (3u << 5) | VMX_AR_P | VMX_AR_AVL | VMX_AR_L |
                    VMX_AR_G);
  vmx_seg_attrs b{};
  vmx_ar_unpack(ar, &b);
  EXPECT_EQ(b.type, 0xb);
  EXPECT_EQ(b.dpl, 3);
  EXPECT_EQ(b.l, 1);
  EXPECT_EQ(b.db, 0);
  EXPECT_EQ(b.unusable, 0);
  a.unusable = 1;
  EXPECT_EQ(vmx_ar_pack(&a), VMX_AR_UNUSABLE);
}

TEST_F(VmxGuestState, RflagsAndInterruptibility) {
  g_.rflags |= 1ULL << 3;  // reserved
  EXPECT_EQ(Launch(), VMX_CHECK_RFLAGS_RESERVED);
  SetUp();
  g_.rflags |= 1ULL << 17;  // virtual-8086 mode
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_V86);
  for (int i = VMX_SEG_ES; i <= VMX_SEG_GS; i++)
    Seg(i, 0x1234, 0x12340, 0xffff, 0xf3);
  EXPECT_EQ(Launch(), VMX_CHECK_RFLAGS_VM) << "VM needs CR0.PE";
  g_.cr0_shadow |= kCr0Pe;
  g_.cr0 = vmx_cr0_hw(&cfg_, g_.cr0_shadow);
  EXPECT_EQ(Launch(), VMX_CHECK_OK) << "virtual-8086 mode proper";
  SetUp();
  g_.interruptibility = INTERRUPTIBILITY_STI;  // IF = 0
  EXPECT_EQ(Launch(), VMX_CHECK_INTERRUPTIBILITY);
  g_.rflags |= 1ULL << 9;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  c_.entry_intr_info = 0x20 | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
  EXPECT_EQ(Launch(), VMX_CHECK_INTERRUPTIBILITY);
  g_.interruptibility = 0;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  g_.rflags &= ~(1ULL << 9);
  EXPECT_EQ(Launch(), VMX_CHECK_RFLAGS_IF);
}

TEST_F(VmxGuestState, NmiInjectionNeedsVirtualNmiBlockingClear) {
  c_.entry_intr_info = 2 | INTR_TYPE_NMI | INTR_INFO_VALID;
  g_.interruptibility = INTERRUPTIBILITY_NMI;
  EXPECT_EQ(Launch(), VMX_CHECK_INTERRUPTIBILITY);
  g_.interruptibility = 0;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  c_.entry_intr_info = 3 | INTR_TYPE_NMI | INTR_INFO_VALID;  // NMI is vector 2
  EXPECT_EQ(Launch(), VMX_CHECK_ENTRY_INTR_INFO);
}

TEST_F(VmxGuestState, ExceptionErrorCodesFollowTheMode) {
  u32 len = 0;
  const u32 gp = 13 | (3u << 8) | (1u << 11) | (1u << 31);  // common encoding
  // Real mode: #GP pushes no error code; the entry check refuses one.
  c_.entry_intr_info = gp;
  EXPECT_EQ(Launch(), VMX_CHECK_ENTRY_ERROR_CODE);
  c_.entry_intr_info = vmx_entry_info_from_event(gp, false, &len);
  EXPECT_EQ(c_.entry_intr_info & INTR_INFO_HAS_ERROR, 0u);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  // Protected mode: it needs one.
  ProtectedMode();
  c_.entry_intr_info = vmx_entry_info_from_event(gp, true, &len);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  c_.entry_intr_info &= ~INTR_INFO_HAS_ERROR;
  EXPECT_EQ(Launch(), VMX_CHECK_ENTRY_ERROR_CODE);
  // #UD has none.
  c_.entry_intr_info = 6 | INTR_TYPE_HW_EXCEPTION | INTR_INFO_HAS_ERROR | INTR_INFO_VALID;
  EXPECT_EQ(Launch(), VMX_CHECK_ENTRY_ERROR_CODE);
}

TEST_F(VmxGuestState, SoftwareInterruptsNeedAnInstructionLength) {
  ProtectedMode();
  c_.entry_intr_info = 0x80 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID;
  c_.entry_insn_len = 0;
  EXPECT_EQ(Launch(), VMX_CHECK_ENTRY_INSN_LEN);
  u32 len = 0;
  c_.entry_intr_info = vmx_entry_info_from_event(0x80 | (4u << 8) | (1u << 31), true, &len);
  c_.entry_insn_len = len;
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, HltActivityNeedsCpl0AndPendingDebugMatchesTf) {
  ProtectedMode();
  g_.activity = ACTIVITY_HLT;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  g_.rflags |= 1ULL << 8;  // TF without BS pending
  EXPECT_EQ(Launch(), VMX_CHECK_PENDING_DBG);
  g_.pending_dbg = 1ULL << 14;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  g_.seg[VMX_SEG_SS].ar |= 3 << VMX_AR_DPL_SHIFT;
  g_.seg[VMX_SEG_CS].ar |= 3 << VMX_AR_DPL_SHIFT;
  g_.seg[VMX_SEG_SS].selector |= 3;
  g_.seg[VMX_SEG_CS].selector |= 3;
  EXPECT_EQ(Launch(), VMX_CHECK_ACTIVITY);
}

TEST_F(VmxGuestState, PaePdptesAreCheckedUnderEpt) {
  ProtectedMode();
  g_.cr0_shadow |= kCr0Pg;
  g_.cr0 = vmx_cr0_hw(&cfg_, g_.cr0_shadow);
  g_.cr4_shadow = kCr4Pae;
  g_.cr4 = vmx_cr4_hw(&cfg_, g_.cr4_shadow);
  g_.pdpte[0] = 0x7000 | 1;
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  g_.pdpte[2] = 0x8000 | 1 | (1 << 1);  // R/W is reserved in a PDPTE
  EXPECT_EQ(Launch(), VMX_CHECK_PDPTE);
  g_.pdpte[2] = 0x8000 | (1 << 1);  // not present: not checked
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxGuestState, LinkPointerMustBeAllOnes) {
  g_.link_pointer = 0;
  EXPECT_EQ(Launch(), VMX_CHECK_LINK_POINTER);
}

TEST(VmxSimVmcs, FieldsKeepOnlyTheirWidth) {
  SimVmcs v;
  v.Write(VMCS_GUEST_CS_SELECTOR, 0x12345678);
  v.Write(VMCS_GUEST_CS_LIMIT, 0x1ffffffffULL);
  v.Write(VMCS_GUEST_CS_BASE, 0xffffffff00000000ULL);
  EXPECT_EQ(v.Read(VMCS_GUEST_CS_SELECTOR), 0x5678u);
  EXPECT_EQ(v.Read(VMCS_GUEST_CS_LIMIT), 0xffffffffu);
  EXPECT_EQ(v.Read(VMCS_GUEST_CS_BASE), 0xffffffff00000000ULL);
  v.Write(VMCS_EXIT_REASON, 1);
  EXPECT_EQ(v.bad_writes().count(VMCS_EXIT_REASON), 1u);
}

TEST(VmxSimVmcs, GuestStateRoundTrips) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0);
  vmx_guest_state g;
  vmx_reset_guest_state(&g, &cfg);
  g.pdpte[3] = 0xabc001;
  g.sysenter_esp = 0xffff888000001000ULL;
  g.interruptibility = INTERRUPTIBILITY_MOV_SS;
  SimVmcs v;
  vmcs_accessor a = v.Accessor();
  vmx_store_guest_state(&a, &g, true);
  vmx_guest_state back;
  memset(&back, 0x5a, sizeof(back));
  back.gdtr_limit = 0;  // padding-free check below compares members
  vmx_load_guest_state(&a, &back, true);
  for (int i = 0; i < VMX_NR_SEGS; i++) {
    EXPECT_EQ(back.seg[i].selector, g.seg[i].selector);
    EXPECT_EQ(back.seg[i].base, g.seg[i].base);
    EXPECT_EQ(back.seg[i].limit, g.seg[i].limit);
    EXPECT_EQ(back.seg[i].ar, g.seg[i].ar);
  }
  EXPECT_EQ(back.cr0, g.cr0);
  EXPECT_EQ(back.cr0_shadow, g.cr0_shadow);
  EXPECT_EQ(back.cr4, g.cr4);
  EXPECT_EQ(back.rip, g.rip);
  EXPECT_EQ(back.rflags, g.rflags);
  EXPECT_EQ(back.pat, g.pat);
  EXPECT_EQ(back.sysenter_esp, g.sysenter_esp);
  EXPECT_EQ(back.interruptibility, g.interruptibility);
  EXPECT_EQ(back.pdpte[3], g.pdpte[3]);
  EXPECT_EQ(back.link_pointer, ~0ULL);
  EXPECT_EQ(back.gdtr_limit, 0xffffu);
}

// Shadow paging (ept=0): the CPU runs the guest on our PAE or long-mode
// shadow tables, so whatever the guest's CR0/CR4/EFER the CPU's have
// paging, PAE, WP and NXE on, and the state still passes entry checks.
class VmxShadowGuestState : public VmxGuestState {
 protected:
  static constexpr u64 kCr0Wp = 1 << 16;
  static constexpr u64 kCr4Pse = 1 << 4, kCr4Smep = 1 << 20, kCr4Pcide = 1 << 17;
  static constexpr u64 kEferNxe = 1 << 11;

  void SetUp() override {
    caps_ = vmx_samples::SkylakeLike();
    const char* why = nullptr;
    ASSERT_EQ(vmx_derive_config_paging(&caps_, &cfg_, false, &why), 0) << why;
    c_ = vmx_entry_controls{};
    c_.pin = cfg_.pin;
    c_.proc = cfg_.proc;
    c_.proc2 = cfg_.proc2;
    c_.exit = cfg_.exit;
    c_.entry = cfg_.entry;
    c_.exception_bitmap = cfg_.exception_bitmap;
    c_.cr0_mask = cfg_.cr0_host_owned;
    c_.cr4_mask = ~0ULL;
    c_.vpid = 1;
    vmx_reset_guest_state(&g_, &cfg_);
  }

  // What vmx.c's vmx_shadow_sync_hw does, with the shadow root in CR3.
  void Guest(u64 cr0, u64 cr4, u64 efer) {
    g_.cr0_shadow = cr0;
    g_.cr4_shadow = cr4;
    g_.cr0 = vmx_shadow_cr0_hw(&cfg_, cr0);
    g_.cr4 = vmx_shadow_cr4_hw(&cfg_, cr4, cr0 & kCr0Pg);
    g_.efer = vmx_shadow_efer_hw(efer);
    if (efer & kEferLma)
      c_.entry |= ENTRY_IA32E_MODE_GUEST;
    else
      c_.entry &= ~ENTRY_IA32E_MODE_GUEST;
    g_.cr3 = 0x7000;  // the shadow root (pae_root or a long-mode root)
  }
};

TEST_F(VmxShadowGuestState, ProtectedModeWithPagingOffRunsPaged) {
  ProtectedMode();
  Guest(kCr0Pe | kCr0Et, kCr4Smep, 0);
  EXPECT_EQ(g_.cr0 & (kCr0Pg | kCr0Wp | kCr0Pe | kCr0Ne),
            kCr0Pg | kCr0Wp | kCr0Pe | kCr0Ne);
  EXPECT_TRUE(g_.cr4 & kCr4Pae);
  EXPECT_FALSE(g_.cr4 & kCr4Smep) << "the identity map is user-accessible";
  EXPECT_EQ(g_.efer, kEferNxe);
  // The guest reads its own values: the host owns every bit.
  EXPECT_EQ(vmx_cr_guest_view(g_.cr0, g_.cr0_shadow, c_.cr0_mask), kCr0Pe | kCr0Et);
  EXPECT_EQ(vmx_cr_guest_view(g_.cr4, g_.cr4_shadow, c_.cr4_mask), kCr4Smep);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxShadowGuestState, ThirtyTwoBitPagingRunsOnPaeShadows) {
  ProtectedMode();
  Guest(kCr0Pe | kCr0Et | kCr0Pg, kCr4Pse | kCr4Smep, 0);
  EXPECT_TRUE(g_.cr4 & kCr4Pae);
  EXPECT_FALSE(g_.cr4 & kCr4Pse);
  EXPECT_TRUE(g_.cr4 & kCr4Smep) << "guest paging on: its SMEP applies";
  EXPECT_TRUE(g_.cr0 & kCr0Wp) << "guest WP=0 is emulated by the shadow MMU";
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

TEST_F(VmxShadowGuestState, LmeWithoutLmaIsNotPassedOn) {
  // EFER.LME set before paging: the CPU's paging is on, so LME alone
  // would claim IA-32e mode; entry checks LMA == LME.
  ProtectedMode();
  Guest(kCr0Pe | kCr0Et, kCr4Pae, kEferLme);
  EXPECT_EQ(g_.efer, kEferNxe);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  g_.efer |= kEferLme;
  EXPECT_EQ(Launch(), VMX_CHECK_EFER);
}

TEST_F(VmxShadowGuestState, LongMode) {
  LongMode();
  Guest(kCr0Pe | kCr0Et | kCr0Pg, kCr4Pae | kCr4Pcide, kEferLme | kEferLma);
  EXPECT_EQ(g_.efer, kEferLme | kEferLma | kEferNxe);
  EXPECT_FALSE(g_.cr4 & kCr4Pcide) << "the shadow root has no PCID";
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
}

// Without unrestricted guest the CPU cannot hold CR0.PE = 0: the value it
// would run with has PE forced, so vmx.c refuses real mode before entry.
TEST_F(VmxShadowGuestState, RealModeCannotBeRepresented) {
  Guest(0x60000010, 0, 0);
  EXPECT_TRUE(g_.cr0 & kCr0Pe);
  g_.cr0 &= ~kCr0Pe;
  EXPECT_EQ(Launch(), VMX_CHECK_CR0_FIXED);
}

// Real mode without unrestricted guest runs as virtual-8086 mode: the
// reset state, translated, passes the vm86 entry checks.
TEST_F(VmxShadowGuestState, RealModeRunsAsVm86) {
  Guest(0x60000010, 0, 0);  // reset: CS F000 base FFFF0000
  vmx_guest_state hw;
  u32 stepped = ~0u;
  ASSERT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(hw.seg[VMX_SEG_CS].selector, 0xf000u);
  EXPECT_EQ(hw.seg[VMX_SEG_CS].base, 0xf0000u) << "the reset CS runs at its alias";
  for (int i = VMX_SEG_ES; i <= VMX_SEG_GS; i++) {
    EXPECT_EQ(hw.seg[i].limit, 0xffffu);
    EXPECT_EQ(hw.seg[i].ar, u32(VMX_RMODE_SEG_AR));
  }
  g_.rflags |= 3u << 12;  // the guest's IOPL 3 ...
  ASSERT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(hw.rflags & ((1u << 17) | (3u << 12)), 1u << 17)
      << "... runs as IOPL 0: CLI/STI/PUSHF/POPF/IRET/INT n #GP";
  g_.rflags &= ~(3u << 12);
  ASSERT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(hw.seg[VMX_SEG_TR].limit, 0u) << "no I/O bitmap: port I/O #GPs";
  EXPECT_EQ(hw.idtr_limit, 0xffffu) << "SIDT sees the guest's IDTR";
  std::swap(g_, hw);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  std::swap(g_, hw);
  // The guest still sees its own state.
  EXPECT_EQ(g_.seg[VMX_SEG_CS].base, 0xffff0000u);
}

// Segments loaded in protected mode before PE was cleared: a base vm86
// can hold runs with the selector that gives it; base and limit stay
// until the guest reloads the register, which then takes base =
// selector << 4 and keeps the limit ("unreal" mode survives).
TEST_F(VmxShadowGuestState, RealModeMergeKeepsHiddenStateUntilReload) {
  Guest(0x10, 0, 0);
  Seg(VMX_SEG_CS, 0x18, 0, 0xffff, 0x9b);
  Seg(VMX_SEG_DS, 0x10, 0, 0xffffffff, 0xc093);  // 4 GiB limit
  Seg(VMX_SEG_ES, 0x10, 0, 0xffffffff, 0xc093);
  g_.rflags = 0x2 | (1u << 9) | (3u << 12);  // IOPL 3
  vmx_guest_state put, out;
  u32 stepped = ~0u;
  ASSERT_EQ(vmx_rmode_hw_state(&g_, &put, &stepped), 0);
  EXPECT_EQ(put.seg[VMX_SEG_CS].selector, 0u);
  EXPECT_EQ(put.seg[VMX_SEG_DS].selector, 0u);
  EXPECT_EQ(put.seg[VMX_SEG_DS].limit, 0xffffu);
  out = put;
  out.seg[VMX_SEG_CS].selector = 0x0800;  // jmp 0800:xxxx
  out.seg[VMX_SEG_CS].base = 0x8000;
  out.seg[VMX_SEG_ES].selector = 0x1234;  // mov es, ax
  out.rip = 0x42;
  out.rflags = put.rflags & ~(1u << 9);  // cli
  vmx_rmode_merge(&g_, &put, &out);
  EXPECT_EQ(g_.seg[VMX_SEG_CS].selector, 0x0800u);
  EXPECT_EQ(g_.seg[VMX_SEG_CS].base, 0x8000u);
  // Not reloaded: base and limit stay; the selector is the one vm86 ran
  // with (mov ax, ds there gave it), which gives the same base.
  EXPECT_EQ(g_.seg[VMX_SEG_DS].selector, 0u);
  EXPECT_EQ(g_.seg[VMX_SEG_DS].base, 0u);
  EXPECT_EQ(g_.seg[VMX_SEG_DS].limit, 0xffffffffu);
  EXPECT_EQ(g_.seg[VMX_SEG_ES].selector, 0x1234u);
  EXPECT_EQ(g_.seg[VMX_SEG_ES].base, 0x12340u);
  EXPECT_EQ(g_.seg[VMX_SEG_ES].limit, 0xffffffffu) << "real-mode loads keep the limit";
  EXPECT_EQ(g_.rip, 0x42u);
  EXPECT_EQ(g_.rflags, 0x2u | (3u << 12)) << "VM and IOPL 0 are ours, not the guest's";
}

// A base vm86 cannot express (above 1 MiB, or not 16-byte aligned): in
// FS or GS, used only through a prefix, it is stepped (the instructions
// naming it emulated); in CS, SS, DS or ES it is named, so that kvm.ko
// stops with an error instead of running wrongly.
TEST_F(VmxShadowGuestState, BigRealModeBases) {
  Guest(0x10, 0, 0);
  vmx_guest_state hw;
  u32 stepped = 0;
  Seg(VMX_SEG_FS, 0x30, 0xff000000, 0xffff, 0x93);
  EXPECT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(stepped, 1u << VMX_SEG_FS);
  EXPECT_EQ(hw.seg[VMX_SEG_FS].selector, 0u);
  EXPECT_EQ(hw.seg[VMX_SEG_FS].base, 0u) << "what the CPU never uses";
  std::swap(g_, hw);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  std::swap(g_, hw);
  // Not reloaded: the guest keeps its FS; reloaded: an ordinary segment.
  vmx_guest_state out = hw;
  vmx_rmode_merge(&g_, &hw, &out);
  EXPECT_EQ(g_.seg[VMX_SEG_FS].selector, 0x30u);
  EXPECT_EQ(g_.seg[VMX_SEG_FS].base, 0xff000000u);
  out.seg[VMX_SEG_FS].selector = 0x1000;
  vmx_rmode_merge(&g_, &hw, &out);
  EXPECT_EQ(g_.seg[VMX_SEG_FS].base, 0x10000u);
  EXPECT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(stepped, 0u);

  Seg(VMX_SEG_GS, 0x30, 0x1008, 0xffff, 0x93);  // not 16-byte aligned
  EXPECT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(stepped, 1u << VMX_SEG_GS);
  Seg(VMX_SEG_DS, 0x30, 0xff000000, 0xffff, 0x93);
  EXPECT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), VMX_SEG_DS + 1);
  Seg(VMX_SEG_DS, 0x30, 0x1000, 0xffff, 0x93);
  EXPECT_EQ(vmx_rmode_hw_state(&g_, &hw, &stepped), 0);
  EXPECT_EQ(hw.seg[VMX_SEG_DS].selector, 0x100u);
}

// Right after MOV CR0 set PE (Linux's real-mode setup code, before its far
// jump): the segments hold real-mode values, GS=FFFF with DPL 0 < RPL 3,
// which entry refuses without unrestricted guest.  The CPU gets DPL = RPL;
// the guest keeps its own access rights until it reloads the register.
TEST_F(VmxShadowGuestState, ProtectedModeEntryWithRealModeSegments) {
  Guest(kCr0Pe | kCr0Et, 0, 0);
  for (int i : {VMX_SEG_CS, VMX_SEG_DS, VMX_SEG_ES, VMX_SEG_SS})
    Seg(i, 0x1000, 0x10000, 0xffff, i == VMX_SEG_CS ? 0x9b : 0x93);
  Seg(VMX_SEG_FS, 0, 0, 0xffff, 0x93);
  Seg(VMX_SEG_GS, 0xffff, 0xffff0, 0xffff, 0x93);
  Seg(VMX_SEG_TR, 0, 0, 0xffff, 0x8b);
  Seg(VMX_SEG_LDTR, 0, 0, 0xffff, 0x82);
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_DATA_DPL);

  vmx_guest_state put;
  u32 guest_ar[VMX_NR_SEGS] = {};
  u32 fixed = vmx_pmode_hw_state(&g_, &put, guest_ar);
  ASSERT_EQ(fixed, 1u << VMX_SEG_GS);
  EXPECT_EQ(put.seg[VMX_SEG_GS].ar, 0xf3u);
  EXPECT_EQ(put.seg[VMX_SEG_DS].ar, 0x93u) << "RPL 0: left alone";
  vmx_guest_state guest = g_;
  std::swap(g_, put);
  EXPECT_EQ(Launch(), VMX_CHECK_OK);
  std::swap(g_, put);

  // The exit hands back what the CPU held: the guest's DPL returns.
  vmx_guest_state out = put;
  out.rip = 0x1234;
  EXPECT_EQ(vmx_pmode_merge(&out, &put, guest_ar, fixed), fixed);
  EXPECT_EQ(out.seg[VMX_SEG_GS].ar, 0x93u);
  EXPECT_EQ(out.rip, 0x1234u);
  // Reloaded from the GDT (mov gs, ax): the CPU's value is the guest's.
  out = put;
  out.seg[VMX_SEG_GS] = vmx_segment{0, 0xffffffff, 0xc093, 0x18};
  EXPECT_EQ(vmx_pmode_merge(&out, &put, guest_ar, fixed), 0u);
  EXPECT_EQ(out.seg[VMX_SEG_GS].ar, 0xc093u);

  // Nothing to change in a state entry accepts (flat protected mode), nor
  // for CS/SS, whose DPL is the CPL (the entry fails, naming the rule).
  g_ = guest;
  ProtectedMode();
  Guest(kCr0Pe | kCr0Et, 0, 0);
  EXPECT_EQ(vmx_pmode_hw_state(&g_, &put, guest_ar), 0u);
  Seg(VMX_SEG_SS, 0x1003, 0x10030, 0xffff, 0x93);
  EXPECT_EQ(vmx_pmode_hw_state(&g_, &put, guest_ar), 0u);
  EXPECT_EQ(Launch(), VMX_CHECK_SEG_SS_RPL);
}

// Which instructions name a stepped segment: only through FS/GS prefixes.
TEST(VmxRmodeStepped, PrefixesNameTheSegment) {
  const u32 fs = 1u << VMX_SEG_FS;
  const u8 mov_fs[] = {0x64, 0x89, 0x07};        // mov [fs:bx], ax
  const u8 a32_mov_fs[] = {0x67, 0x64, 0x8b, 0x07};
  const u8 mov_gs[] = {0x65, 0x89, 0x07};
  const u8 mov_ds[] = {0x89, 0x07};
  const u8 prefixes_only[] = {0x66, 0x67};
  EXPECT_TRUE(vmx_rmode_uses_stepped(mov_fs, sizeof(mov_fs), fs));
  EXPECT_TRUE(vmx_rmode_uses_stepped(a32_mov_fs, sizeof(a32_mov_fs), fs));
  EXPECT_FALSE(vmx_rmode_uses_stepped(mov_gs, sizeof(mov_gs), fs));
  EXPECT_TRUE(vmx_rmode_uses_stepped(mov_gs, sizeof(mov_gs), 1u << VMX_SEG_GS));
  EXPECT_FALSE(vmx_rmode_uses_stepped(mov_ds, sizeof(mov_ds), fs));
  EXPECT_TRUE(vmx_rmode_uses_stepped(prefixes_only, sizeof(prefixes_only), fs));
  EXPECT_FALSE(vmx_rmode_uses_stepped(mov_ds, 0, fs));
}

}  // namespace
