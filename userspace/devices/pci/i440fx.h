// Intel 440FX PCI and memory controller (PMC), the host bridge at 00:00.0 of a PC
// (Intel 82441FX data sheet, 290549).  Vendor 8086h, device 1237h, class 0600h.
//
// Models: the configuration registers firmware and Linux touch: PMCCFG (50h-51h), DETURBO
//   (52h), DBC (53h), DRT (55h-56h), DRAMC (57h), DRAMT (58h), the seven PAM registers
//   (59h-5Fh), the DRB rows (60h-67h), FDHC (68h), MTT (70h), CLT (71h), SMRAM (72h), ERRCMD
//   (90h), ERRSTS (91h, write-one-to-clear), TRC (93h).  They read back what was written.
// Works: PAM0-PAM6 as 13 segments of the 0xC0000-0xFFFFF range, each with a read-enable and a
//   write-enable bit (RE: reads go to DRAM; WE: writes go to DRAM; neither: the access goes to
//   the PCI/ISA side, i.e. the BIOS ROM).  Every configuration write to a PAM register calls the
//   listener given to set_pam_listener() with all 13 segments; the machine maps memory from
//   that.  SMRAM (72h): D_OPEN, D_CLS, D_LCK, G_SMRAME kept as state with the data sheet's lock
//   rule (D_LCK set: D_OPEN reads 0 and cannot be set, D_LCK itself stays until reset); the
//   C_BASE_SEG field is fixed at 010b (the 0xA0000 segment).
// Missing: what SMRAM would map (there is no SMM in this machine), DRAM timing effects, the
//   error-reporting machinery behind ERRCMD/ERRSTS (no errors happen).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "bus/pci.h"

namespace devices {

// One PAM segment: [base, base + size) and where its reads and writes go.
struct PamSegment {
  std::uint32_t base;
  std::uint32_t size;
  bool read_dram;   // RE: reads come from DRAM (else from the ROM / PCI side)
  bool write_dram;  // WE: writes go to DRAM (else to the PCI side, where ROM ignores them)
};

class I440fx final : public pci::PciFunction {
 public:
  static constexpr std::uint16_t kVendor = 0x8086;
  static constexpr std::uint16_t kDevice = 0x1237;
  static constexpr std::uint16_t kPam0 = 0x59;  // PAM0-PAM6: 59h-5Fh
  static constexpr unsigned kPamRegisters = 7;
  static constexpr unsigned kPamSegments = 13;
  static constexpr std::uint16_t kSmram = 0x72;
  static constexpr std::uint8_t kSmramOpen = 0x40;         // D_OPEN
  static constexpr std::uint8_t kSmramClose = 0x20;        // D_CLS
  static constexpr std::uint8_t kSmramLock = 0x10;         // D_LCK
  static constexpr std::uint8_t kSmramEnable = 0x08;       // G_SMRAME
  static constexpr std::uint8_t kSmramBaseSegment = 0x02;  // C_BASE_SEG = 010b, fixed

  // Called, with the function's lock held, after a configuration write to any PAM
  // register: all 13 segments in ascending address order.  It must not access this
  // function's configuration space.  Set before the guest runs.
  using PamListener = std::function<void(std::span<const PamSegment> segments)>;

  I440fx();

  void set_pam_listener(PamListener listener);
  // The segments as PAM0-PAM6 now say (also usable from the machine at reset).
  std::array<PamSegment, kPamSegments> pam_segments();
  std::uint8_t smram();

  // The segments a set of PAM register values describes (pam[0] is PAM0).
  static std::array<PamSegment, kPamSegments> decode_pam(
      std::span<const std::uint8_t, kPamRegisters> pam);

 protected:
  void config_written(std::uint16_t offset, unsigned size) override;

 private:
  std::array<std::uint8_t, kPamRegisters> pam_locked() const;

  PamListener pam_listener_;
  std::uint8_t smram_ = kSmramBaseSegment;  // guarded by the function's lock
};

}  // namespace devices
