// How devices and vCPU threads ask the whole machine to stop.
//
// Legend (locking): mutex_ guards both fields; the first request wins, later ones are ignored.
// Set from any vCPU thread (a device handler), read by every vCPU loop before each KVM_RUN.
#pragma once

#include <cstdint>
#include <mutex>

namespace vmm {

class MachineControl {
 public:
  void request_exit(std::uint32_t status) {
    std::lock_guard lock(mutex_);
    if (!requested_) {
      requested_ = true;
      status_ = status;
    }
  }
  bool exit_requested() const {
    std::lock_guard lock(mutex_);
    return requested_;
  }
  std::uint32_t exit_status() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  bool requested_ = false;
  std::uint32_t status_ = 0;
};

}  // namespace vmm
