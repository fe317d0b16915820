// The raw image backend: what it refuses to open, synchronous and libaio requests, bounds.
#include "backends/block.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace {

// A temporary file, removed at the end.
class TempFile {
 public:
  explicit TempFile(std::uint64_t size, std::uint8_t fill = 0) {
    char name[] = "/tmp/kvm-run-block-XXXXXX";
    const int fd = ::mkstemp(name);
    path_ = name;
    std::vector<std::uint8_t> bytes(size, fill);
    for (std::uint64_t i = 0; i < size; i += 512) {
      bytes[i] = static_cast<std::uint8_t>(i / 512);  // each sector starts with its number
    }
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::vector<std::uint8_t> contents() const {
    std::vector<std::uint8_t> out;
    const int fd = ::open(path_.c_str(), O_RDONLY);
    std::uint8_t buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }

 private:
  std::string path_;
};

// Runs one asynchronous request and waits for its completion; returns (result, thread).
std::pair<int, std::thread::id> run(backends::RawImage& image, backends::BlockOp op,
                                    std::uint64_t offset, std::vector<iovec> iov) {
  std::promise<std::pair<int, std::thread::id>> done;
  auto future = done.get_future();
  image.submit(op, offset, std::move(iov), [&](int result) {
    done.set_value({result, std::this_thread::get_id()});
  });
  return future.get();
}

TEST(RawImage, RefusesWhatIsNotADiskImage) {
  auto missing = backends::RawImage::open("/nonexistent/disk.img");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "/nonexistent/disk.img: No such file or directory");
  auto dir = backends::RawImage::open("/tmp");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message, "/tmp: Is a directory");
  auto chr = backends::RawImage::open("/dev/null");
  ASSERT_FALSE(chr.ok());
  EXPECT_EQ(chr.error().message, "/dev/null: not a regular file or block device");
  TempFile empty(0);
  auto e = backends::RawImage::open(empty.path());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("empty"), std::string::npos);
  TempFile odd(1000);
  auto o = backends::RawImage::open(odd.path());
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().message.find("512-byte sectors"), std::string::npos);
  for (const auto* m : {&missing, &dir, &e, &o}) {
    EXPECT_EQ(m->error().message.find('\n'), std::string::npos);
  }
}

TEST(RawImage, ASecondUserOfTheSameImageIsRefused) {
  TempFile file(64 * 512);
  auto first = backends::RawImage::open(file.path());
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = backends::RawImage::open(file.path());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  first.value().reset();
  EXPECT_TRUE(backends::RawImage::open(file.path()).ok());  // the lock went with it
}

TEST(RawImage, SynchronousAccessIsBoundsChecked) {
  TempFile file(16 * 512);
  auto image = backends::RawImage::open(file.path());
  ASSERT_TRUE(image.ok());
  auto& img = *image.value();
  EXPECT_EQ(img.sectors(), 16u);
  std::vector<std::uint8_t> buf(512);
  ASSERT_EQ(img.read(3 * 512, buf), 0);
  EXPECT_EQ(buf[0], 3);
  std::fill(buf.begin(), buf.end(), 0xab);
  ASSERT_EQ(img.write(15 * 512, buf), 0);
  EXPECT_EQ(img.flush(), 0);
  EXPECT_EQ(file.contents()[15 * 512 + 7], 0xab);
  EXPECT_EQ(img.read(16 * 512, buf), -ERANGE);
  EXPECT_EQ(img.write(15 * 512 + 1, buf), -ERANGE);
  EXPECT_EQ(img.read(~0ull - 10, buf), -ERANGE);  // no wrap-around
}

TEST(RawImage, AsynchronousRequestsCompleteOnTheIoThread) {
  TempFile file(64 * 512);
  auto image = backends::RawImage::open(file.path());
  ASSERT_TRUE(image.ok());
  auto& img = *image.value();
  // Scatter: sector 5 into two buffers of 256 bytes.
  std::vector<std::uint8_t> a(256, 0), b(256, 0);
  auto [r, who] = run(img, backends::BlockOp::kRead, 5 * 512,
                      {iovec{a.data(), a.size()}, iovec{b.data(), b.size()}});
  EXPECT_EQ(r, 0);
  EXPECT_NE(who, std::this_thread::get_id());
  EXPECT_EQ(a[0], 5);
  // Gather a write, then read it back asynchronously too.
  std::vector<std::uint8_t> w1(512, 0x11), w2(512, 0x22);
  EXPECT_EQ(run(img, backends::BlockOp::kWrite, 8 * 512,
                {iovec{w1.data(), w1.size()}, iovec{w2.data(), w2.size()}})
                .first,
            0);
  EXPECT_EQ(run(img, backends::BlockOp::kFlush, 0, {}).first, 0);
  const auto on_disk = file.contents();
  EXPECT_EQ(on_disk[8 * 512 + 100], 0x11);
  EXPECT_EQ(on_disk[9 * 512 + 100], 0x22);
}

TEST(RawImage, AsynchronousRequestsOutsideTheImageTouchNothing) {
  TempFile file(8 * 512, 0x5a);
  auto image = backends::RawImage::open(file.path());
  ASSERT_TRUE(image.ok());
  std::vector<std::uint8_t> w(1024, 0xee);
  EXPECT_EQ(
      run(*image.value(), backends::BlockOp::kWrite, 7 * 512, {iovec{w.data(), w.size()}}).first,
      -ERANGE);
  EXPECT_EQ(file.contents()[7 * 512 + 1], 0x5a);
}

TEST(RawImage, ManyScatterEntriesAreSplitOverSeveralIocbs) {
  // More iovecs than IOV_MAX (1024): 1500 entries of 512 bytes.
  TempFile file(2048 * 512);
  auto image = backends::RawImage::open(file.path());
  ASSERT_TRUE(image.ok());
  std::vector<std::vector<std::uint8_t>> buffers(1500, std::vector<std::uint8_t>(512));
  std::vector<iovec> iov;
  for (auto& b : buffers) {
    iov.push_back({b.data(), b.size()});
  }
  EXPECT_EQ(run(*image.value(), backends::BlockOp::kRead, 100 * 512, iov).first, 0);
  EXPECT_EQ(buffers[0][0], 100);
  EXPECT_EQ(buffers[1499][0], static_cast<std::uint8_t>(1599));
}

TEST(RawImage, DestructionWaitsForSubmittedRequests) {
  TempFile file(64 * 512);
  std::atomic<int> completed{0};
  std::vector<std::uint8_t> buf(64 * 512);
  {
    auto image = backends::RawImage::open(file.path());
    ASSERT_TRUE(image.ok());
    for (int i = 0; i < 8; ++i) {
      image.value()->submit(backends::BlockOp::kRead, 0, {iovec{buf.data(), buf.size()}},
                            [&](int r) {
                              EXPECT_EQ(r, 0);
                              completed.fetch_add(1);
                            });
    }
  }
  EXPECT_EQ(completed.load(), 8);
}

}  // namespace
