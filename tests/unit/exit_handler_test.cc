// The exit handler driven by fabricated kvm_run pages: no /dev/kvm involved.
#include "vmm/exit_handler.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "devices/isa/debug_exit.h"
#include "devices/isa/pc_testdev.h"
#include "devices/isa/uart16550.h"

namespace {

using vmm::VcpuStop;

class ExitHandlerTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kRunSize = 3 * 4096;  // kvm_run, PIO page, coalesced MMIO
  static constexpr std::size_t kPioOffset = 4096;

  void SetUp() override {
    ASSERT_TRUE(ports.add(0x3f8, 8, uart, "com1").ok());
    ASSERT_TRUE(ports.add(0xe0, 4, testdev, "pc-testdev").ok());
    ASSERT_TRUE(ports.add(0xf4, 4, debug_exit, "debug-exit").ok());
  }

  kvm_run& run() { return *reinterpret_cast<kvm_run*>(page.data()); }
  std::uint8_t* pio() { return reinterpret_cast<std::uint8_t*>(page.data()) + kPioOffset; }

  void set_io(std::uint8_t direction, std::uint16_t port, std::uint8_t size, std::uint32_t count,
              std::uint64_t data_offset = kPioOffset) {
    run().exit_reason = KVM_EXIT_IO;
    run().io.direction = direction;
    run().io.port = port;
    run().io.size = size;
    run().io.count = count;
    run().io.data_offset = data_offset;
  }

  vmm::ExitResult handle() { return vmm::handle_exit(run(), context); }

  std::vector<std::uint64_t> page = std::vector<std::uint64_t>(kRunSize / 8);
  std::string serial;
  bus::Bus ports{0x10000};
  bus::Bus mmio{~0ull};
  vmm::MachineControl control;
  devices::Uart16550 uart{[this](std::uint8_t b) { serial.push_back(static_cast<char>(b)); }};
  devices::PcTestdev testdev;
  devices::DebugExit debug_exit{[this](std::uint32_t s) { control.request_exit(s); }};
  vmm::ExitContext context{ports, mmio, control, kRunSize, 0};
};

TEST_F(ExitHandlerTest, OutToTheUartPrintsAndResumes) {
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1);
  pio()[0] = 'h';
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kNone);
  EXPECT_EQ(serial, "h");
}

TEST_F(ExitHandlerTest, StringOutLoopsOverCountItems) {
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 5);
  std::memcpy(pio(), "hello", 5);
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
  EXPECT_EQ(serial, "hello");
}

TEST_F(ExitHandlerTest, StringInFillsEveryItem) {
  const std::uint8_t value[2] = {0xcd, 0xab};
  testdev.write(0, value);
  set_io(KVM_EXIT_IO_IN, 0xe0, 2, 3, kPioOffset + 8);
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
  const std::uint8_t expect[6] = {0xcd, 0xab, 0xcd, 0xab, 0xcd, 0xab};
  EXPECT_EQ(std::memcmp(pio() + 8, expect, 6), 0);
}

TEST_F(ExitHandlerTest, InFromAnUnassignedPortIsAllOnes) {
  set_io(KVM_EXIT_IO_IN, 0x80, 4, 1);
  std::memset(pio(), 0, 4);
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
  EXPECT_EQ(std::memcmp(pio(), "\xff\xff\xff\xff", 4), 0);
  EXPECT_EQ(ports.unassigned_reads(), 1u);
}

TEST_F(ExitHandlerTest, DebugExitStopsWithTheGuestsStatus) {
  set_io(KVM_EXIT_IO_OUT, 0xf4, 4, 1);
  const std::uint32_t v = 0;
  std::memcpy(pio(), &v, 4);
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kGuestExit);
  EXPECT_EQ(r.status, 1u);

  const std::uint32_t v2 = 0x21;  // a later request does not override the first
  std::memcpy(pio(), &v2, 4);
  EXPECT_EQ(handle().status, 1u);
}

TEST_F(ExitHandlerTest, BadIoExitsAreErrorsNotCrashes) {
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 3, 1);
  EXPECT_EQ(handle().stop, VcpuStop::kError);
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 0);
  EXPECT_EQ(handle().stop, VcpuStop::kError);
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 4, 2, kRunSize - 4);  // second item past the mapping
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_EQ(r.status, vmm::kStatusVmmError);
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 4, 0xffffffffu, kPioOffset);
  EXPECT_EQ(handle().stop, VcpuStop::kError);
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, ~0ull);
  EXPECT_EQ(handle().stop, VcpuStop::kError);
  EXPECT_TRUE(serial.empty());
}

TEST_F(ExitHandlerTest, HaltWithInterruptsDisabledStopsWithStatusZero) {
  run().exit_reason = KVM_EXIT_HLT;
  run().if_flag = 0;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kHalted);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(r.message, "vCPU 0 halted with interrupts disabled");
}

TEST_F(ExitHandlerTest, HaltWithInterruptsEnabledAlsoStopsForNow) {
  run().exit_reason = KVM_EXIT_HLT;
  run().if_flag = 1;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kHalted);
  EXPECT_NE(r.message.find("no interrupt sources"), std::string::npos);
}

TEST_F(ExitHandlerTest, ShutdownIsATripleFault) {
  run().exit_reason = KVM_EXIT_SHUTDOWN;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kShutdown);
  EXPECT_EQ(r.status, 2u);
  EXPECT_EQ(r.message, "guest triple fault (shutdown)");
}

TEST_F(ExitHandlerTest, InternalErrorReportsSuberrorAndData) {
  run().exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run().internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  run().internal.ndata = 2;
  run().internal.data[0] = 0xabc;
  run().internal.data[1] = 0xdef;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_EQ(r.status, 3u);
  EXPECT_NE(r.message.find("KVM_EXIT_INTERNAL_ERROR"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("suberror 1"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("0xabc 0xdef"), std::string::npos) << r.message;
}

TEST_F(ExitHandlerTest, InternalErrorWithHugeNdataIsClamped) {
  run().exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run().internal.ndata = 1000;
  EXPECT_EQ(handle().stop, VcpuStop::kError);
}

TEST_F(ExitHandlerTest, FailEntryReportsTheHardwareReason) {
  run().exit_reason = KVM_EXIT_FAIL_ENTRY;
  run().fail_entry.hardware_entry_failure_reason = 0x80000021;
  run().fail_entry.cpu = 1;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_EQ(r.status, 3u);
  EXPECT_NE(r.message.find("0x80000021"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("cpu 1"), std::string::npos) << r.message;
}

TEST_F(ExitHandlerTest, UnassignedMmioReadsAllOnesAndIgnoresWrites) {
  run().exit_reason = KVM_EXIT_MMIO;
  run().mmio.phys_addr = 0xfee00000;
  run().mmio.len = 4;
  run().mmio.is_write = 0;
  std::memset(run().mmio.data, 0, 8);
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
  EXPECT_EQ(std::memcmp(run().mmio.data, "\xff\xff\xff\xff\0\0\0\0", 8), 0);
  run().mmio.is_write = 1;
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
  EXPECT_EQ(mmio.unassigned_reads(), 1u);
  EXPECT_EQ(mmio.unassigned_writes(), 1u);
  run().mmio.len = 9;
  EXPECT_EQ(handle().stop, VcpuStop::kError);
}

TEST_F(ExitHandlerTest, IntrJustResumes) {
  run().exit_reason = KVM_EXIT_INTR;
  EXPECT_EQ(handle().stop, VcpuStop::kNone);
}

TEST_F(ExitHandlerTest, UnknownExitsAreErrorsNamingTheReason) {
  run().exit_reason = KVM_EXIT_DEBUG;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_NE(r.message.find("KVM_EXIT_DEBUG"), std::string::npos) << r.message;
  run().exit_reason = 999;
  r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_NE(r.message.find("999"), std::string::npos) << r.message;
}

TEST_F(ExitHandlerTest, ResetRequestedByADeviceStopsWithReset) {
  control.request_reset();
  set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1);
  pio()[0] = '!';
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kReset);
  EXPECT_EQ(serial, "!") << "the access itself completed";
}

TEST_F(ExitHandlerTest, SystemEventShutdownIsAPowerOff) {
  run().exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run().system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kGuestExit);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(control.stop_kind(), vmm::StopKind::kExit);
}

TEST_F(ExitHandlerTest, SystemEventResetIsAReset) {
  run().exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run().system_event.type = KVM_SYSTEM_EVENT_RESET;
  EXPECT_EQ(handle().stop, VcpuStop::kReset);
  EXPECT_EQ(control.stop_kind(), vmm::StopKind::kReset);
}

TEST_F(ExitHandlerTest, SystemEventCrashAndUnknownTypesAreErrors) {
  run().exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run().system_event.type = KVM_SYSTEM_EVENT_CRASH;
  EXPECT_EQ(handle().stop, VcpuStop::kError);
  run().system_event.type = 77;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kError);
  EXPECT_NE(r.message.find("77"), std::string::npos) << r.message;
}

TEST_F(ExitHandlerTest, IntrAfterAStopRequestStops) {
  control.request_exit(143);
  run().exit_reason = KVM_EXIT_INTR;
  auto r = handle();
  EXPECT_EQ(r.stop, VcpuStop::kGuestExit);
  EXPECT_EQ(r.status, 143u);
}

TEST(MachineControl, FirstRequestWinsAndTheListenerRunsOnce) {
  vmm::MachineControl control;
  int kicks = 0;
  control.set_stop_listener([&] { ++kicks; });
  EXPECT_FALSE(control.stop_requested());
  control.request_reset();
  control.request_exit(5);
  control.request_reset();
  EXPECT_TRUE(control.stop_requested());
  EXPECT_EQ(control.stop_kind(), vmm::StopKind::kReset);
  EXPECT_EQ(control.exit_status(), 0u);
  EXPECT_EQ(kicks, 1);
}

}  // namespace
