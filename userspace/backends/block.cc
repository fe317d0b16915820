#include "backends/block.h"

#include <fcntl.h>
#include <libaio.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace backends {

namespace {

constexpr int kQueueDepth = 64;  // iocbs in flight at once (one request uses one per IOV_MAX)
constexpr std::size_t kIovPerIocb = IOV_MAX;

std::string why(const std::string& path, int err) {
  return path + ": " + std::strerror(err);
}

void drain_eventfd(int fd) {
  std::uint64_t count = 0;
  while (::read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

void signal_eventfd(int fd) {
  const std::uint64_t one = 1;
  while (::write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace

struct RawImage::Request {
  BlockOp op;
  std::uint64_t offset;
  std::vector<iovec> iov;
  Completion done;
  std::vector<iocb> iocbs;
  std::vector<std::uint64_t> expected;  // bytes per iocb
  bool started = false;
  int outstanding = 0;  // iocbs submitted and not yet reaped
  int result = 0;       // the first error
};

vmm::Result<std::unique_ptr<RawImage>, BlockError> RawImage::open(const std::string& path) {
  vmm::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    return BlockError{why(path, errno)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) {
    return BlockError{why(path, errno)};
  }
  std::uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) < 0) {
      return BlockError{why(path, errno)};
    }
  } else {
    return BlockError{path + ": not a regular file or block device"};
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) {
      return BlockError{path + ": in use by another process (it holds a lock on the image)"};
    }
    return BlockError{why(path, errno)};
  }
  if (size == 0) {
    return BlockError{path + ": the image is empty"};
  }
  if (size % kSectorSize != 0) {
    return BlockError{path + ": size " + std::to_string(size) +
                      " is not a whole number of 512-byte sectors"};
  }
  std::unique_ptr<RawImage> image(new RawImage(path, std::move(fd), size));
  image->request_event_ = vmm::UniqueFd(::eventfd(0, EFD_CLOEXEC));
  image->aio_event_ = vmm::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!image->request_event_.valid() || !image->aio_event_.valid()) {
    return BlockError{path + ": eventfd: " + std::strerror(errno)};
  }
  io_context_t ctx = nullptr;
  if (const int r = io_setup(kQueueDepth, &ctx); r < 0) {
    return BlockError{path + ": libaio io_setup: " + std::strerror(-r)};
  }
  image->aio_context_ = ctx;
  if (!image->start_thread()) {
    return BlockError{path + ": cannot start the I/O thread"};
  }
  return image;
}

RawImage::RawImage(std::string path, vmm::UniqueFd fd, std::uint64_t size)
    : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}

bool RawImage::start_thread() {
  try {
    thread_ = std::thread([this] { io_thread(); });
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

RawImage::~RawImage() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    signal_eventfd(request_event_.get());
    thread_.join();
  }
  if (aio_context_ != nullptr) {
    io_destroy(static_cast<io_context_t>(aio_context_));
  }
}

int RawImage::read(std::uint64_t offset, std::span<std::uint8_t> buffer) {
  if (!in_range(offset, buffer.size())) {
    return -ERANGE;
  }
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::pread(fd_.get(), buffer.data() + done, buffer.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -errno;
    }
    if (n == 0) {
      return -EIO;  // the file shrank under us
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

int RawImage::write(std::uint64_t offset, std::span<const std::uint8_t> buffer) {
  if (!in_range(offset, buffer.size())) {
    return -ERANGE;
  }
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::pwrite(fd_.get(), buffer.data() + done, buffer.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n < 0 ? -errno : -EIO;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

int RawImage::flush() {
  if (::fdatasync(fd_.get()) < 0) {
    return -errno;
  }
  flushes_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

void RawImage::submit(BlockOp op, std::uint64_t offset, std::vector<iovec> iov, Completion done) {
  auto request = std::make_unique<Request>();
  request->op = op;
  request->offset = offset;
  request->iov = std::move(iov);
  request->done = std::move(done);
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(request));
  }
  signal_eventfd(request_event_.get());
}

void RawImage::start(Request& r) {
  if (r.op == BlockOp::kFlush) {
    r.result = flush();
    return;
  }
  std::uint64_t total = 0;
  for (const iovec& v : r.iov) {
    total += v.iov_len;
  }
  if (!in_range(r.offset, total)) {
    r.result = -ERANGE;
    return;
  }
  const std::size_t chunks = (r.iov.size() + kIovPerIocb - 1) / kIovPerIocb;
  if (chunks > static_cast<std::size_t>(kQueueDepth)) {
    r.result = -EINVAL;  // more scatter entries than one request may have in flight
    return;
  }
  r.iocbs.assign(chunks, iocb{});
  r.expected.assign(chunks, 0);
  std::vector<iocb*> pointers(chunks);
  std::uint64_t offset = r.offset;
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t first = c * kIovPerIocb;
    const int count = static_cast<int>(std::min(kIovPerIocb, r.iov.size() - first));
    std::uint64_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      bytes += r.iov[first + i].iov_len;
    }
    if (r.op == BlockOp::kRead) {
      io_prep_preadv(&r.iocbs[c], fd_.get(), &r.iov[first], count, static_cast<long long>(offset));
    } else {
      io_prep_pwritev(&r.iocbs[c], fd_.get(), &r.iov[first], count, static_cast<long long>(offset));
    }
    io_set_eventfd(&r.iocbs[c], aio_event_.get());
    r.iocbs[c].data = &r;
    r.expected[c] = bytes;
    pointers[c] = &r.iocbs[c];
    offset += bytes;
  }
  std::size_t submitted = 0;
  while (submitted < chunks) {
    const int n = io_submit(static_cast<io_context_t>(aio_context_),
                            static_cast<long>(chunks - submitted), pointers.data() + submitted);
    if (n == -EINTR) {
      continue;
    }
    if (n <= 0) {
      r.result = n < 0 ? n : -EAGAIN;  // the ones already submitted still complete
      break;
    }
    submitted += static_cast<std::size_t>(n);
    r.outstanding += n;
  }
}

void RawImage::reap() {
  io_event events[kQueueDepth];
  timespec no_wait{0, 0};
  for (;;) {
    const int n =
        io_getevents(static_cast<io_context_t>(aio_context_), 0, kQueueDepth, events, &no_wait);
    if (n == -EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    for (int i = 0; i < n; ++i) {
      auto* r = static_cast<Request*>(events[i].data);
      const auto index = static_cast<std::size_t>(events[i].obj - r->iocbs.data());
      const long res = static_cast<long>(events[i].res);
      if (r->result == 0) {
        if (res < 0) {
          r->result = static_cast<int>(res);
        } else if (index >= r->expected.size() ||
                   static_cast<std::uint64_t>(res) != r->expected[index]) {
          r->result = -EIO;  // short transfer
        }
      }
      --r->outstanding;
    }
  }
}

void RawImage::io_thread() {
  pthread_setname_np(pthread_self(), "block-io");
  for (;;) {
    pollfd fds[2] = {{request_event_.get(), POLLIN, 0}, {aio_event_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      break;  // cannot happen with valid fds; the destructor's join would hang otherwise
    }
    if (fds[1].revents & POLLIN) {
      drain_eventfd(aio_event_.get());
      reap();
    }
    bool stopping = false;
    if (fds[0].revents & POLLIN) {
      drain_eventfd(request_event_.get());
    }
    {
      std::lock_guard lock(queue_mutex_);
      while (!queue_.empty()) {
        pending_.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stopping_;
    }
    // Complete the head request once it has nothing in flight, start the next.
    while (!pending_.empty()) {
      Request& head = *pending_.front();
      if (!head.started) {
        head.started = true;
        start(head);
      }
      if (head.outstanding > 0) {
        break;
      }
      std::unique_ptr<Request> done = std::move(pending_.front());
      pending_.pop_front();
      if (done->done) {
        done->done(done->result);
      }
    }
    if (stopping && pending_.empty()) {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) {
        break;
      }
    }
  }
}

}  // namespace backends
