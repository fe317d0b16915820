// PCI: configuration mechanism #1, the type-0 header, BAR sizing and remapping, INTx, and the
// chipset functions (i440FX PAM/SMRAM, PIIX3 PIRQ routing), driven through port accesses the
// way a guest makes them.
#include "bus/pci.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "devices/isa/reset_control.h"
#include "devices/pci/i440fx.h"
#include "devices/pci/piix3.h"

namespace {

constexpr std::uint16_t kAddr = 0xcf8;
constexpr std::uint16_t kData = 0xcfc;

// Answers reads with a tag plus the offset, records writes.
class Window : public bus::BusDevice {
 public:
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    for (std::size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<std::uint8_t>(0x40 + offset + i);
    }
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    writes.push_back({offset, data[0]});
  }
  std::vector<std::pair<std::uint64_t, std::uint8_t>> writes;
};

class TestFunction : public pci::PciFunction {
 public:
  TestFunction(std::string name, pci::IntxPin pin = pci::IntxPin::kIntA)
      : pci::PciFunction(
            std::move(name),
            pci::Identity{
                .vendor_id = 0x1234, .device_id = 0x5678, .revision = 3, .class_code = 0x020000}) {
    define_bar(0, pci::BarKind::kIo, 16, io_window);
    define_bar(1, pci::BarKind::kMemory32, 4096, mem_window);
    set_interrupt_pin(pin);
    set_writable(0x40, 0xff);
  }
  Window io_window;
  Window mem_window;
};

class PciTest : public ::testing::Test {
 protected:
  PciTest() {
    EXPECT_TRUE(
        ports.add(kAddr, pci::PciRoot::kAddressWindowSize, root.address_window(), "addr").ok());
    EXPECT_TRUE(ports.add(kData, pci::PciRoot::kDataWindowSize, root.data_window(), "data").ok());
  }
  void out32(std::uint16_t port, std::uint32_t v) {
    std::array<std::uint8_t, 4> b{};
    for (int i = 0; i < 4; ++i)
      b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    ports.write(port, b);
  }
  void out16(std::uint16_t port, std::uint16_t v) {
    std::array<std::uint8_t, 2> b{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)};
    ports.write(port, b);
  }
  void out8(std::uint16_t port, std::uint8_t v) { ports.write(port, std::span(&v, 1)); }
  std::uint32_t in32(std::uint16_t port) {
    std::array<std::uint8_t, 4> b{};
    ports.read(port, b);
    return b[0] | b[1] << 8 | b[2] << 16 | static_cast<std::uint32_t>(b[3]) << 24;
  }
  std::uint16_t in16(std::uint16_t port) {
    std::array<std::uint8_t, 2> b{};
    ports.read(port, b);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  std::uint8_t in8(std::uint16_t port) {
    std::uint8_t b = 0;
    ports.read(port, std::span(&b, 1));
    return b;
  }
  static std::uint32_t address(unsigned slot, unsigned fn, unsigned reg) {
    return 0x80000000u | slot << 11 | fn << 8 | reg;
  }
  std::uint32_t cfg_read32(unsigned slot, unsigned fn, unsigned reg) {
    out32(kAddr, address(slot, fn, reg));
    return in32(kData);
  }
  void cfg_write32(unsigned slot, unsigned fn, unsigned reg, std::uint32_t v) {
    out32(kAddr, address(slot, fn, reg));
    out32(kData, v);
  }

  bus::Bus ports{0x10000};
  bus::Bus mmio{~0ull};
  pci::PciRoot root{ports, mmio};
};

TEST_F(PciTest, Mechanism1ReadsTheHeaderAndAbsentFunctionsReadAllOnes) {
  devices::I440fx host;
  ASSERT_TRUE(root.plug(0, 0, host).ok());
  EXPECT_EQ(cfg_read32(0, 0, 0), 0x12378086u);
  EXPECT_EQ(cfg_read32(0, 0, 8) >> 8, 0x060000u);  // host bridge class
  EXPECT_EQ(cfg_read32(5, 0, 0), 0xffffffffu);     // empty slot
  EXPECT_EQ(cfg_read32(0, 3, 0), 0xffffffffu);     // absent function
  out32(kAddr, 0x80010000u);                       // bus 1: no such bus
  EXPECT_EQ(in32(kData), 0xffffffffu);
  // The address register keeps bit 31 and bus/device/function/register, not bits 30:24, 1:0.
  out32(kAddr, 0xff00fb07u);
  EXPECT_EQ(in32(kAddr), 0x8000fb04u);
  // Bit 31 clear: the data window is not configuration space.
  out32(kAddr, 0x00000000u);
  EXPECT_EQ(in32(kData), 0xffffffffu);
  // Narrow data accesses pick bytes within the dword.
  out32(kAddr, address(0, 0, 0));
  EXPECT_EQ(in16(kData + 2), 0x1237);
  EXPECT_EQ(in8(kData + 1), 0x80);
}

TEST_F(PciTest, AByteAt0xcf9IsTheResetRegisterNotTheAddress) {
  int resets = 0;
  devices::ResetControl reset([&] { ++resets; });
  root.set_byte_at_offset_1(&reset);
  out32(kAddr, 0x80000000u);
  out8(kAddr + 1, 0x02);
  EXPECT_EQ(in8(kAddr + 1), 0x02);
  EXPECT_EQ(in32(kAddr), 0x80000000u);  // the address did not change
  EXPECT_EQ(resets, 0);
  out8(kAddr + 1, 0x06);
  EXPECT_EQ(resets, 1);
  out32(kAddr, 0x80000400u);  // a dword never resets, whatever its bytes
  EXPECT_EQ(resets, 1);
  // Linux's type-1 probe writes a byte to 0xcfb: ignored.
  out8(kAddr + 3, 0x01);
  EXPECT_EQ(in32(kAddr), 0x80000400u);
}

TEST_F(PciTest, PlugRefusesTakenSlotsDuplicateNamesAndBadSlots) {
  TestFunction a("a"), b("a"), c("c");
  ASSERT_TRUE(root.plug(3, 0, a).ok());
  EXPECT_EQ(root.plug(3, 0, c).error(), pci::PciError::kSlotTaken);
  EXPECT_EQ(root.plug(4, 0, b).error(), pci::PciError::kDuplicateName);
  EXPECT_EQ(root.plug(32, 0, c).error(), pci::PciError::kBadSlot);
  EXPECT_EQ(root.plug(1, 8, c).error(), pci::PciError::kBadSlot);
  EXPECT_EQ(root.find("a"), &a);
  EXPECT_EQ(root.find("c"), nullptr);
}

TEST_F(PciTest, HeaderRegistersHoldOnlyTheirWritableBits) {
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  cfg_write32(2, 0, 0, 0xdeadbeef);  // IDs are read-only
  EXPECT_EQ(cfg_read32(2, 0, 0), 0x56781234u);
  cfg_write32(2, 0, 4, 0xffffffff);  // command: I/O, memory, master, SERR, INTx disable
  EXPECT_EQ(cfg_read32(2, 0, 4) & 0xffff, 0x0507u);
  cfg_write32(2, 0, 0x3c, 0xffffffff);  // interrupt line writable, pin read-only
  EXPECT_EQ(cfg_read32(2, 0, 0x3c) & 0xffff, 0x01ffu);
  cfg_write32(2, 0, 0x40, 0x12345678);  // only the byte the device made writable
  EXPECT_EQ(cfg_read32(2, 0, 0x40), 0x78u);
}

TEST_F(PciTest, BarSizingReadsBackTheSize) {
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  EXPECT_EQ(cfg_read32(2, 0, 0x10), 0x1u);  // I/O indicator
  cfg_write32(2, 0, 0x10, 0xffffffff);
  // 16 bytes of I/O; all 32 address bits writable, as QEMU's (SeaBIOS sizes it as 32 bits)
  EXPECT_EQ(cfg_read32(2, 0, 0x10), 0xfffffff1u);
  cfg_write32(2, 0, 0x14, 0xffffffff);
  EXPECT_EQ(cfg_read32(2, 0, 0x14), 0xfffff000u);  // 4 KiB of 32-bit memory
  cfg_write32(2, 0, 0x18, 0xffffffff);             // unimplemented BAR
  EXPECT_EQ(cfg_read32(2, 0, 0x18), 0u);
  cfg_write32(2, 0, 0x10, 0xc123);  // low bits below the size are dropped
  EXPECT_EQ(cfg_read32(2, 0, 0x10), 0xc121u);
}

TEST_F(PciTest, AnIoBarBeyondThePortSpaceDoesNotDecode) {
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  cfg_write32(2, 0, 4, pci::kCommandIo);
  cfg_write32(2, 0, 0x10, 0x1c000);  // would alias 0xc000 if only 16 bits counted
  EXPECT_FALSE(f.bar_mapping(0).has_value());
  EXPECT_EQ(in8(0xc002), 0xff);
  cfg_write32(2, 0, 0x10, 0xc000);
  EXPECT_EQ(f.bar_mapping(0), 0xc000u);
}

TEST_F(PciTest, BarsDecodeOnlyWhileEnabledAndFollowTheirAddress) {
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  cfg_write32(2, 0, 0x10, 0xc000);
  cfg_write32(2, 0, 0x14, 0xfebf0000);
  EXPECT_EQ(in8(0xc002), 0xff);  // decode off: nobody answers
  EXPECT_FALSE(f.bar_mapping(0).has_value());

  cfg_write32(2, 0, 4, pci::kCommandIo);
  EXPECT_EQ(in8(0xc002), 0x42);  // offset 2 inside the BAR
  EXPECT_EQ(f.bar_mapping(0), 0xc000u);
  EXPECT_FALSE(f.bar_mapping(1).has_value());  // memory decode still off

  cfg_write32(2, 0, 4, pci::kCommandIo | pci::kCommandMemory);
  std::uint8_t b = 0;
  mmio.read(0xfebf0010, std::span(&b, 1));
  EXPECT_EQ(b, 0x50);

  // Moving the BAR moves the decode.
  cfg_write32(2, 0, 0x10, 0xd010);
  EXPECT_EQ(in8(0xc002), 0xff);
  EXPECT_EQ(in8(0xd013), 0x43);
  out8(0xd011, 0x99);
  ASSERT_EQ(f.io_window.writes.size(), 1u);
  EXPECT_EQ(f.io_window.writes[0], (std::pair<std::uint64_t, std::uint8_t>{1, 0x99}));

  // Address 0 means unassigned; decode off takes both off the buses.
  cfg_write32(2, 0, 0x10, 0);
  EXPECT_FALSE(f.bar_mapping(0).has_value());
  cfg_write32(2, 0, 0x10, 0xd010);
  cfg_write32(2, 0, 4, 0);
  EXPECT_EQ(in8(0xd013), 0xff);
  mmio.read(0xfebf0010, std::span(&b, 1));
  EXPECT_EQ(b, 0xff);
}

TEST_F(PciTest, ABarOverAnotherDeviceStaysUnmappedAndIsCounted) {
  Window legacy;
  ASSERT_TRUE(ports.add(0x1f0, 8, legacy, "legacy").ok());
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  cfg_write32(2, 0, 0x10, 0x1f0);
  cfg_write32(2, 0, 4, pci::kCommandIo);
  EXPECT_FALSE(f.bar_mapping(0).has_value());
  EXPECT_EQ(f.bar_conflicts(), 1u);
  cfg_write32(2, 0, 0x10, 0xc000);  // a free place works
  EXPECT_EQ(f.bar_mapping(0), 0xc000u);
}

TEST_F(PciTest, IntxSetsStatusAndHonoursInterruptDisable) {
  TestFunction f("f", pci::IntxPin::kIntB);
  std::vector<std::tuple<unsigned, unsigned, pci::IntxPin, bool>> seen;
  root.set_intx_router([&](unsigned slot, unsigned fn, pci::IntxPin pin, bool level) {
    seen.emplace_back(slot, fn, pin, level);
  });
  ASSERT_TRUE(root.plug(6, 2, f).ok());
  f.set_intx(true);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_tuple(6u, 2u, pci::IntxPin::kIntB, true));
  EXPECT_EQ(cfg_read32(6, 2, 4) >> 16 & pci::kStatusInterrupt, pci::kStatusInterrupt);
  // INTx disable drops the output but keeps the status bit.
  cfg_write32(6, 2, 4, pci::kCommandInterruptDisable);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(std::get<3>(seen[1]));
  EXPECT_EQ(cfg_read32(6, 2, 4) >> 16 & pci::kStatusInterrupt, pci::kStatusInterrupt);
  cfg_write32(6, 2, 4, 0);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(std::get<3>(seen[2]));
  f.set_intx(false);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_FALSE(std::get<3>(seen[3]));
  EXPECT_EQ(cfg_read32(6, 2, 4) >> 16 & pci::kStatusInterrupt, 0u);
}

// ---- PIIX3: PIRQ routing ----------------------------------------------------------------

class PirqTest : public PciTest {
 protected:
  PirqTest() : piix3([this](unsigned irq, bool level) { events.emplace_back(irq, level); }) {
    EXPECT_TRUE(root.plug(1, 0, piix3).ok());
    root.set_intx_router([this](unsigned slot, unsigned fn, pci::IntxPin pin, bool level) {
      piix3.pci_intx(slot, fn, pin, level);
    });
  }
  void route(unsigned pirq, std::uint8_t value) {
    out32(kAddr, address(1, 0, 0x60));
    out8(static_cast<std::uint16_t>(kData + pirq), value);
  }
  devices::Piix3 piix3;
  std::vector<std::pair<unsigned, bool>> events;
};

TEST_F(PirqTest, IdentityAndResetValues) {
  EXPECT_EQ(cfg_read32(1, 0, 0), 0x70008086u);
  EXPECT_EQ(cfg_read32(1, 0, 8) >> 8, 0x060100u);
  EXPECT_EQ(cfg_read32(1, 0, 0xc) >> 16 & 0x80, 0x80u);  // multi-function
  EXPECT_EQ(cfg_read32(1, 0, 0x60), 0x80808080u);        // all PIRQs disabled
}

TEST_F(PirqTest, TheSwizzleMatchesFirmware) {
  // (slot - 1 + pin - 1) mod 4, INTA = pin 1.
  EXPECT_EQ(devices::Piix3::pirq_of(1, pci::IntxPin::kIntA), 0u);
  EXPECT_EQ(devices::Piix3::pirq_of(2, pci::IntxPin::kIntA), 1u);
  EXPECT_EQ(devices::Piix3::pirq_of(3, pci::IntxPin::kIntD), 1u);
  EXPECT_EQ(devices::Piix3::pirq_of(0, pci::IntxPin::kIntA), 3u);
}

TEST_F(PirqTest, ARoutedPirqDrivesItsIsaIrqAndFollowsReroutes) {
  TestFunction f("f");  // slot 2, INTA -> PIRQB
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  f.set_intx(true);
  EXPECT_TRUE(events.empty());  // PIRQB is disabled at reset
  route(1, 11);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.back(), (std::pair<unsigned, bool>{11, true}));
  route(1, 10);  // moves: 11 drops, then 10 rises
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], (std::pair<unsigned, bool>{11, false}));
  EXPECT_EQ(events[2], (std::pair<unsigned, bool>{10, true}));
  f.set_intx(false);
  EXPECT_EQ(events.back(), (std::pair<unsigned, bool>{10, false}));
  f.set_intx(true);
  route(1, 0x80 | 10);  // disabled again
  EXPECT_EQ(events.back(), (std::pair<unsigned, bool>{10, false}));
  EXPECT_FALSE(piix3.isa_irq_level(10));
}

TEST_F(PirqTest, ReservedIrqsAreNeverDriven) {
  TestFunction f("f");
  ASSERT_TRUE(root.plug(2, 0, f).ok());
  f.set_intx(true);
  for (std::uint8_t irq : {0, 1, 2, 8, 13}) {
    route(1, irq);
    EXPECT_TRUE(events.empty()) << "IRQ " << int(irq);
  }
  route(1, 14);
  EXPECT_EQ(events.back(), (std::pair<unsigned, bool>{14, true}));
}

TEST_F(PirqTest, SharersAreWiredOr) {
  TestFunction a("a"), b("b"), c("c");
  ASSERT_TRUE(root.plug(2, 0, a).ok());  // PIRQB
  ASSERT_TRUE(root.plug(6, 0, b).ok());  // slot 6 INTA: PIRQB too
  ASSERT_TRUE(root.plug(3, 0, c).ok());  // PIRQC
  route(1, 11);
  route(2, 11);
  a.set_intx(true);
  b.set_intx(true);
  c.set_intx(true);
  ASSERT_EQ(events.size(), 1u);  // one rising edge for all three
  a.set_intx(false);
  c.set_intx(false);
  EXPECT_TRUE(piix3.isa_irq_level(11));
  b.set_intx(false);
  EXPECT_FALSE(piix3.isa_irq_level(11));
  EXPECT_EQ(events.back(), (std::pair<unsigned, bool>{11, false}));
}

// ---- i440FX: PAM and SMRAM --------------------------------------------------------------

TEST_F(PciTest, PamWritesReachTheListenerAsSegments) {
  devices::I440fx host;
  ASSERT_TRUE(root.plug(0, 0, host).ok());
  std::vector<std::array<devices::PamSegment, 13>> calls;
  host.set_pam_listener([&](std::span<const devices::PamSegment> s) {
    std::array<devices::PamSegment, 13> copy{};
    std::copy(s.begin(), s.end(), copy.begin());
    calls.push_back(copy);
  });
  // PAM0 = 0x30 (F0000 read/write DRAM), PAM1 = 0x12 (C0000 write-only, C4000 read-only).
  out32(kAddr, address(0, 0, 0x58));
  out16(kData + 1, 0x1230 | 0);  // 0x59 = 0x30, 0x5a = 0x12
  ASSERT_EQ(calls.size(), 1u);
  const auto& seg = calls[0];
  EXPECT_EQ(seg[0].base, 0xc0000u);
  EXPECT_EQ(seg[0].size, 0x4000u);
  EXPECT_FALSE(seg[0].read_dram);
  EXPECT_TRUE(seg[0].write_dram);
  EXPECT_EQ(seg[1].base, 0xc4000u);
  EXPECT_TRUE(seg[1].read_dram);
  EXPECT_FALSE(seg[1].write_dram);
  EXPECT_EQ(seg[11].base, 0xec000u);
  EXPECT_EQ(seg[12].base, 0xf0000u);
  EXPECT_EQ(seg[12].size, 0x10000u);
  EXPECT_TRUE(seg[12].read_dram && seg[12].write_dram);
  // Reserved bits do not stick; a write elsewhere does not call the listener.
  out32(kAddr, address(0, 0, 0x58));
  out8(kData + 1, 0xff);
  EXPECT_EQ(in8(kData + 1), 0x30);
  out32(kAddr, address(0, 0, 0x50));
  out8(kData, 0x11);
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_EQ(host.pam_segments()[12].read_dram, true);
}

TEST_F(PciTest, SmramLockFreezesTheRegister) {
  devices::I440fx host;
  ASSERT_TRUE(root.plug(0, 0, host).ok());
  EXPECT_EQ(host.smram(), 0x02);
  out32(kAddr, address(0, 0, 0x70));
  out8(kData + 2, 0x4a);  // D_OPEN | G_SMRAME, base segment fixed
  EXPECT_EQ(host.smram(), 0x4a);
  out8(kData + 2, 0x1f);  // D_LCK closes D_OPEN
  EXPECT_EQ(host.smram(), 0x1a);
  out8(kData + 2, 0x40);  // locked: D_OPEN cannot be set, D_LCK stays
  EXPECT_EQ(host.smram() & 0x50, 0x10);
  out8(kData + 2, 0x3a);  // D_CLS still changes
  EXPECT_EQ(host.smram(), 0x3a);
}

}  // namespace
