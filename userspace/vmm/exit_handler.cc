#include "vmm/exit_handler.h"

#include <cinttypes>
#include <cstdio>
#include <span>

namespace vmm {

namespace {

ExitResult resume() {
  return {};
}

ExitResult error(std::string message) {
  return {VcpuStop::kError, kStatusVmmError, std::move(message)};
}

std::string hex(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
  return buf;
}

ExitResult stop_if_requested(const ExitContext& context) {
  switch (context.control.stop_kind()) {
    case StopKind::kNone:
      return resume();
    case StopKind::kExit:
      return {VcpuStop::kGuestExit, context.control.exit_status(), {}};
    case StopKind::kReset:
      return {VcpuStop::kReset, 0, {}};
  }
  return resume();
}

ExitResult handle_io(kvm_run& run, const ExitContext& context) {
  const auto& io = run.io;
  if (io.size != 1 && io.size != 2 && io.size != 4) {
    return error("KVM_EXIT_IO with invalid size " + std::to_string(io.size) + " at port " +
                 hex(io.port));
  }
  if (io.count == 0) {
    return error("KVM_EXIT_IO with count 0 at port " + hex(io.port));
  }
  // size * count fits easily in 64 bits (at most 4 * 2^32).
  const std::uint64_t bytes = static_cast<std::uint64_t>(io.size) * io.count;
  if (io.data_offset > context.run_size || bytes > context.run_size - io.data_offset) {
    return error("KVM_EXIT_IO data (offset " + hex(io.data_offset) + ", " + std::to_string(bytes) +
                 " bytes) outside the " + std::to_string(context.run_size) + "-byte vCPU mapping");
  }
  auto* data = reinterpret_cast<std::uint8_t*>(&run) + io.data_offset;
  // String I/O (rep ins/outs) arrives as count accesses to the same port.
  for (std::uint32_t i = 0; i < io.count; ++i) {
    std::span<std::uint8_t> item(data + static_cast<std::size_t>(i) * io.size, io.size);
    if (io.direction == KVM_EXIT_IO_OUT) {
      context.ports.write(io.port, item);
    } else {
      context.ports.read(io.port, item);
    }
  }
  return stop_if_requested(context);
}

ExitResult handle_mmio(kvm_run& run, const ExitContext& context) {
  auto& mmio = run.mmio;
  if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
    return error("KVM_EXIT_MMIO with invalid length " + std::to_string(mmio.len) + " at " +
                 hex(mmio.phys_addr));
  }
  std::span<std::uint8_t> data(mmio.data, mmio.len);
  if (mmio.is_write) {
    context.mmio.write(mmio.phys_addr, data);
  } else {
    context.mmio.read(mmio.phys_addr, data);
  }
  return stop_if_requested(context);
}

ExitResult handle_hlt(const kvm_run& run, const ExitContext& context) {
  // Without an in-kernel irqchip KVM hands HLT to us.  This machine has no interrupt source
  // yet, so no halt can ever end; later this becomes "sleep until an interrupt is injected".
  std::string who = "vCPU " + std::to_string(context.vcpu_id);
  if (run.if_flag == 0) {
    return {VcpuStop::kHalted, kStatusHalted, who + " halted with interrupts disabled"};
  }
  return {VcpuStop::kHalted, kStatusHalted,
          who + " halted with interrupts enabled, but this machine has no interrupt sources yet"};
}

ExitResult handle_system_event(const kvm_run& run, const ExitContext& context) {
  switch (run.system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
      context.control.request_exit(kStatusPoweredOff);
      return stop_if_requested(context);
    case KVM_SYSTEM_EVENT_RESET:
      context.control.request_reset();
      return stop_if_requested(context);
    case KVM_SYSTEM_EVENT_CRASH:
      return error("KVM_EXIT_SYSTEM_EVENT: guest crash");
    default:
      return error("KVM_EXIT_SYSTEM_EVENT of unknown type " +
                   std::to_string(run.system_event.type));
  }
}

ExitResult handle_internal_error(const kvm_run& run) {
  const auto& internal = run.internal;
  std::string message = "KVM_EXIT_INTERNAL_ERROR: suberror " + std::to_string(internal.suberror);
  switch (internal.suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
      message += " (instruction emulation failed)";
      break;
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      message += " (exception while delivering an exception)";
      break;
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      message += " (exit while delivering an event)";
      break;
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
      message += " (unexpected hardware exit reason)";
      break;
    default:
      break;
  }
  const std::uint32_t shown = internal.ndata < 16 ? internal.ndata : 16;
  for (std::uint32_t i = 0; i < shown; ++i) {
    message += (i == 0 ? ", data: " : " ") + hex(internal.data[i]);
  }
  return error(std::move(message));
}

}  // namespace

std::string exit_reason_name(std::uint32_t reason) {
  switch (reason) {
#define NAME(x) \
  case x:       \
    return #x;
    NAME(KVM_EXIT_UNKNOWN)
    NAME(KVM_EXIT_EXCEPTION)
    NAME(KVM_EXIT_IO)
    NAME(KVM_EXIT_HYPERCALL)
    NAME(KVM_EXIT_DEBUG)
    NAME(KVM_EXIT_HLT)
    NAME(KVM_EXIT_MMIO)
    NAME(KVM_EXIT_IRQ_WINDOW_OPEN)
    NAME(KVM_EXIT_SHUTDOWN)
    NAME(KVM_EXIT_FAIL_ENTRY)
    NAME(KVM_EXIT_INTR)
    NAME(KVM_EXIT_SET_TPR)
    NAME(KVM_EXIT_TPR_ACCESS)
    NAME(KVM_EXIT_NMI)
    NAME(KVM_EXIT_INTERNAL_ERROR)
    NAME(KVM_EXIT_SYSTEM_EVENT)
    NAME(KVM_EXIT_IOAPIC_EOI)
    NAME(KVM_EXIT_X86_RDMSR)
    NAME(KVM_EXIT_X86_WRMSR)
#undef NAME
  }
  return "exit reason " + std::to_string(reason);
}

ExitResult handle_exit(kvm_run& run, const ExitContext& context) {
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      return handle_io(run, context);
    case KVM_EXIT_MMIO:
      return handle_mmio(run, context);
    case KVM_EXIT_HLT:
      return handle_hlt(run, context);
    case KVM_EXIT_SHUTDOWN:
      return {VcpuStop::kShutdown, kStatusTripleFault, "guest triple fault (shutdown)"};
    case KVM_EXIT_INTR:
      // A signal interrupted the guest; nothing to do but check for a stop request.
      return stop_if_requested(context);
    case KVM_EXIT_SYSTEM_EVENT:
      return handle_system_event(run, context);
    case KVM_EXIT_INTERNAL_ERROR:
      return handle_internal_error(run);
    case KVM_EXIT_FAIL_ENTRY:
      return error("KVM_EXIT_FAIL_ENTRY: hardware entry failure reason " +
                   hex(run.fail_entry.hardware_entry_failure_reason) + " on cpu " +
                   std::to_string(run.fail_entry.cpu));
    case KVM_EXIT_UNKNOWN:
      return error("KVM_EXIT_UNKNOWN: hardware exit reason " + hex(run.hw.hardware_exit_reason));
    case KVM_EXIT_EXCEPTION:
      return error("KVM_EXIT_EXCEPTION: vector " + std::to_string(run.ex.exception) +
                   ", error code " + hex(run.ex.error_code));
    default:
      return error("unhandled exit: " + exit_reason_name(run.exit_reason));
  }
}

}  // namespace vmm
