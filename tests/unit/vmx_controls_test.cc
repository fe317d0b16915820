// VMX control derivation from capability MSRs, VMCS field encodings and
// the VM-execution/entry control checks, on sample CPUs (vmx_sim_vmcs.h).
#include <gtest/gtest.h>

#include <string>

#include "vmx_sim_vmcs.h"

namespace {

struct FieldSpec {
  u32 enc;
  int width;
  int type;
};

// Every field the backend uses, with the width and type its name and the
// SDM's appendix B give it.  A wrong encoding shows up as a mismatch.
TEST(VmxEncoding, FieldsHaveTheWidthAndTypeTheirNamesClaim) {
  const FieldSpec specs[] = {
      {VMCS_VPID, VMCS_WIDTH_16, VMCS_TYPE_CONTROL},
      {VMCS_GUEST_ES_SELECTOR, VMCS_WIDTH_16, VMCS_TYPE_GUEST},
      {VMCS_GUEST_TR_SELECTOR, VMCS_WIDTH_16, VMCS_TYPE_GUEST},
      {VMCS_HOST_CS_SELECTOR, VMCS_WIDTH_16, VMCS_TYPE_HOST},
      {VMCS_HOST_TR_SELECTOR, VMCS_WIDTH_16, VMCS_TYPE_HOST},
      {VMCS_IO_BITMAP_A, VMCS_WIDTH_64, VMCS_TYPE_CONTROL},
      {VMCS_MSR_BITMAP, VMCS_WIDTH_64, VMCS_TYPE_CONTROL},
      {VMCS_TSC_OFFSET, VMCS_WIDTH_64, VMCS_TYPE_CONTROL},
      {VMCS_VIRTUAL_APIC_ADDR, VMCS_WIDTH_64, VMCS_TYPE_CONTROL},
      {VMCS_TPR_THRESHOLD, VMCS_WIDTH_32, VMCS_TYPE_CONTROL},
      {VMCS_EPT_POINTER, VMCS_WIDTH_64, VMCS_TYPE_CONTROL},
      {VMCS_GUEST_PHYSICAL_ADDR, VMCS_WIDTH_64, VMCS_TYPE_EXIT_INFO},
      {VMCS_LINK_POINTER, VMCS_WIDTH_64, VMCS_TYPE_GUEST},
      {VMCS_GUEST_IA32_PAT, VMCS_WIDTH_64, VMCS_TYPE_GUEST},
      {VMCS_GUEST_IA32_EFER, VMCS_WIDTH_64, VMCS_TYPE_GUEST},
      {VMCS_GUEST_PDPTE3, VMCS_WIDTH_64, VMCS_TYPE_GUEST},
      {VMCS_HOST_IA32_PAT, VMCS_WIDTH_64, VMCS_TYPE_HOST},
      {VMCS_HOST_IA32_EFER, VMCS_WIDTH_64, VMCS_TYPE_HOST},
      {VMCS_PIN_CONTROLS, VMCS_WIDTH_32, VMCS_TYPE_CONTROL},
      {VMCS_PROC_CONTROLS2, VMCS_WIDTH_32, VMCS_TYPE_CONTROL},
      {VMCS_ENTRY_INTR_INFO, VMCS_WIDTH_32, VMCS_TYPE_CONTROL},
      {VMCS_INSN_ERROR, VMCS_WIDTH_32, VMCS_TYPE_EXIT_INFO},
      {VMCS_EXIT_REASON, VMCS_WIDTH_32, VMCS_TYPE_EXIT_INFO},
      {VMCS_EXIT_INSN_INFO, VMCS_WIDTH_32, VMCS_TYPE_EXIT_INFO},
      {VMCS_GUEST_ES_LIMIT, VMCS_WIDTH_32, VMCS_TYPE_GUEST},
      {VMCS_GUEST_TR_AR, VMCS_WIDTH_32, VMCS_TYPE_GUEST},
      {VMCS_GUEST_INTERRUPTIBILITY, VMCS_WIDTH_32, VMCS_TYPE_GUEST},
      {VMCS_GUEST_SYSENTER_CS, VMCS_WIDTH_32, VMCS_TYPE_GUEST},
      {VMCS_HOST_SYSENTER_CS, VMCS_WIDTH_32, VMCS_TYPE_HOST},
      {VMCS_CR0_GUEST_HOST_MASK, VMCS_WIDTH_NATURAL, VMCS_TYPE_CONTROL},
      {VMCS_CR4_READ_SHADOW, VMCS_WIDTH_NATURAL, VMCS_TYPE_CONTROL},
      {VMCS_EXIT_QUALIFICATION, VMCS_WIDTH_NATURAL, VMCS_TYPE_EXIT_INFO},
      {VMCS_GUEST_CR0, VMCS_WIDTH_NATURAL, VMCS_TYPE_GUEST},
      {VMCS_GUEST_GDTR_BASE, VMCS_WIDTH_NATURAL, VMCS_TYPE_GUEST},
      {VMCS_GUEST_RFLAGS, VMCS_WIDTH_NATURAL, VMCS_TYPE_GUEST},
      {VMCS_GUEST_SYSENTER_EIP, VMCS_WIDTH_NATURAL, VMCS_TYPE_GUEST},
      {VMCS_HOST_CR0, VMCS_WIDTH_NATURAL, VMCS_TYPE_HOST},
      {VMCS_HOST_RSP, VMCS_WIDTH_NATURAL, VMCS_TYPE_HOST},
      {VMCS_HOST_RIP, VMCS_WIDTH_NATURAL, VMCS_TYPE_HOST},
  };
  for (const auto& s : specs) {
    SCOPED_TRACE(s.enc);
    EXPECT_EQ(VMCS_ENC_WIDTH(s.enc), s.width);
    EXPECT_EQ(VMCS_ENC_TYPE(s.enc), s.type);
    EXPECT_EQ(s.enc & VMCS_ENC_HIGH, 0u) << "full-field access";
  }
  // Segment groups follow enum vmx_seg with stride 2.
  EXPECT_EQ(VMCS_GUEST_SEG_AR(VMX_SEG_TR), VMCS_GUEST_TR_AR);
  EXPECT_EQ(VMCS_GUEST_SEG_BASE(VMX_SEG_LDTR), VMCS_GUEST_LDTR_BASE);
  EXPECT_EQ(VMCS_GUEST_SEG_LIMIT(VMX_SEG_GS), VMCS_GUEST_GS_LIMIT);
  EXPECT_EQ(VMCS_GUEST_SEG_SELECTOR(VMX_SEG_SS), VMCS_GUEST_SS_SELECTOR);
}

TEST(VmxControls, AdjustAddsMustBeOneAndDropsUnavailableOptional) {
  u32 out = 0;
  // must be 1: bit 1; may be 1: bits 0-3.
  const u64 cap = (0xfULL << 32) | 0x2;
  ASSERT_EQ(vmx_adjust_controls(cap, 0x1, 0x10 | 0x4, &out), 0);
  EXPECT_EQ(out, 0x1u | 0x2u | 0x4u);
  EXPECT_EQ(vmx_adjust_controls(cap, 0x10, 0, &out), -1);
}

TEST(VmxControls, TrueMsrsAreUsedOnlyWhenBasicBit55IsSet) {
  vmx_caps c = vmx_samples::SkylakeLike();
  EXPECT_EQ(vmx_ctl_msr(&c, VMX_MSR_PROCBASED_CTLS), c.true_proc);
  c.basic &= ~VMX_BASIC_TRUE_CTLS;
  EXPECT_EQ(vmx_ctl_msr(&c, VMX_MSR_PROCBASED_CTLS), c.proc);
  c.proc &= ~(u64(PROC_SECONDARY_CONTROLS) << 32);
  EXPECT_EQ(vmx_ctl_msr(&c, VMX_MSR_PROCBASED_CTLS2), 0u);
}

TEST(VmxControls, SkylakeLikeGetsEverythingWeAskFor) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_EQ(cfg.pin & (PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS),
            PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
  EXPECT_TRUE(cfg.proc & PROC_HLT_EXITING);
  EXPECT_TRUE(cfg.proc & PROC_UNCOND_IO_EXITING);
  EXPECT_TRUE(cfg.proc & PROC_CR8_LOAD_EXITING);
  EXPECT_FALSE(cfg.proc & PROC_CR3_LOAD_EXITING) << "TRUE controls allow 0";
  EXPECT_FALSE(cfg.proc & PROC_CR3_STORE_EXITING);
  EXPECT_FALSE(cfg.proc & PROC_MSR_BITMAPS) << "all MSR accesses exit";
  EXPECT_FALSE(cfg.proc & PROC_INVLPG_EXITING);
  EXPECT_EQ(cfg.proc2, PROC2_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_VPID |
                           PROC2_INVPCID | PROC2_PAUSE_LOOP_EXITING);
  EXPECT_TRUE(cfg.ple) << "a vCPU spinning on a lock exits";
  EXPECT_TRUE(cfg.vpid);
  EXPECT_TRUE(cfg.invept_single);
  EXPECT_EQ(cfg.exit & (EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER | EXIT_SAVE_EFER |
                        EXIT_LOAD_PAT | EXIT_SAVE_PAT),
            EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER | EXIT_SAVE_EFER |
                EXIT_LOAD_PAT | EXIT_SAVE_PAT);
  EXPECT_FALSE(cfg.exit & EXIT_ACK_INTR_ON_EXIT);
  EXPECT_FALSE(cfg.entry & ENTRY_IA32E_MODE_GUEST);
  EXPECT_TRUE(cfg.entry & ENTRY_LOAD_EFER);
  // Unrestricted guest: PE and PG leave the fixed-1 set; NE stays.
  EXPECT_EQ(cfg.cr0_fixed0, 0x20u);
  EXPECT_EQ(cfg.cr0_host_owned, 0x80000020u);
}

TEST(VmxControls, WestmereLikeRunsWithoutInvpcid) {
  vmx_caps caps = vmx_samples::WestmereLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_FALSE(cfg.proc2 & PROC2_INVPCID);
  EXPECT_TRUE(cfg.proc2 & PROC2_UNRESTRICTED_GUEST);
  // Its secondary controls stop at bit 7: no PAUSE-loop exiting either.
  EXPECT_FALSE(cfg.proc2 & PROC2_PAUSE_LOOP_EXITING);
  EXPECT_FALSE(cfg.ple);
}

// INVPCID is enabled per vCPU only when its CPUID lists it (else it must
// #UD, as on a CPU without it); RDTSCP and XSAVES never are.
TEST(VmxControls, SecondaryControlsFollowTheGuestsCpuid) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  ASSERT_TRUE(cfg.proc2 & PROC2_INVPCID) << "the CPU offers it";
  EXPECT_FALSE(vmx_proc2_for_guest(&cfg, false) & PROC2_INVPCID);
  EXPECT_TRUE(vmx_proc2_for_guest(&cfg, true) & PROC2_INVPCID);
  EXPECT_EQ(vmx_proc2_for_guest(&cfg, false),
            PROC2_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_VPID |
                PROC2_PAUSE_LOOP_EXITING);
  // Even a configuration that had them would not pass them on.
  cfg.proc2 |= PROC2_RDTSCP | PROC2_XSAVES;
  EXPECT_FALSE(vmx_proc2_for_guest(&cfg, true) & (PROC2_RDTSCP | PROC2_XSAVES));
  // A CPU without INVPCID gives no guest INVPCID, whatever its CPUID says.
  caps = vmx_samples::WestmereLike();
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_FALSE(vmx_proc2_for_guest(&cfg, true) & PROC2_INVPCID);
}

// The VMCS follows its thread: VMLAUNCH after every VMCLEAR, VMRESUME
// while it stays active on one CPU, VMPTRLD only when it is not current.
TEST(VmxVmcsState, LaunchResumeAndMigration) {
  vmx_vmcs_state s;
  bool load = false;
  vmx_vmcs_state_init(&s);
  EXPECT_FALSE(vmx_vmcs_before_entry(&s, 0, false, &load)) << "clear: VMLAUNCH";
  EXPECT_TRUE(load);
  EXPECT_FALSE(vmx_vmcs_after_entry(&s, true));
  // Same CPU, still current: no VMPTRLD, VMRESUME.
  EXPECT_TRUE(vmx_vmcs_before_entry(&s, 0, true, &load));
  EXPECT_FALSE(load);
  EXPECT_FALSE(vmx_vmcs_after_entry(&s, true));
  // Another vCPU's VMCS became current here: VMPTRLD keeps "launched".
  EXPECT_TRUE(vmx_vmcs_before_entry(&s, 0, false, &load));
  EXPECT_TRUE(load);
  EXPECT_FALSE(vmx_vmcs_after_entry(&s, true));
  // Scheduled out of CPU 0: VMCLEAR there; CPU 1 loads it and launches.
  EXPECT_FALSE(vmx_vmcs_put(&s, 1)) << "not active on CPU 1";
  EXPECT_TRUE(vmx_vmcs_put(&s, 0));
  EXPECT_EQ(s.active_cpu, -1);
  EXPECT_FALSE(vmx_vmcs_put(&s, 0)) << "already clear";
  EXPECT_FALSE(vmx_vmcs_before_entry(&s, 1, false, &load));
  EXPECT_TRUE(load);
  EXPECT_EQ(s.active_cpu, 1);
  // A failed entry leaves it cleared: the next entry launches again.
  EXPECT_TRUE(vmx_vmcs_after_entry(&s, false)) << "VMCLEAR after a failure";
  EXPECT_EQ(s.active_cpu, -1);
  EXPECT_FALSE(vmx_vmcs_before_entry(&s, 1, false, &load));
  EXPECT_TRUE(load);
}

TEST(VmxControls, NehalemLikeIsRefusedForLackOfUnrestrictedGuest) {
  vmx_caps caps = vmx_samples::NehalemLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), -1);
  EXPECT_NE(std::string(why).find("unrestricted guest"), std::string::npos);
}

TEST(VmxControls, WithoutTrueMsrsDefault1BitsAreForcedOn) {
  vmx_caps caps = vmx_samples::NoTrueControls();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_TRUE(cfg.proc & PROC_CR3_LOAD_EXITING);
  EXPECT_TRUE(cfg.proc & PROC_CR3_STORE_EXITING);
  EXPECT_EQ(cfg.pin & PIN_DEFAULT1, PIN_DEFAULT1);
  EXPECT_EQ(cfg.exit & EXIT_DEFAULT1, EXIT_DEFAULT1);
}

TEST(VmxControls, MissingFeaturesAreNamed) {
  const char* why = nullptr;
  vmx_config cfg;
  vmx_caps no_vnmi = vmx_samples::SkylakeLike();
  no_vnmi.true_pin &= ~(u64(PIN_VIRTUAL_NMIS) << 32);
  EXPECT_EQ(vmx_derive_config(&no_vnmi, &cfg, &why), -1);
  EXPECT_NE(std::string(why).find("virtual NMIs"), std::string::npos);

  vmx_caps no_invept = vmx_samples::SkylakeLike();
  no_invept.ept_vpid &= ~VMX_EPT_CAP_INVEPT;
  EXPECT_EQ(vmx_derive_config(&no_invept, &cfg, &why), -1);

  vmx_caps uc_vmcs = vmx_samples::SkylakeLike();
  uc_vmcs.basic &= ~(0xfULL << 50);
  EXPECT_EQ(vmx_derive_config(&uc_vmcs, &cfg, &why), -1);
}

// The derived controls, as vcpu_reset programs them, pass the control
// checks on every CPU that accepts the configuration.
class VmxDerivedControls : public ::testing::TestWithParam<vmx_caps (*)()> {};

TEST_P(VmxDerivedControls, PassTheEntryControlChecks) {
  vmx_caps caps = GetParam()();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  vmx_entry_controls c{};
  c.pin = cfg.pin;
  c.proc = cfg.proc | PROC_NMI_WINDOW_EXITING | PROC_INTR_WINDOW_EXITING;
  c.proc2 = cfg.proc2;
  c.exit = cfg.exit;
  c.entry = cfg.entry;
  c.eptp = vmx_eptp(0x123000, cfg.ept_levels);
  c.vpid = 1;
  vmx_guest_state g;
  vmx_reset_guest_state(&g, &cfg);
  EXPECT_EQ(vmx_check_controls(&caps, &c, &g), VMX_CHECK_OK);
  c.entry |= ENTRY_IA32E_MODE_GUEST;
  EXPECT_EQ(vmx_check_controls(&caps, &c, &g), VMX_CHECK_OK);
}

INSTANTIATE_TEST_SUITE_P(Cpus, VmxDerivedControls,
                         ::testing::Values(&vmx_samples::SkylakeLike,
                                           &vmx_samples::WestmereLike,
                                           &vmx_samples::NoTrueControls));

class VmxControlChecks : public ::testing::Test {
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
    c_.eptp = vmx_eptp(0x5000, 4);
    c_.vpid = 3;
    vmx_reset_guest_state(&g_, &cfg_);
  }
  vmx_check Check() { return vmx_check_controls(&caps_, &c_, &g_); }
  vmx_caps caps_;
  vmx_config cfg_;
  vmx_entry_controls c_{};
  vmx_guest_state g_;
};

TEST_F(VmxControlChecks, ReservedControlBits) {
  c_.pin &= ~0x16u;  // default1 bits cleared
  EXPECT_EQ(Check(), VMX_CHECK_PIN_RESERVED);
  SetUp();
  c_.proc2 |= 1u << 31;  // not allowed by the sample
  EXPECT_EQ(Check(), VMX_CHECK_PROC2_RESERVED);
  SetUp();
  c_.entry |= ENTRY_TO_SMM;
  EXPECT_EQ(Check(), VMX_CHECK_ENTRY_RESERVED);
}

TEST_F(VmxControlChecks, NmiControlDependencies) {
  c_.proc |= PROC_NMI_WINDOW_EXITING;
  c_.pin &= ~PIN_VIRTUAL_NMIS;
  EXPECT_EQ(Check(), VMX_CHECK_NMI_WINDOW_WITHOUT_VNMI);
  SetUp();
  c_.pin &= ~PIN_NMI_EXITING;
  EXPECT_EQ(Check(), VMX_CHECK_VNMI_WITHOUT_NMI_EXITING);
}

TEST_F(VmxControlChecks, UnrestrictedGuestNeedsEptAndVpidMustBeNonZero) {
  c_.proc2 &= ~PROC2_EPT;
  EXPECT_EQ(Check(), VMX_CHECK_UG_WITHOUT_EPT);
  SetUp();
  c_.vpid = 0;
  EXPECT_EQ(Check(), VMX_CHECK_VPID_ZERO);
}

TEST_F(VmxControlChecks, EptPointer) {
  EXPECT_EQ(c_.eptp, 0x5000u | 6u | (3u << 3));
  c_.eptp = vmx_eptp(0x5000, 5);  // 5-level walk: not in the sample
  EXPECT_EQ(Check(), VMX_CHECK_EPTP);
  c_.eptp = vmx_eptp(0x5000, 4) | (1ULL << 7);  // reserved
  EXPECT_EQ(Check(), VMX_CHECK_EPTP);
  c_.eptp = (vmx_eptp(0x5000, 4) & ~7ULL) | 1;  // memory type WC
  EXPECT_EQ(Check(), VMX_CHECK_EPTP);
  c_.eptp = vmx_eptp(1ULL << 40, 4);  // beyond 39 physical bits
  EXPECT_EQ(Check(), VMX_CHECK_EPTP);
  caps_ = vmx_samples::WestmereLike();  // no A/D bits, INVPCID, PLE
  c_.proc2 &= ~(PROC2_INVPCID | PROC2_PAUSE_LOOP_EXITING);
  c_.eptp = vmx_eptp(0x5000, 4) | EPTP_AD_ENABLE;
  EXPECT_EQ(Check(), VMX_CHECK_EPTP);
}

// TPR shadow (SDM vol. 3C 30.1): derived where the CPU allows "use TPR
// shadow" and lets CR8-load/store exiting be 0; a vCPU with an in-kernel
// LAPIC swaps CR8 exiting for it, one without keeps CR8 exiting.
TEST(VmxTprShadow, DerivedWhereTheCpuHasIt) {
  for (auto sample : {&vmx_samples::SkylakeLike, &vmx_samples::WestmereLike,
                      &vmx_samples::NoTrueControls}) {
    vmx_caps caps = sample();
    vmx_config cfg;
    const char* why = nullptr;
    ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
    EXPECT_TRUE(cfg.tpr_shadow);
    EXPECT_EQ(cfg.proc & PROC_TPR_SHADOW, 0u);
    EXPECT_EQ(cfg.proc & (PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING),
              PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING);
    EXPECT_EQ(vmx_proc_for_vcpu(&cfg, false), cfg.proc);
    u32 with = vmx_proc_for_vcpu(&cfg, true);
    EXPECT_EQ(with, (cfg.proc | PROC_TPR_SHADOW) &
                        ~(PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING));
    // Shadow paging derives it the same way.
    ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
    EXPECT_TRUE(cfg.tpr_shadow);
  }
}

TEST(VmxTprShadow, AbsentOrCr8ExitingForcedMeansCr8KeepsExiting) {
  // No "use TPR shadow" in the allowed-1 half (TRUE and plain MSRs).
  vmx_caps caps = vmx_samples::SkylakeLike();
  caps.proc &= ~(u64(PROC_TPR_SHADOW) << 32);
  caps.true_proc &= ~(u64(PROC_TPR_SHADOW) << 32);
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_FALSE(cfg.tpr_shadow);
  EXPECT_EQ(vmx_proc_for_vcpu(&cfg, true), cfg.proc);
  EXPECT_NE(cfg.proc & PROC_CR8_LOAD_EXITING, 0u);
  // CR8-store exiting must be 1 (allowed-0 half): the shadow is useless.
  caps = vmx_samples::SkylakeLike();
  caps.true_proc |= PROC_CR8_STORE_EXITING;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_FALSE(cfg.tpr_shadow);
  EXPECT_EQ(vmx_proc_for_vcpu(&cfg, true), cfg.proc);
  // Without TRUE controls the plain MSR's allowed-0 half counts.
  caps = vmx_samples::NoTrueControls();
  caps.proc |= PROC_CR8_LOAD_EXITING;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  EXPECT_FALSE(cfg.tpr_shadow);
}

// The entry checks on the TPR-shadow fields (27.2.1.1), through the
// simulated VMCS: the fields are written only with the control on.
TEST(VmxTprShadow, EntryChecksVirtualApicAddressAndThreshold) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config(&caps, &cfg, &why), 0) << why;
  vmx_entry_controls c{};
  c.pin = cfg.pin;
  c.proc = vmx_proc_for_vcpu(&cfg, true);
  c.proc2 = cfg.proc2;
  c.exit = cfg.exit;
  c.entry = cfg.entry;
  c.eptp = vmx_eptp(0x5000, 4);
  c.vpid = 1;
  c.vapic_addr = 0x7000;
  c.tpr_threshold = 0;
  vmx_guest_state g;
  vmx_reset_guest_state(&g, &cfg);

  auto launch = [&](u8 vtpr) {
    SimVmcs vmcs;
    vmcs_accessor a = vmcs.Accessor();
    vmx_store_entry_controls(&a, &c);
    vmx_store_guest_state(&a, &g, true);
    EXPECT_TRUE(vmcs.bad_writes().empty());
    if (c.proc & PROC_TPR_SHADOW) {
      EXPECT_EQ(vmcs.Read(VMCS_VIRTUAL_APIC_ADDR), c.vapic_addr);
      EXPECT_EQ(vmcs.Read(VMCS_TPR_THRESHOLD), c.tpr_threshold);
    } else {
      EXPECT_EQ(vmcs.Read(VMCS_VIRTUAL_APIC_ADDR), 0u);
    }
    vmcs.SetVtpr(vtpr);
    return vmcs.Launch(caps);
  };
  EXPECT_EQ(launch(0), VMX_CHECK_OK);
  // Threshold up to VTPR[7:4]: a class the TPR masks.
  c.tpr_threshold = 5;
  EXPECT_EQ(launch(0x50), VMX_CHECK_OK);
  EXPECT_EQ(launch(0x5f), VMX_CHECK_OK);
  EXPECT_EQ(launch(0x4f), VMX_CHECK_TPR_THRESHOLD);
  c.tpr_threshold = 0x10;  // bits 31:4 must be 0
  EXPECT_EQ(launch(0xff), VMX_CHECK_TPR_THRESHOLD);
  c.tpr_threshold = 0;
  c.vapic_addr = 0x7080;  // not 4-KByte aligned
  EXPECT_EQ(launch(0), VMX_CHECK_VAPIC_ADDR);
  c.vapic_addr = 1ULL << 39;  // beyond 39 physical bits
  EXPECT_EQ(launch(0), VMX_CHECK_VAPIC_ADDR);
  // Without the control none of it applies (CR8 exits instead).
  c.proc = vmx_proc_for_vcpu(&cfg, false);
  c.tpr_threshold = 0x10;
  EXPECT_EQ(launch(0), VMX_CHECK_OK);
  EXPECT_NE(std::string(vmx_check_name(VMX_CHECK_TPR_THRESHOLD))
                .find("TPR threshold"),
            std::string::npos);
  EXPECT_NE(std::string(vmx_check_name(VMX_CHECK_VAPIC_ADDR))
                .find("virtual-APIC"),
            std::string::npos);
}

// Shadow paging (ept=0): CR3 loads and stores, INVLPG and every #PF exit;
// no EPT means no unrestricted guest, so PE and PG stay fixed to 1; the
// host owns all of CR0; INVPCID is never given to the guest.
TEST(VmxShadowControls, SkylakeLikeWithoutEpt) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
  EXPECT_FALSE(cfg.ept);
  EXPECT_FALSE(cfg.unrestricted);
  const u32 paging_exits =
      PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING;
  EXPECT_EQ(cfg.proc & paging_exits, paging_exits);
  EXPECT_TRUE(cfg.proc & PROC_SECONDARY_CONTROLS);
  EXPECT_EQ(cfg.proc2, u32(PROC2_VPID | PROC2_PAUSE_LOOP_EXITING))
      << "no EPT, no unrestricted guest";
  EXPECT_TRUE(cfg.ple);
  EXPECT_TRUE(cfg.vpid);
  EXPECT_TRUE(cfg.invvpid_single);
  EXPECT_EQ(cfg.exception_bitmap, (1u << 14) | (1u << 18));
  EXPECT_EQ(cfg.cr0_fixed0, 0x80000021u) << "PE, NE, PG";
  EXPECT_EQ(cfg.cr0_host_owned, ~0ULL);
  EXPECT_EQ(cfg.ept_levels, 0);
  EXPECT_FALSE(vmx_proc2_for_guest(&cfg, true) & PROC2_INVPCID);
  // The EPT configuration of the same CPU has none of that.
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, true, &why), 0) << why;
  EXPECT_TRUE(cfg.ept);
  EXPECT_TRUE(cfg.unrestricted);
  EXPECT_EQ(cfg.proc & paging_exits, 0u);
  EXPECT_EQ(cfg.exception_bitmap, 1u << 18);
}

// A CPU without unrestricted guest cannot run with EPT here, but runs
// with shadow paging (the module falls back to it at load).
TEST(VmxShadowControls, NehalemLikeFallsBackToShadowPaging) {
  vmx_caps caps = vmx_samples::NehalemLike();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, true, &why), -1);
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
  EXPECT_FALSE(cfg.ept);
  EXPECT_TRUE(cfg.vpid);
}

// VPID without INVVPID could not flush a vCPU's stale shadow
// translations: it is dropped (every entry and exit flushes VPID 0).
TEST(VmxShadowControls, VpidNeedsInvvpid) {
  vmx_caps caps = vmx_samples::SkylakeLike();
  vmx_config cfg;
  const char* why = nullptr;
  caps.ept_vpid &= ~(VMX_VPID_CAP_INVVPID | VMX_VPID_CAP_INVVPID_SINGLE |
                     VMX_VPID_CAP_INVVPID_ALL);
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
  EXPECT_FALSE(cfg.vpid);
  EXPECT_FALSE(cfg.proc2 & PROC2_VPID);
  caps.ept_vpid |= VMX_VPID_CAP_INVVPID | VMX_VPID_CAP_INVVPID_ALL;
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
  EXPECT_TRUE(cfg.vpid);
  EXPECT_FALSE(cfg.invvpid_single);
}

// Without TRUE controls the CPU forces CR3 exiting on anyway; shadow
// paging wants it, so both configurations derive.
TEST(VmxShadowControls, WithoutTrueMsrs) {
  vmx_caps caps = vmx_samples::NoTrueControls();
  vmx_config cfg;
  const char* why = nullptr;
  ASSERT_EQ(vmx_derive_config_paging(&caps, &cfg, false, &why), 0) << why;
  EXPECT_TRUE(cfg.proc & PROC_CR3_LOAD_EXITING);
  EXPECT_TRUE(cfg.proc & PROC_INVLPG_EXITING);
}

}  // namespace
