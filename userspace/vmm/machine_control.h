// How devices, vCPU threads, the console and signal handling ask the whole machine to stop.
//
// Two kinds of stop: an exit with a process status (debug-exit, ACPI power-off, a fatal vCPU
// error, a signal, Ctrl-A x) and a reset (i8042 0xFE, the ACPI reset register), after which the
// caller either builds a fresh machine or, with -no-reboot, exits.  The first request wins;
// later ones are ignored.
//
// Legend (locking): mutex_ guards the request fields.  Requests may come from any thread.
// The stop listener is set before any vCPU thread starts and is called once, on the thread of
// the first request, after the mutex is released (it kicks the vCPUs out of KVM_RUN).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace vmm {

enum class StopKind { kNone, kExit, kReset };

class MachineControl {
 public:
  void request_exit(std::uint32_t status) { request(StopKind::kExit, status); }
  void request_reset() { request(StopKind::kReset, 0); }

  bool stop_requested() const {
    std::lock_guard lock(mutex_);
    return kind_ != StopKind::kNone;
  }
  StopKind stop_kind() const {
    std::lock_guard lock(mutex_);
    return kind_;
  }
  // The status of an exit request (0 for a reset).
  std::uint32_t exit_status() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

  void set_stop_listener(std::function<void()> listener) { listener_ = std::move(listener); }

 private:
  void request(StopKind kind, std::uint32_t status) {
    {
      std::lock_guard lock(mutex_);
      if (kind_ != StopKind::kNone) {
        return;
      }
      kind_ = kind;
      status_ = status;
    }
    if (listener_) {
      listener_();
    }
  }

  mutable std::mutex mutex_;
  StopKind kind_ = StopKind::kNone;
  std::uint32_t status_ = 0;
  std::function<void()> listener_;
};

}  // namespace vmm
