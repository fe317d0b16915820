#include "devices/pci/i440fx.h"

namespace devices {

namespace {

constexpr pci::Identity kIdentity{
    .vendor_id = I440fx::kVendor,
    .device_id = I440fx::kDevice,
    .revision = 0x02,
    .class_code = 0x060000,  // bridge, host bridge
};

// Registers that simply hold what firmware writes, with their writable bits.
struct PlainRegister {
  std::uint16_t offset;
  std::uint8_t mask;
};
constexpr PlainRegister kPlainRegisters[] = {
    {0x50, 0xff}, {0x51, 0xff},                                            // PMCCFG
    {0x52, 0xff},                                                          // DETURBO
    {0x53, 0xff},                                                          // DBC
    {0x55, 0xff}, {0x56, 0xff},                                            // DRT
    {0x57, 0xff},                                                          // DRAMC
    {0x58, 0xff},                                                          // DRAMT
    {0x60, 0xff}, {0x61, 0xff}, {0x62, 0xff}, {0x63, 0xff},                // DRB0-7
    {0x64, 0xff}, {0x65, 0xff}, {0x66, 0xff}, {0x67, 0xff}, {0x68, 0xff},  // FDHC
    {0x70, 0xff},                                                          // MTT
    {0x71, 0xff},                                                          // CLT
    {0x90, 0xff},                                                          // ERRCMD
    {0x93, 0xff},                                                          // TRC
};

}  // namespace

I440fx::I440fx() : pci::PciFunction("i440fx", kIdentity) {
  for (const auto& r : kPlainRegisters) {
    set_writable(r.offset, r.mask);
  }
  // PAM0's low nibble is reserved; the others hold two segments each (bits 0-1 and 4-5).
  set_writable(kPam0, 0x30);
  for (unsigned i = 1; i < kPamRegisters; ++i) {
    set_writable(static_cast<std::uint16_t>(kPam0 + i), 0x33);
  }
  set_writable(kSmram, kSmramOpen | kSmramClose | kSmramLock | kSmramEnable);
  const std::uint8_t smram = kSmramBaseSegment;
  set_config(kSmram, std::span(&smram, 1));
  // The DRB rows reset to 01h (8 MiB each); firmware programs the real sizes.
  const std::uint8_t drb[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  set_config(0x60, drb);
}

void I440fx::set_pam_listener(PamListener listener) {
  pam_listener_ = std::move(listener);
}

std::array<PamSegment, I440fx::kPamSegments> I440fx::decode_pam(
    std::span<const std::uint8_t, kPamRegisters> pam) {
  std::array<PamSegment, kPamSegments> out{};
  // Segments in ascending address order: PAM1-PAM6 cover 0xC0000-0xEFFFF in 16 KiB halves
  // (low nibble first), PAM0's high nibble the 64 KiB at 0xF0000.
  unsigned n = 0;
  for (unsigned reg = 1; reg < kPamRegisters; ++reg) {
    for (unsigned half = 0; half < 2; ++half) {
      const std::uint8_t bits = static_cast<std::uint8_t>(pam[reg] >> (4 * half));
      out[n++] = PamSegment{0xc0000u + (reg - 1) * 0x8000u + half * 0x4000u, 0x4000u,
                            (bits & 1) != 0, (bits & 2) != 0};
    }
  }
  const std::uint8_t bits = static_cast<std::uint8_t>(pam[0] >> 4);
  out[n] = PamSegment{0xf0000u, 0x10000u, (bits & 1) != 0, (bits & 2) != 0};
  return out;
}

std::array<PamSegment, I440fx::kPamSegments> I440fx::pam_segments() {
  std::array<std::uint8_t, kPamRegisters> pam{};
  for (unsigned i = 0; i < kPamRegisters; ++i) {
    pam[i] = static_cast<std::uint8_t>(config_read(static_cast<std::uint16_t>(kPam0 + i), 1));
  }
  return decode_pam(pam);
}

std::uint8_t I440fx::smram() {
  return static_cast<std::uint8_t>(config_read(kSmram, 1));
}

std::array<std::uint8_t, I440fx::kPamRegisters> I440fx::pam_locked() const {
  std::array<std::uint8_t, kPamRegisters> pam{};
  for (unsigned i = 0; i < kPamRegisters; ++i) {
    pam[i] = config_byte_locked(static_cast<std::uint16_t>(kPam0 + i));
  }
  return pam;
}

void I440fx::config_written(std::uint16_t offset, unsigned size) {
  const unsigned end = offset + size;
  if (offset <= kSmram && end > kSmram) {
    std::uint8_t value = config_byte_locked(kSmram);
    if (smram_ & kSmramLock) {
      // Locked: only D_CLS still changes; D_OPEN stays 0, the rest as it was.
      value = static_cast<std::uint8_t>((smram_ & ~kSmramClose) | (value & kSmramClose));
      value &= static_cast<std::uint8_t>(~kSmramOpen);
    } else if (value & kSmramLock) {
      value &= static_cast<std::uint8_t>(~kSmramOpen);  // setting D_LCK closes the window
    }
    value = static_cast<std::uint8_t>((value & ~0x07) | kSmramBaseSegment);
    set_config_byte_locked(kSmram, value);
    smram_ = value;
  }
  if (offset < kPam0 + kPamRegisters && end > kPam0 && pam_listener_) {
    const auto pam = pam_locked();
    const auto segments = decode_pam(pam);
    pam_listener_(segments);
  }
}

}  // namespace devices
