#include "machine/loader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using machine::LoadErrc;

constexpr std::uint32_t kMagic = 0x1BADB002;

void put32(std::vector<std::uint8_t>& image, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    image[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Header {
  std::uint32_t flags = 0x00010003;  // a.out kludge, memory info, page-aligned modules
  std::uint32_t header_addr = 0x100000;
  std::uint32_t load_addr = 0x100000;
  std::uint32_t load_end_addr = 0;
  std::uint32_t bss_end_addr = 0;
  std::uint32_t entry_addr = 0x100020;
  std::optional<std::uint32_t> checksum;  // default: correct
};

// A synthetic multiboot image: the header at header_offset, then a recognisable byte pattern.
std::vector<std::uint8_t> multiboot_image(const Header& h, std::size_t size = 256,
                                          std::size_t header_offset = 0) {
  std::vector<std::uint8_t> image(size);
  for (std::size_t i = 0; i < size; ++i) {
    image[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }
  put32(image, header_offset + 0, kMagic);
  put32(image, header_offset + 4, h.flags);
  put32(image, header_offset + 8, h.checksum.value_or(0u - kMagic - h.flags));
  put32(image, header_offset + 12, h.header_addr);
  put32(image, header_offset + 16, h.load_addr);
  put32(image, header_offset + 20, h.load_end_addr);
  put32(image, header_offset + 24, h.bss_end_addr);
  put32(image, header_offset + 28, h.entry_addr);
  return image;
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = vmm::GuestMemory::allocate(0, kRamSize);
    ASSERT_TRUE(mem.ok());
    ram.emplace(std::move(mem.value()));
    // Dirty RAM so the test sees what the loader zeroes.
    ASSERT_TRUE(ram->fill(0, kRamSize, 0xcc).ok());
  }
  LoadErrc load_error(const std::vector<std::uint8_t>& image) {
    auto r = machine::load_image(image, *ram);
    EXPECT_FALSE(r.ok());
    if (r.ok()) {
      return LoadErrc::kFileUnreadable;  // anything; the EXPECT above already failed
    }
    EXPECT_FALSE(r.error().message.empty());
    return r.error().code;
  }

  static constexpr std::uint64_t kRamSize = 4 << 20;
  std::optional<vmm::GuestMemory> ram;
};

TEST_F(LoaderTest, MultibootImageIsPlacedPerHeaderWithBssAndInfo) {
  Header h;
  h.bss_end_addr = 0x100000 + 256 + 0x1000;
  auto image = multiboot_image(h);
  auto r = machine::load_image(image, *ram);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, machine::ImageKind::kMultiboot);
  EXPECT_EQ(r->load_start, 0x100000u);
  EXPECT_EQ(r->load_end, 0x100000u + 256);
  EXPECT_EQ(r->bss_end, 0x100000u + 256 + 0x1000);
  EXPECT_EQ(std::memcmp(ram->host_pointer(0x100000, 256), image.data(), 256), 0);
  const std::uint8_t* bss = ram->host_pointer(0x100000 + 256, 0x1000);
  for (int i = 0; i < 0x1000; ++i) {
    ASSERT_EQ(bss[i], 0) << "bss byte " << i;
  }
  EXPECT_EQ(*ram->host_pointer(0x100000 + 256 + 0x1000, 1), 0xcc) << "past bss is untouched";

  EXPECT_EQ(r->boot.mode, machine::CpuMode::kProtected32);
  EXPECT_EQ(r->boot.rip, 0x100020u);
  EXPECT_EQ(r->boot.rax, 0x2BADB002u);
  EXPECT_EQ(r->boot.rbx, machine::kMultibootInfoAddr);

  const std::uint8_t* info = ram->host_pointer(machine::kMultibootInfoAddr, 12);
  EXPECT_EQ(get32(info) & 1, 1u) << "flags bit 0: mem_lower/mem_upper valid";
  EXPECT_EQ(get32(info + 4), 640u);
  EXPECT_EQ(get32(info + 8), (kRamSize - 0x100000) / 1024);
}

TEST_F(LoaderTest, HeaderLaterInTheFileMapsLoadAddrToAnEarlierFileOffset) {
  Header h;
  h.header_addr = 0x200040;
  h.load_addr = 0x200000;  // file offset 0x40 - 0x40 = 0 is load_addr
  h.entry_addr = 0x200080;
  auto image = multiboot_image(h, 512, 0x40);
  auto r = machine::load_image(image, *ram);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::memcmp(ram->host_pointer(0x200000, 512), image.data(), 512), 0);
  EXPECT_EQ(r->boot.rip, 0x200080u);
}

TEST_F(LoaderTest, LoadEndAddrLimitsWhatIsCopied) {
  Header h;
  h.load_end_addr = 0x100080;
  auto image = multiboot_image(h, 512);
  auto r = machine::load_image(image, *ram);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::memcmp(ram->host_pointer(0x100000, 0x80), image.data(), 0x80), 0);
  EXPECT_EQ(*ram->host_pointer(0x100080, 1), 0xcc);
}

TEST_F(LoaderTest, BadChecksumIsRejected) {
  Header h;
  h.checksum = 0x12345678;
  EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootBadChecksum);
}

TEST_F(LoaderTest, ElfMultibootIsRejectedWithAMessageSayingSo) {
  Header h;
  h.flags = 0x00000003;
  auto r = machine::load_image(multiboot_image(h), *ram);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LoadErrc::kMultibootElfUnsupported);
  EXPECT_NE(r.error().message.find("ELF"), std::string::npos) << r.error().message;
}

TEST_F(LoaderTest, UnknownRequiredFlagIsRejected) {
  Header h;
  h.flags = 0x00010000 | (1u << 5);
  EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootUnsupportedFlags);
}

TEST_F(LoaderTest, ImageThatDoesNotFitInRamIsRejected) {
  Header h;
  h.load_addr = h.header_addr = 0x3ff000;
  h.entry_addr = 0x3ff020;
  h.bss_end_addr = 0x3ff000 + 0x2000;  // runs 4 KiB past the end of the 4 MiB RAM
  EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kDoesNotFit);
  // The same image ending exactly at the end of RAM loads.
  h.bss_end_addr = 0x400000;
  EXPECT_TRUE(machine::load_image(multiboot_image(h), *ram).ok());
}

TEST_F(LoaderTest, LoadBelowOneMebibyteIsRejected) {
  Header h;
  h.load_addr = h.header_addr = 0x8000;
  h.entry_addr = 0x8020;
  EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootBelow1MiB);
}

TEST_F(LoaderTest, InconsistentAddressesAreRejected) {
  {
    Header h;
    h.entry_addr = 0x100000 + 256;  // one past the loaded bytes
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
  {
    Header h;
    h.header_addr = 0xff000;  // below load_addr
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
  {
    Header h;
    h.header_addr = 0x100010;  // header would be 16 bytes into the file; it is at 0
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
  {
    Header h;
    h.load_end_addr = 0x100000 + 257;  // one byte more than the file has
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
  {
    Header h;
    h.load_end_addr = 0x100000;  // empty load
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
  {
    Header h;
    h.load_end_addr = 0x100080;
    h.bss_end_addr = 0x100040;  // below load_end
    EXPECT_EQ(load_error(multiboot_image(h)), LoadErrc::kMultibootInconsistent);
  }
}

TEST_F(LoaderTest, HeaderCutOffAtTheSearchLimitIsRejected) {
  // Magic at 8180: the address fields would run past the first 8192 bytes.
  std::vector<std::uint8_t> image(9000, 0x90);
  put32(image, 8180, kMagic);
  put32(image, 8184, 0x00010000);
  put32(image, 8188, 0u - kMagic - 0x00010000);
  EXPECT_EQ(load_error(image), LoadErrc::kMultibootInconsistent);
}

TEST_F(LoaderTest, MagicBeyondTheFirst8KiBMeansFlat) {
  std::vector<std::uint8_t> image(9000, 0x90);
  put32(image, 8192, kMagic);
  put32(image, 8196, 0x00010000);
  put32(image, 8200, 0u - kMagic - 0x00010000);
  auto r = machine::load_image(image, *ram);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, machine::ImageKind::kFlat);
}

TEST_F(LoaderTest, MisalignedMagicIsNotAHeader) {
  std::vector<std::uint8_t> image(64, 0xf4);
  std::vector<std::uint8_t> with_magic = image;
  put32(with_magic, 2, kMagic);
  auto r = machine::load_image(with_magic, *ram);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, machine::ImageKind::kFlat);
}

TEST_F(LoaderTest, FlatImageRunsInRealModeAt7C00) {
  std::vector<std::uint8_t> image = {0xb0, 'h', 0xe6, 0xe9, 0xf4};  // arbitrary code bytes
  auto r = machine::load_image(image, *ram);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, machine::ImageKind::kFlat);
  EXPECT_EQ(r->load_start, 0x7c00u);
  EXPECT_EQ(std::memcmp(ram->host_pointer(0x7c00, image.size()), image.data(), image.size()), 0);
  EXPECT_EQ(r->boot.mode, machine::CpuMode::kReal16);
  EXPECT_EQ(r->boot.rip, 0x7c00u);
  EXPECT_EQ(r->boot.rsp, 0x7c00u);
  EXPECT_EQ(r->boot.rdx, 0x80u);
}

TEST_F(LoaderTest, FlatImageMustEndBelowVgaMemory) {
  std::vector<std::uint8_t> fits(machine::kFlatLoadLimit - machine::kFlatLoadAddr, 0x90);
  EXPECT_TRUE(machine::load_image(fits, *ram).ok());
  std::vector<std::uint8_t> too_big(fits.size() + 1, 0x90);
  EXPECT_EQ(load_error(too_big), LoadErrc::kDoesNotFit);
}

TEST_F(LoaderTest, FlatImageMustFitInSmallRam) {
  auto small = vmm::GuestMemory::allocate(0, 0x8000);
  ASSERT_TRUE(small.ok());
  std::vector<std::uint8_t> image(0x401, 0x90);  // 0x7c00 + 0x401 > 0x8000
  auto r = machine::load_image(image, small.value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LoadErrc::kDoesNotFit);
  image.resize(0x400);
  EXPECT_TRUE(machine::load_image(image, small.value()).ok());
}

TEST_F(LoaderTest, EmptyImageIsRejected) {
  EXPECT_EQ(load_error({}), LoadErrc::kEmptyImage);
}

TEST(BootState, MultibootStartsInFlatProtectedModeWithInterruptsOff) {
  machine::BootState boot;
  boot.mode = machine::CpuMode::kProtected32;
  boot.rip = 0x100020;
  boot.rax = 0x2BADB002;
  boot.rbx = 0x9000;
  kvm_regs regs{};
  regs.rcx = 0x1234;  // stale values must not survive
  kvm_sregs sregs{};
  sregs.apic_base = 0xfee00900;  // fields apply_boot_state does not own are kept
  machine::apply_boot_state(boot, regs, sregs);
  EXPECT_EQ(regs.rip, 0x100020u);
  EXPECT_EQ(regs.rax, 0x2BADB002u);
  EXPECT_EQ(regs.rbx, 0x9000u);
  EXPECT_EQ(regs.rcx, 0u);
  EXPECT_EQ(regs.rflags, 0x2u);
  EXPECT_EQ(sregs.cr0 & 0x80000001u, 0x1u) << "PE on, PG off";
  EXPECT_EQ(sregs.apic_base, 0xfee00900u);
  for (const kvm_segment* s : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
    EXPECT_EQ(s->base, 0u);
    EXPECT_EQ(s->limit, 0xffffffffu);
    EXPECT_EQ(s->present, 1);
    EXPECT_EQ(s->s, 1);
    EXPECT_EQ(s->db, 1);
    EXPECT_EQ(s->g, 1);
    EXPECT_EQ(s->dpl, 0);
  }
  EXPECT_EQ(sregs.cs.type & 0x8, 0x8) << "CS is a code segment";
  EXPECT_EQ(sregs.ds.type & 0xa, 0x2) << "data segments are writable data";
  EXPECT_EQ(sregs.efer, 0u);
}

TEST(BootState, FlatStartsInRealModeAt0000_7C00) {
  machine::BootState boot;
  boot.mode = machine::CpuMode::kReal16;
  boot.rip = 0x7c00;
  boot.rsp = 0x7c00;
  boot.rdx = 0x80;
  kvm_regs regs{};
  kvm_sregs sregs{};
  sregs.cs.selector = 0xf000;  // KVM's reset CS
  sregs.cs.base = 0xffff0000;
  sregs.cr0 = 0x60000010;
  machine::apply_boot_state(boot, regs, sregs);
  EXPECT_EQ(regs.rip, 0x7c00u);
  EXPECT_EQ(regs.rsp, 0x7c00u);
  EXPECT_EQ(regs.rdx, 0x80u);
  EXPECT_EQ(regs.rflags, 0x2u);
  EXPECT_EQ(sregs.cr0 & 1, 0u);
  for (const kvm_segment* s : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.ss}) {
    EXPECT_EQ(s->selector, 0);
    EXPECT_EQ(s->base, 0u);
    EXPECT_EQ(s->limit, 0xffffu);
    EXPECT_EQ(s->present, 1);
  }
}

}  // namespace

#include "machine/cpuid.h"

namespace {

TEST(BootState, Long64IsFlat64BitCodeWithPagingAndTheLoadersGdt) {
  machine::BootState boot;
  boot.mode = machine::CpuMode::kLong64;
  boot.rip = 0x100200;
  boot.rsi = 0x7000;
  boot.rsp = 0x8ff0;
  boot.cr3 = 0x1000;
  boot.gdt_base = 0x500;
  boot.gdt_limit = 31;
  kvm_regs regs{};
  kvm_sregs sregs{};
  sregs.tr.type = 11;  // from KVM's reset state: must be kept
  machine::apply_boot_state(boot, regs, sregs);
  EXPECT_EQ(regs.rip, 0x100200u);
  EXPECT_EQ(regs.rsi, 0x7000u);
  EXPECT_EQ(regs.rsp, 0x8ff0u);
  EXPECT_EQ(regs.rflags, 0x2u) << "interrupts off";
  EXPECT_EQ(sregs.cs.selector, 0x10);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.db, 0);
  EXPECT_EQ(sregs.ds.selector, 0x18);
  EXPECT_EQ(sregs.ss.selector, 0x18);
  EXPECT_EQ(sregs.cr0 & 0x80000001u, 0x80000001u) << "PE and PG";
  EXPECT_EQ(sregs.cr3, 0x1000u);
  EXPECT_EQ(sregs.cr4 & 0x20, 0x20u) << "PAE";
  EXPECT_EQ(sregs.efer & 0x500, 0x500u) << "LME and LMA";
  EXPECT_EQ(sregs.gdt.base, 0x500u);
  EXPECT_EQ(sregs.gdt.limit, 31);
  EXPECT_EQ(sregs.tr.type, 11);
}

TEST(GuestCpuid, SetsApicIdAndHypervisorBitAndKeepsTheRest) {
  std::vector<kvm_cpuid_entry2> supported(3);
  supported[0].function = 0;
  supported[0].eax = 0xd;
  supported[0].ebx = 0x68747541;
  supported[1].function = 1;
  supported[1].ebx = 0xff020800;  // stale APIC ID ff, 2 logical processors, clflush 8
  supported[1].ecx = 0x00000001;
  supported[1].edx = 0x178bfbff;
  supported[2].function = 0xb;
  supported[2].index = 1;
  supported[2].edx = 0x55;
  auto cpuid = machine::guest_cpuid(supported, 3);
  ASSERT_EQ(cpuid.size(), 3u);
  EXPECT_EQ(cpuid[0].eax, 0xdu);
  EXPECT_EQ(cpuid[0].ebx, 0x68747541u);
  EXPECT_EQ(cpuid[1].ebx, 0x03020800u);
  EXPECT_EQ(cpuid[1].ecx, 0x80000001u);
  EXPECT_EQ(cpuid[1].edx, 0x178bfbffu);
  EXPECT_EQ(cpuid[2].edx, 3u);
  EXPECT_EQ(cpuid[2].index, 1u);
  EXPECT_EQ(cpuid[1].ecx & (1u << 24), 0u) << "no TSC deadline unless asked";
  EXPECT_EQ(machine::guest_cpuid(supported, 3, true)[1].ecx, 0x81000001u)
      << "TSC deadline with the in-kernel local APIC";
}

}  // namespace
