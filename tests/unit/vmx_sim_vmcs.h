// A simulated VMCS for the VMX backend's unit tests: a field store keyed
// by encoding that truncates to each field's width (SDM B.1: encoding
// bits 14:13), refuses writes to read-only exit-information fields (as
// VMWRITE does without "VMWRITE to any field"), and on Launch() runs the
// entry checks vmx_logic.c implements (SDM 27.2.1, 27.3.1) on what was
// written -- read back through the same encodings the kernel uses.
//
// Sample capability MSRs: shaped after real CPU generations but
// synthetic, except where a comment says a value matches commonly
// published dumps.  No value here was read from hardware by us.
#pragma once

#include <cstdint>
#include <map>
#include <set>

extern "C" {
#include "vmx_logic.h"
}

class SimVmcs {
 public:
  void Write(u32 field, u64 val) {
    if (VMCS_ENC_TYPE(field) == VMCS_TYPE_EXIT_INFO) {
      bad_writes_.insert(field);
      return;
    }
    fields_[field] = Truncate(field, val);
  }
  u64 Read(u32 field) const {
    auto it = fields_.find(field);
    return it == fields_.end() ? 0 : it->second;
  }
  // The hardware side of an exit: fill an exit-information field.
  void SetExitInfo(u32 field, u64 val) { fields_[field] = Truncate(field, val); }
  const std::set<u32>& bad_writes() const { return bad_writes_; }
  // The virtual-APIC page's VTPR (byte 0x80) as the entry would read it.
  void SetVtpr(u8 v) { vtpr_ = v; }

  vmcs_accessor Accessor() {
    return vmcs_accessor{
        [](void* c, u32 f) { return static_cast<SimVmcs*>(c)->Read(f); },
        [](void* c, u32 f, u64 v) { static_cast<SimVmcs*>(c)->Write(f, v); },
        this};
  }

  // VMLAUNCH: the control checks, then the guest-state checks.
  vmx_check Launch(const vmx_caps& caps) {
    vmcs_accessor a = Accessor();
    vmx_entry_controls c{};
    vmx_guest_state g{};
    vmx_load_entry_controls(&a, &c);
    vmx_load_guest_state(&a, &g, true);
    c.vtpr = vtpr_;
    vmx_check r = vmx_check_controls(&caps, &c, &g);
    if (r != VMX_CHECK_OK) return r;
    return vmx_check_guest_state(&caps, &c, &g);
  }

  static u64 Truncate(u32 field, u64 val) {
    switch (VMCS_ENC_WIDTH(field)) {
      case VMCS_WIDTH_16: return val & 0xffff;
      case VMCS_WIDTH_32: return val & 0xffffffffULL;
      default: return val;
    }
  }

 private:
  std::map<u32, u64> fields_;
  std::set<u32> bad_writes_;
  u8 vtpr_ = 0;
};

namespace vmx_samples {

// Fields common to the 64-bit generations below.
inline vmx_caps Base(u32 revision, bool true_ctls) {
  vmx_caps c{};
  c.basic = revision | (0x400ULL << 32) | (6ULL << 50) | VMX_BASIC_INS_OUTS_INFO |
            (true_ctls ? VMX_BASIC_TRUE_CTLS : 0);
  c.pin = 0x0000007f00000016ULL;
  c.proc = 0xfff9fffe0401e172ULL;
  c.exit = 0x003fffff00036dffULL;
  c.entry = 0x0000ffff000011ffULL;
  if (true_ctls) {
    // TRUE_* lift the default1 bits a VMM may clear (A.3-A.5):
    // CR3-load/store exiting, save/load debug controls.
    c.true_pin = 0x0000007f00000016ULL;
    c.true_proc = 0xfff9fffe04006172ULL;
    c.true_exit = 0x003fffff00036dfbULL;
    c.true_entry = 0x0000ffff000011fbULL;
  }
  c.misc = 0x00000000000401e7ULL;  // LMA stored, HLT/shutdown/SIPI, 4 CR3 targets
  c.cr0_fixed0 = 0x80000021ULL;    // PE, NE, PG
  c.cr0_fixed1 = 0xffffffffULL;
  c.cr4_fixed0 = 0x2000ULL;        // VMXE
  c.phys_bits = 39;
  return c;
}

// Skylake-class client: EPT with A/D, VPID, unrestricted guest, INVPCID.
// EPT_VPID_CAP 0xf0106734141 matches dumps commonly published for
// Haswell-to-Skylake parts.
inline vmx_caps SkylakeLike() {
  vmx_caps c = Base(0x4, true);
  c.proc2 = 0x00dfffff00000000ULL;
  c.cr4_fixed1 = 0x3767ffULL;
  c.ept_vpid = 0x00000f0106734141ULL;
  return c;
}

// Westmere-class (synthetic): unrestricted guest and VPID, no INVPCID,
// no EPT A/D bits, no PCIDE in CR4_FIXED1.
inline vmx_caps WestmereLike() {
  vmx_caps c = Base(0xe, true);
  c.proc2 = 0x000000ff00000000ULL;
  c.cr4_fixed1 = 0x27ffULL;
  c.ept_vpid = 0x00000f0106114141ULL;
  c.phys_bits = 36;
  return c;
}

// Nehalem-class (synthetic): EPT and VPID, but no unrestricted guest.
inline vmx_caps NehalemLike() {
  vmx_caps c = Base(0xe, true);
  c.proc2 = 0x0000006b00000000ULL;
  c.cr4_fixed1 = 0x27ffULL;
  c.ept_vpid = 0x00000f0106114141ULL;
  return c;
}

// A CPU without TRUE_* MSRs (IA32_VMX_BASIC[55] = 0; synthetic).
inline vmx_caps NoTrueControls() {
  vmx_caps c = WestmereLike();
  c.basic &= ~VMX_BASIC_TRUE_CTLS;
  return c;
}

}  // namespace vmx_samples
