// A raw disk image on the host: the block backend behind an IDE drive (-hda/-hdb).
//
// Works: opening a regular file (or a block device) read-write, refusing one that is missing,
//   empty, not a whole number of 512-byte sectors, or already opened by another kvm-run (an
//   exclusive flock, so two machines never write one image); synchronous reads and writes
//   (PIO, where the vCPU waits anyway) and flush (fdatasync); asynchronous requests (DMA)
//   through libaio: the caller's vCPU thread only queues the request, the backend's I/O
//   thread submits it with io_submit, waits for it with io_getevents and calls the completion
//   on that thread.  Requests carry iovecs (guest RAM, already checked by the caller); more
//   than IOV_MAX of them are split over several iocbs.  Every request is bounds-checked
//   against the image size: one that does not fit completes with -ERANGE and touches nothing.
//   A flush request is an fdatasync on the I/O thread, after all writes submitted before it
//   have completed (requests run in order).
// Missing: read-only images, formats other than raw, O_DIRECT (buffered I/O is what a guest
//   sees as "the disk's write cache"; FLUSH CACHE makes it durable), discard.
//
// Legend (locking / threads): open() runs on the machine's thread.  queue_mutex_ guards
//   queue_ and stopping_; everything else of the I/O path (in-flight requests, the libaio
//   context) belongs to the I/O thread.  Completions run on the I/O thread with no backend lock
//   held, one at a time, in the order the requests were submitted.  The destructor lets every
//   request already submitted complete (calling its completion) before the thread ends.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "vmm/result.h"
#include "vmm/unique_fd.h"

namespace backends {

struct BlockError {
  std::string message;  // one line: "PATH: why"
};

enum class BlockOp { kRead, kWrite, kFlush };

class RawImage {
 public:
  static constexpr std::uint64_t kSectorSize = 512;
  // 0 on success, else -errno (-ERANGE: outside the image; -EIO: a short transfer).
  using Completion = std::function<void(int result)>;

  static vmm::Result<std::unique_ptr<RawImage>, BlockError> open(const std::string& path);
  ~RawImage();
  RawImage(const RawImage&) = delete;
  RawImage& operator=(const RawImage&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t sectors() const { return size_ / kSectorSize; }
  // Whether [offset, offset + length) lies inside the image.
  bool in_range(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

  // Synchronous; 0 or -errno as for Completion.
  int read(std::uint64_t offset, std::span<std::uint8_t> buffer);
  int write(std::uint64_t offset, std::span<const std::uint8_t> buffer);
  int flush();
  // How many flushes (fdatasync) have completed without error: what a guest's FLUSH CACHE
  // reached on the host.  Any thread.
  std::uint64_t flushes() const { return flushes_.load(std::memory_order_relaxed); }

  // Asynchronous: queues the request and returns at once; done runs on the I/O thread.  The
  // buffers must stay valid until then.  offset and iov are ignored for kFlush.
  void submit(BlockOp op, std::uint64_t offset, std::vector<iovec> iov, Completion done);

 private:
  struct Request;
  RawImage(std::string path, vmm::UniqueFd fd, std::uint64_t size);
  bool start_thread();
  void io_thread();
  // I/O thread: start the request at the head of pending_ (io_submit); completes it at once
  // when it cannot be submitted.
  void start(Request& request);
  void reap();

  std::string path_;
  vmm::UniqueFd fd_;
  std::atomic<std::uint64_t> flushes_{0};
  std::uint64_t size_ = 0;
  vmm::UniqueFd request_event_;  // eventfd: the vCPU side queued a request (or asked to stop)
  vmm::UniqueFd aio_event_;      // eventfd: libaio completed an iocb
  void* aio_context_ = nullptr;  // io_context_t

  std::mutex queue_mutex_;
  std::deque<std::unique_ptr<Request>> queue_;
  bool stopping_ = false;

  // I/O thread only: requests in order; the head one is in flight.
  std::deque<std::unique_ptr<Request>> pending_;
  std::thread thread_;
};

}  // namespace backends
