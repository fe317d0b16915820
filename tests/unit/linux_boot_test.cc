// The Linux boot protocol loader, on synthetic bzImages (and the distro's, when it is there).
#include "machine/linux_boot.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "machine/layout.h"

namespace {

using machine::LoadErrc;
namespace bz = machine::bzimage;
namespace layout = machine::layout;

void put(std::vector<std::uint8_t>& v, std::size_t at, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    v[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::uint64_t get(const std::uint8_t* p, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  }
  return v;
}

struct FakeKernel {
  std::uint8_t setup_sects = 4;
  std::uint16_t protocol = 0x020f;
  std::uint8_t loadflags = bz::kLoadedHigh;
  std::uint16_t xloadflags = bz::kXlfKernel64;
  std::uint32_t initrd_addr_max = 0x7fffffff;
  std::uint32_t cmdline_size = 2047;
  std::uint64_t pref_address = 0x1000000;
  std::uint32_t init_size = 0x800000;  // 8 MiB
  std::size_t payload = 0x3000;        // protected-mode kernel bytes
  std::optional<std::uint32_t> syssize;

  std::vector<std::uint8_t> image() const {
    const std::size_t setup = (setup_sects + 1) * 512;
    std::vector<std::uint8_t> v(setup + payload);
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i] = static_cast<std::uint8_t>(i * 13 + 5);
    }
    v[bz::kSetupSects] = setup_sects;
    put(v, bz::kSysSize, syssize.value_or(static_cast<std::uint32_t>(payload / 16)), 4);
    put(v, bz::kBootFlag, 0xaa55, 2);
    v[0x200] = 0xeb;
    v[bz::kHeaderEndByte] = 0x6a;  // header runs to 0x26c, as in 2.15 kernels
    std::memcpy(&v[bz::kHeaderMagic], "HdrS", 4);
    put(v, bz::kVersion, protocol, 2);
    v[bz::kTypeOfLoader] = 0;
    v[bz::kLoadFlags] = loadflags;
    put(v, bz::kRamdiskImage, 0, 8);
    put(v, bz::kCmdLinePtr, 0, 4);
    put(v, bz::kInitrdAddrMax, initrd_addr_max, 4);
    put(v, bz::kKernelAlignment, 0x200000, 4);
    v[bz::kRelocatableKernel] = 1;
    put(v, bz::kXLoadFlags, xloadflags, 2);
    put(v, bz::kCmdlineSize, cmdline_size, 4);
    put(v, bz::kPrefAddress, pref_address, 8);
    put(v, bz::kInitSize, init_size, 4);
    v[0x1ef] = 0xff;  // the sentinel the kernel checks a loader did not copy
    return v;
  }
};

class LinuxBootTest : public ::testing::Test {
 protected:
  void make_ram(std::uint64_t bytes) {
    ram_layout = machine::ram_layout(bytes);
    auto mem = vmm::GuestMemory::allocate(machine::ram_regions(ram_layout));
    ASSERT_TRUE(mem.ok());
    ram.emplace(std::move(mem.value()));
  }
  void SetUp() override { make_ram(64ull << 20); }

  vmm::Result<machine::LoadedImage, machine::LoadError> load(const std::vector<std::uint8_t>& image,
                                                             std::string cmdline = "console=ttyS0",
                                                             std::vector<std::uint8_t> initrd = {}) {
    cmdline_ = std::move(cmdline);
    initrd_ = std::move(initrd);
    machine::LinuxBootConfig config;
    config.cmdline = cmdline_;
    config.initrd = initrd_;
    config.ram = ram_layout;
    config.rsdp_addr = 0xe0000;
    return machine::load_linux(image, config, *ram);
  }
  LoadErrc error_of(const std::vector<std::uint8_t>& image, std::string cmdline = "",
                    std::vector<std::uint8_t> initrd = {}) {
    auto r = load(image, std::move(cmdline), std::move(initrd));
    EXPECT_FALSE(r.ok());
    if (r.ok()) {
      return LoadErrc::kFileUnreadable;
    }
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    message = r.error().message;
    return r.error().code;
  }
  const std::uint8_t* params() { return ram->host_pointer(layout::kBootParamsAddr, 4096); }

  machine::RamLayout ram_layout;
  std::optional<vmm::GuestMemory> ram;
  std::string cmdline_;
  std::vector<std::uint8_t> initrd_;
  std::string message;
};

TEST_F(LinuxBootTest, RecognisesTheHeader) {
  const auto image = FakeKernel{}.image();
  EXPECT_TRUE(machine::looks_like_bzimage(image));
  auto info = machine::parse_bzimage(image);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->protocol, 0x020f);
  EXPECT_EQ(info->setup_size, 5u * 512);
  EXPECT_EQ(info->cmdline_size, 2047u);
  EXPECT_EQ(info->init_size, 0x800000u);
  EXPECT_EQ(info->header_end, 0x26cu);
  std::vector<std::uint8_t> flat(4096, 0x90);
  EXPECT_FALSE(machine::looks_like_bzimage(flat));
  flat[0x1fe] = 0x55;
  flat[0x1ff] = 0xaa;  // a boot sector is not a kernel
  EXPECT_FALSE(machine::looks_like_bzimage(flat));
}

TEST_F(LinuxBootTest, KernelGoesTo1MiBAndEntersThe64BitEntryPoint) {
  FakeKernel k;
  const auto image = k.image();
  auto r = load(image);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, machine::ImageKind::kLinux);
  EXPECT_EQ(std::memcmp(ram->host_pointer(0x100000, k.payload), image.data() + 5 * 512, k.payload),
            0);
  EXPECT_EQ(r->boot.mode, machine::CpuMode::kLong64);
  EXPECT_EQ(r->boot.rip, 0x100200u);
  EXPECT_EQ(r->boot.rsi, layout::kBootParamsAddr);
  EXPECT_EQ(r->boot.cr3, layout::kBootPageTablesAddr);
  EXPECT_EQ(r->boot.gdt_base, layout::kBootGdtAddr);
  EXPECT_EQ(r->boot.gdt_limit, 31);
}

TEST_F(LinuxBootTest, BootParamsCarryTheHeaderCmdlineAndRsdp) {
  const auto image = FakeKernel{}.image();
  auto r = load(image, "console=ttyS0 quiet");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::uint8_t* bp = params();
  // The setup header is copied from the image (0x1f1 up to its end) ...
  EXPECT_EQ(get(bp + bz::kVersion, 2), 0x020fu);
  EXPECT_EQ(get(bp + bz::kBootFlag, 2), 0xaa55u);
  EXPECT_EQ(get(bp + bz::kInitSize, 4), 0x800000u);
  EXPECT_EQ(bp[0x1ef], 0) << "the sentinel is not copied: boot_params are clean";
  EXPECT_EQ(bp[0x26c], 0) << "nothing past the header's end";
  // ... with the loader's fields filled in.
  EXPECT_EQ(bp[bz::kTypeOfLoader], 0xff);
  EXPECT_EQ(get(bp + bz::kCmdLinePtr, 4), layout::kCmdlineAddr);
  EXPECT_STREQ(reinterpret_cast<const char*>(ram->host_pointer(layout::kCmdlineAddr, 20)),
               "console=ttyS0 quiet");
  EXPECT_EQ(get(bp + bz::kAcpiRsdpAddr, 8), 0xe0000u);
  EXPECT_EQ(get(bp + bz::kRamdiskImage, 4), 0u);
  EXPECT_EQ(get(bp + bz::kRamdiskSize, 4), 0u);
}

TEST_F(LinuxBootTest, BootParamsHoldTheE820Map) {
  ASSERT_TRUE(load(FakeKernel{}.image()).ok());
  const std::uint8_t* bp = params();
  const auto expected = machine::e820_map(ram_layout);
  ASSERT_EQ(bp[bz::kE820Entries], expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::uint8_t* e = bp + bz::kE820Table + 20 * i;
    EXPECT_EQ(get(e, 8), expected[i].addr) << i;
    EXPECT_EQ(get(e + 8, 8), expected[i].size) << i;
    EXPECT_EQ(get(e + 16, 4), static_cast<std::uint32_t>(expected[i].type)) << i;
  }
}

TEST_F(LinuxBootTest, InitrdGoesAsHighAsAllowedPageAlignedAboveTheKernel) {
  std::vector<std::uint8_t> initrd(10000);
  for (std::size_t i = 0; i < initrd.size(); ++i) {
    initrd[i] = static_cast<std::uint8_t>(i);
  }
  auto r = load(FakeKernel{}.image(), "", initrd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::uint64_t at = r->initrd_addr;
  EXPECT_EQ(at % 4096, 0u);
  EXPECT_LE(at + initrd.size(), 64ull << 20);
  EXPECT_GT(at + initrd.size() + 4096, 64ull << 20) << "as high as RAM allows";
  EXPECT_EQ(std::memcmp(ram->host_pointer(at, initrd.size()), initrd.data(), initrd.size()), 0);
  EXPECT_EQ(get(params() + bz::kRamdiskImage, 4), at);
  EXPECT_EQ(get(params() + bz::kRamdiskSize, 4), initrd.size());
}

TEST_F(LinuxBootTest, InitrdRespectsInitrdAddrMax) {
  FakeKernel k;
  k.initrd_addr_max = 0x1ffffff;  // 32 MiB
  std::vector<std::uint8_t> initrd(5000, 7);
  auto r = load(k.image(), "", initrd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LE(r->initrd_addr + initrd.size(), 0x2000000u);
  EXPECT_EQ(r->initrd_addr, (0x2000000u - 5000) & ~0xfffu);
}

TEST_F(LinuxBootTest, InitrdThatDoesNotFitAboveTheKernelIsRefused) {
  FakeKernel k;
  k.init_size = 40 << 20;  // 16 MiB + 40 MiB of 64
  EXPECT_EQ(error_of(k.image(), "", std::vector<std::uint8_t>(9 << 20)),
            LoadErrc::kInitrdDoesNotFit);
  EXPECT_NE(message.find("raise -m"), std::string::npos) << message;
}

TEST_F(LinuxBootTest, KernelNeedingMoreRamThanThereIsIsRefused) {
  FakeKernel k;
  k.init_size = 60 << 20;  // 16 + 60 > 64 MiB
  EXPECT_EQ(error_of(k.image()), LoadErrc::kDoesNotFit);
  EXPECT_NE(message.find("raise -m"), std::string::npos) << message;
}

TEST_F(LinuxBootTest, CommandLineLongerThanCmdlineSizeIsRefused) {
  FakeKernel k;
  k.cmdline_size = 10;
  EXPECT_TRUE(load(k.image(), "0123456789").ok());
  EXPECT_EQ(error_of(k.image(), "0123456789a"), LoadErrc::kCommandLineTooLong);
  EXPECT_NE(message.find("at most 10"), std::string::npos) << message;
}

TEST_F(LinuxBootTest, OldProtocolsAndNon64BitKernelsAreRefused) {
  FakeKernel k;
  k.protocol = 0x0205;
  EXPECT_EQ(error_of(k.image()), LoadErrc::kLinuxUnsupported);
  EXPECT_NE(message.find("2.05"), std::string::npos) << message;
  EXPECT_NE(message.find("2.06"), std::string::npos) << message;
  k = FakeKernel{};
  k.xloadflags = 0;
  EXPECT_EQ(error_of(k.image()), LoadErrc::kLinuxUnsupported);
  EXPECT_NE(message.find("64-bit"), std::string::npos) << message;
  k = FakeKernel{};
  k.loadflags = 0;
  EXPECT_EQ(error_of(k.image()), LoadErrc::kLinuxUnsupported);
  EXPECT_NE(message.find("zImage"), std::string::npos) << message;
}

TEST_F(LinuxBootTest, TruncatedImagesAreRefused) {
  FakeKernel k;
  k.syssize = static_cast<std::uint32_t>(k.payload / 16 + 1);
  EXPECT_EQ(error_of(k.image()), LoadErrc::kLinuxBadHeader);
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  auto image = FakeKernel{}.image();
  image.resize(5 * 512);  // setup sectors only
  EXPECT_EQ(error_of(image), LoadErrc::kLinuxBadHeader);
  image = FakeKernel{}.image();
  image[bz::kHeaderEndByte] = 0x20;  // header claims to end before cmdline_size
  EXPECT_EQ(error_of(image), LoadErrc::kLinuxBadHeader);
}

TEST_F(LinuxBootTest, SetupSectsZeroMeansFour) {
  FakeKernel k;
  k.setup_sects = 0;
  auto image = k.image();
  image.insert(image.begin() + 0x400, 4 * 512, 0);  // image() sized the setup as 1 sector
  auto info = machine::parse_bzimage(image);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->setup_size, 5u * 512);
}

TEST_F(LinuxBootTest, PageTablesIdentityMapTheFirst4GiBWith2MiBPages) {
  ASSERT_TRUE(load(FakeKernel{}.image()).ok());
  auto entry = [&](std::uint64_t table, unsigned index) {
    return get(ram->host_pointer(table + 8 * index, 8), 8);
  };
  const std::uint64_t pml4 = layout::kBootPageTablesAddr;
  const std::uint64_t pdpt = entry(pml4, 0) & ~0xfffull;
  EXPECT_EQ(entry(pml4, 0) & 3, 3u) << "present, writable";
  EXPECT_EQ(entry(pml4, 1), 0u);
  // Translate a few addresses by walking the tables as the CPU would.
  for (std::uint64_t va : {0x0ull, 0x100200ull, 0x3fe00000ull, 0xfee00000ull, 0xffffffffull}) {
    const std::uint64_t pdpte = entry(pdpt, static_cast<unsigned>((va >> 30) & 511));
    ASSERT_EQ(pdpte & 1, 1u) << std::hex << va;
    const std::uint64_t pde = entry(pdpte & ~0xfffull, static_cast<unsigned>((va >> 21) & 511));
    ASSERT_EQ(pde & 0x81, 0x81u) << "present 2 MiB page for " << std::hex << va;
    EXPECT_EQ((pde & ~0x1fffffull & 0xfffffffffull) | (va & 0x1fffff), va);
  }
}

TEST_F(LinuxBootTest, GdtHasTheBootCodeAndDataSelectors) {
  ASSERT_TRUE(load(FakeKernel{}.image()).ok());
  const std::uint8_t* gdt = ram->host_pointer(layout::kBootGdtAddr, 32);
  const std::uint64_t code = get(gdt + 0x10, 8);
  const std::uint64_t data = get(gdt + 0x18, 8);
  EXPECT_TRUE(code & (1ull << 53)) << "L: 64-bit code";
  EXPECT_TRUE(code & (1ull << 47)) << "present";
  EXPECT_EQ((code >> 40) & 0x1f, 0x1bu) << "code segment, execute/read, accessed";
  EXPECT_EQ((data >> 40) & 0x1f, 0x13u) << "data segment, read/write, accessed";
  EXPECT_TRUE(data & (1ull << 47));
}

TEST_F(LinuxBootTest, RamAbove4GiBAppearsInE820AndTheInitrdStaysBelow) {
  make_ram((3ull << 30) + (1ull << 30));  // 4 GiB: 3 below the hole, 1 above
  std::vector<std::uint8_t> initrd(8192, 1);
  auto r = load(FakeKernel{}.image(), "", initrd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(r->initrd_addr, 0x7fffffffu);
  const std::uint8_t* bp = params();
  const unsigned n = bp[bz::kE820Entries];
  ASSERT_GE(n, 1u);
  const std::uint8_t* last = bp + bz::kE820Table + 20 * (n - 1);
  EXPECT_EQ(get(last, 8), 4ull << 30);
  EXPECT_EQ(get(last + 8, 8), 1ull << 30);
}

// The distro's kernel, when this machine has one: the header parses as the rig will need it.
TEST(LinuxBootDistroKernel, ParsesWhenPresent) {
  std::string path;
  if (std::filesystem::exists("/boot")) {
    for (const auto& e : std::filesystem::directory_iterator("/boot")) {
      if (e.path().filename().string().rfind("vmlinuz-", 0) == 0) {
        path = e.path();
        break;
      }
    }
  }
  if (path.empty()) {
    GTEST_SKIP() << "no /boot/vmlinuz-*";
  }
  auto image = machine::read_image_file(path, 1ull << 30);
  ASSERT_TRUE(image.ok()) << image.error().message;
  ASSERT_TRUE(machine::looks_like_bzimage(image.value()));
  auto info = machine::parse_bzimage(image.value());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_GE(info->protocol, 0x0206);
  EXPECT_TRUE(info->xloadflags & bz::kXlfKernel64);
}

}  // namespace
