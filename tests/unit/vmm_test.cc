// The /dev/kvm wrappers' parts that work without KVM: error reporting and guest memory.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "vmm/error.h"
#include "vmm/guest_memory.h"
#include "vmm/kvm_device.h"
#include "vmm/vcpu.h"

namespace {

TEST(KvmDevice, MissingDeviceGivesAnActionableMessage) {
  auto kvm = vmm::KvmDevice::open("/nonexistent-dir/kvm");
  ASSERT_FALSE(kvm.ok());
  EXPECT_EQ(kvm.error().code, vmm::Errc::kDeviceMissing);
  const std::string message = vmm::describe(kvm.error());
  EXPECT_NE(message.find("load the module"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
}

TEST(KvmDevice, PermissionProblemSaysSo) {
  const std::string message = vmm::describe({vmm::Errc::kPermissionDenied, EACCES, "/dev/kvm"});
  EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
  EXPECT_NE(message.find("group"), std::string::npos) << message;
}

TEST(KvmDevice, ANonKvmDeviceFailsTheApiVersionIoctl) {
  auto kvm = vmm::KvmDevice::open("/dev/null");
  ASSERT_FALSE(kvm.ok());
  EXPECT_EQ(kvm.error().code, vmm::Errc::kSyscallFailed);
  EXPECT_NE(vmm::describe(kvm.error()).find("KVM_GET_API_VERSION"), std::string::npos);
}

TEST(GuestMemory, BoundsAreCheckedNeverClamped) {
  auto mem = vmm::GuestMemory::allocate(0x1000, 0x2000);
  ASSERT_TRUE(mem.ok());
  auto& ram = mem.value();
  EXPECT_TRUE(ram.contains(0x1000, 0x2000));
  EXPECT_TRUE(ram.contains(0x3000, 0));
  EXPECT_FALSE(ram.contains(0xfff, 1));
  EXPECT_FALSE(ram.contains(0x2fff, 2));
  EXPECT_FALSE(ram.contains(0x1000, ~0ull));
  EXPECT_EQ(ram.host_pointer(0x2fff, 2), nullptr);
  const std::uint8_t bytes[4] = {1, 2, 3, 4};
  EXPECT_TRUE(ram.write(0x2ffc, bytes).ok());
  auto past = ram.write(0x2ffd, bytes);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, vmm::Errc::kOutOfRange);
  std::uint8_t back[4] = {};
  EXPECT_TRUE(ram.read(0x2ffc, back).ok());
  EXPECT_EQ(back[3], 4);
  EXPECT_EQ(*ram.host_pointer(0x2fff, 1), 4) << "the failed write changed nothing";
  EXPECT_FALSE(vmm::GuestMemory::allocate(0, 0).ok());
}

// A 2 MiB guest page can be one host huge page: host and guest-physical addresses agree
// modulo 2 MiB (for RAM of at least that size).
TEST(GuestMemory, HostAddressesAgreeWithGuestPhysicalOnesModuloTwoMiB) {
  for (const std::uint64_t base : {0ull, 0x1000ull, 0x100000ull}) {
    auto mem = vmm::GuestMemory::allocate(base, 6ull << 20);
    ASSERT_TRUE(mem.ok());
    const auto host = reinterpret_cast<std::uintptr_t>(mem.value().host_pointer(base, 1));
    EXPECT_EQ((host - base) % vmm::GuestMemory::kHugePage, 0u) << "base " << base;
    EXPECT_EQ(mem.value().size(), 6ull << 20);
    // All of it is there (and nothing given back too much).
    ASSERT_TRUE(mem.value().fill(base, 6ull << 20, 0x5a).ok());
    EXPECT_EQ(*mem.value().host_pointer(base + (6ull << 20) - 1, 1), 0x5a);
  }
}

TEST(GuestMemory, RegionsAroundAHoleShareOneMappingButNotAddresses) {
  const vmm::RamRegion layout[] = {{0, 0x4000, 0}, {0x10000, 0x2000, 0}};
  auto mem = vmm::GuestMemory::allocate(layout);
  ASSERT_TRUE(mem.ok());
  auto& ram = mem.value();
  EXPECT_EQ(ram.size(), 0x6000u);
  ASSERT_EQ(ram.regions().size(), 2u);
  EXPECT_EQ(ram.regions()[1].host_offset, 0x4000u);
  EXPECT_EQ(ram.host_address(ram.regions()[1]),
            static_cast<std::uint8_t*>(ram.host_base()) + 0x4000);
  EXPECT_TRUE(ram.contains(0x3ff0, 0x10));
  EXPECT_FALSE(ram.contains(0x3ff0, 0x11)) << "into the hole";
  EXPECT_FALSE(ram.contains(0x8000, 1));
  EXPECT_FALSE(ram.contains(0x3000, 0xe000)) << "across the hole, though both ends are RAM";
  const std::uint8_t bytes[2] = {0xab, 0xcd};
  ASSERT_TRUE(ram.write(0x10000, bytes).ok());
  EXPECT_EQ(static_cast<std::uint8_t*>(ram.host_base())[0x4000], 0xab);
  EXPECT_FALSE(ram.write(0x11fff, bytes).ok());
}

TEST(GuestMemory, BadLayoutsAreRefused) {
  const vmm::RamRegion overlapping[] = {{0, 0x4000, 0}, {0x3000, 0x2000, 0}};
  EXPECT_FALSE(vmm::GuestMemory::allocate(overlapping).ok());
  const vmm::RamRegion unsorted[] = {{0x10000, 0x1000, 0}, {0, 0x1000, 0}};
  EXPECT_FALSE(vmm::GuestMemory::allocate(unsorted).ok());
  const vmm::RamRegion empty[] = {{0, 0x1000, 0}, {0x2000, 0, 0}};
  EXPECT_FALSE(vmm::GuestMemory::allocate(empty).ok());
  EXPECT_FALSE(vmm::GuestMemory::allocate(std::span<const vmm::RamRegion>()).ok());
}

TEST(VmmError, InvalidArgumentNamesTheDetailWhenThereIsOne) {
  EXPECT_EQ(vmm::describe({vmm::Errc::kInvalidArgument, 0, "KVM_SET_MSRS (an MSR was refused)",
                           0x2ff}),
            "KVM_SET_MSRS (an MSR was refused): invalid argument (0x2ff)");
  EXPECT_EQ(vmm::describe({vmm::Errc::kInvalidArgument, 0, "guest RAM size"}),
            "guest RAM size: invalid argument");
}

TEST(VcpuDump, LapicSummaryShowsStateTimerAndVectorBitmaps) {
  kvm_lapic_state lapic{};
  auto put = [&](std::size_t offset, std::uint32_t value) {
    std::memcpy(lapic.regs + offset, &value, sizeof(value));
  };
  put(0x20, 2u << 24);     // APIC ID 2
  put(0x80, 0x20);         // TPR
  put(0xa0, 0x20);         // PPR
  put(0x320, 0x10070);     // LVTT masked, vector 0x70
  put(0x380, 300000);      // TMICT
  put(0x200 + 0x30, 1);    // IRR: vector 0x60
  put(0x100 + 0x70, 1u << 31);  // ISR: vector 0xff
  const std::string text = vmm::format_lapic(lapic, KVM_MP_STATE_HALTED);
  EXPECT_NE(text.find("mp_state=halted"), std::string::npos) << text;
  EXPECT_NE(text.find("apic id=02 tpr=20 ppr=20"), std::string::npos) << text;
  EXPECT_NE(text.find("lvtt=10070 tmict=000493e0"), std::string::npos) << text;
  // Vector 255 first: IRR word 3 is the fifth of eight, ISR word 7 the first.
  EXPECT_NE(text.find("irr=" + std::string(32, '0') + "00000001" + std::string(24, '0') + "\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("isr=80000000"), std::string::npos) << text;
  EXPECT_EQ(vmm::format_lapic(lapic, 99).find("mp_state=?"), 2u);
}

}  // namespace
