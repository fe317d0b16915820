// The guest page-table walker (kernel/mmu/gpt_walk.c) built in userspace against a fake
// guest-physical memory.  Every expectation is what a real CPU does: Intel SDM vol. 3A
// chapter 4 (4.3 32-bit paging, 4.4 PAE, 4.5 4/5-level, 4.6 access rights, 4.7 the error
// code, 4.8 accessed and dirty flags) and AMD APM vol. 2 chapter 5.
// kvm_portable.h uses the C headers; include their C++ forms first.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "gpt_walk.h"
}

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using std::uint32_t;
using std::uint64_t;

// Paging-structure entry bits.
constexpr uint64_t kP = 1ull << 0;
constexpr uint64_t kRW = 1ull << 1;
constexpr uint64_t kUS = 1ull << 2;
constexpr uint64_t kA = 1ull << 5;
constexpr uint64_t kD = 1ull << 6;
constexpr uint64_t kPS = 1ull << 7;
constexpr uint64_t kG = 1ull << 8;
constexpr uint64_t kNX = 1ull << 63;

constexpr uint32_t kRead = 0;
constexpr uint32_t kWrite = PFERR_WRITE;
constexpr uint32_t kUser = PFERR_USER;
constexpr uint32_t kFetch = PFERR_FETCH;

// A few MiB of guest-physical memory; page tables are allocated from it.  Data pages the
// tests map need not be backed: the walker never touches them.
class GuestRam {
 public:
  static constexpr uint64_t kSize = 4ull << 20;

  GuestRam() : bytes_(kSize) {}

  uint64_t load(uint64_t gpa, unsigned len) const {
    uint64_t value = 0;
    bytes_.at(gpa + len - 1);  // bounds check
    std::memcpy(&value, &bytes_[gpa], len);
    return value;
  }
  void store(uint64_t gpa, uint64_t value, unsigned len) {
    bytes_.at(gpa + len - 1);  // bounds check
    std::memcpy(&bytes_[gpa], &value, len);
  }
  uint64_t alloc_page() {
    const uint64_t page = next_free_;
    next_free_ += 0x1000;
    return page;
  }

  // Runs just before each compare-and-exchange, as another vCPU could.
  std::function<void(uint64_t gpa)> before_cmpxchg;
  int cmpxchg_calls = 0;
  int cmpxchg_failures = 0;

  static int read_gpa(void* ctx, u64 gpa, void* buf, unsigned int len) {
    auto* ram = static_cast<GuestRam*>(ctx);
    if (gpa >= kSize || len > kSize - gpa) {
      return -1;
    }
    std::memcpy(buf, &ram->bytes_[gpa], len);
    return 0;
  }
  static int cmpxchg_gpa(void* ctx, u64 gpa, u64 old, u64 new_value, unsigned int len) {
    auto* ram = static_cast<GuestRam*>(ctx);
    if (gpa >= kSize || len > kSize - gpa || (len != 4 && len != 8)) {
      return -1;
    }
    ++ram->cmpxchg_calls;
    if (ram->before_cmpxchg) {
      ram->before_cmpxchg(gpa);
    }
    if (ram->load(gpa, len) != old) {
      ++ram->cmpxchg_failures;
      return 1;
    }
    ram->store(gpa, new_value, len);
    return 0;
  }

 private:
  std::vector<std::uint8_t> bytes_;
  uint64_t next_free_ = 0x10000;
};

int levels_of(gpt_mode mode) {
  return mode == GPT_32 ? 2 : mode == GPT_PAE ? 3 : mode == GPT_LONG4 ? 4 : 5;
}

// Builds page tables of one format in GuestRam and finds their entries again.
class PageTables {
 public:
  PageTables(GuestRam& ram, gpt_mode mode) : ram_(ram), mode_(mode) {
    levels_ = levels_of(mode);
    entry_size_ = mode == GPT_32 ? 4 : 8;
    index_bits_ = mode == GPT_32 ? 10 : 9;
    // PAE's CR3 holds a 32-byte aligned PDPT (bits 31:5); Linux puts it in a slab like this.
    root_ = mode == GPT_PAE ? ram.alloc_page() + 0x20 : ram.alloc_page();
  }

  uint64_t cr3() const { return root_; }
  int levels() const { return levels_; }
  unsigned entry_size() const { return entry_size_; }

  // Maps @gva with @leaf_entry (frame | flags) at @leaf_level (1: 4 KiB, 2: 4 MiB or 2 MiB,
  // 3: 1 GiB), creating missing tables with the most permissive flags.
  void map(uint64_t gva, uint64_t leaf_entry, int leaf_level = 1) {
    uint64_t table = root_;
    for (int level = levels_; level > leaf_level; --level) {
      const uint64_t entry_gpa = table + index(gva, level) * entry_size_;
      uint64_t entry = ram_.load(entry_gpa, entry_size_);
      if (!(entry & kP)) {
        // A PAE PDPTE has no R/W or U/S bits: they are reserved there.
        const uint64_t flags = (mode_ == GPT_PAE && level == 3) ? kP : kP | kRW | kUS;
        entry = ram_.alloc_page() | flags;
        ram_.store(entry_gpa, entry, entry_size_);
      }
      table = entry & address_mask();
    }
    ram_.store(table + index(gva, leaf_level) * entry_size_, leaf_entry, entry_size_);
  }

  // Where the entry at @level that translates @gva lives (tables above must exist).
  uint64_t entry_gpa(uint64_t gva, int level) const {
    uint64_t table = root_;
    for (int l = levels_; l > level; --l) {
      table = ram_.load(table + index(gva, l) * entry_size_, entry_size_) & address_mask();
    }
    return table + index(gva, level) * entry_size_;
  }
  uint64_t get(uint64_t gva, int level) const {
    return ram_.load(entry_gpa(gva, level), entry_size_);
  }
  void set(uint64_t gva, int level, uint64_t value) {
    ram_.store(entry_gpa(gva, level), value, entry_size_);
  }
  void set_bits(uint64_t gva, int level, uint64_t bits) { set(gva, level, get(gva, level) | bits); }
  void clear_bits(uint64_t gva, int level, uint64_t bits) {
    set(gva, level, get(gva, level) & ~bits);
  }

 private:
  uint64_t index(uint64_t gva, int level) const {
    if (mode_ == GPT_PAE && level == 3) {
      return (gva >> 30) & 3;
    }
    return (gva >> (12 + index_bits_ * (level - 1))) & ((1u << index_bits_) - 1);
  }
  uint64_t address_mask() const { return mode_ == GPT_32 ? 0xfffff000ull : 0x000ffffffffff000ull; }

  GuestRam& ram_;
  gpt_mode mode_;
  int levels_;
  unsigned entry_size_;
  unsigned index_bits_;
  uint64_t root_;
};

struct Walk {
  gpt_result result;
  uint64_t gpa;
  uint32_t error_code;
};

// One vCPU's paging state over its own memory, with the settings a modern OS uses:
// CR0.WP=1, CR4.PSE=1 for 32-bit paging, EFER.NXE=1 for PAE and long mode.
class Guest {
 public:
  explicit Guest(gpt_mode mode) : pt(ram, mode) {
    std::memset(&walker, 0, sizeof(walker));
    walker.mode = mode;
    walker.cr3 = pt.cr3();
    walker.wp = true;
    walker.pse = mode == GPT_32;
    walker.nx = mode != GPT_32;
    walker.maxphyaddr = 46;
    walker.read_gpa = &GuestRam::read_gpa;
    walker.cmpxchg_gpa = &GuestRam::cmpxchg_gpa;
    walker.ctx = &ram;
  }

  Walk translate(uint64_t gva, uint32_t access) {
    Walk walk{GPT_NO_MEMORY, 0xdeadbeefdeadbeefull, 0xdeadbeefu};
    walk.result = gpt_translate(&walker, gva, access, &walk.gpa, &walk.error_code);
    return walk;
  }

  GuestRam ram;
  PageTables pt;
  gpt_walker walker;
};

// AssertionResult formats each << on its own, so std::hex would not stick.
std::string hex(uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

::testing::AssertionResult Translates(const Walk& walk, uint64_t expected_gpa) {
  if (walk.result != GPT_OK) {
    return ::testing::AssertionFailure()
           << "result " << walk.result << ", error code " << hex(walk.error_code);
  }
  if (walk.gpa != expected_gpa) {
    return ::testing::AssertionFailure()
           << "gpa " << hex(walk.gpa) << ", expected " << hex(expected_gpa);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Faults(const Walk& walk, uint32_t expected_error_code) {
  if (walk.result != GPT_FAULT) {
    return ::testing::AssertionFailure()
           << "result " << walk.result << " (gpa " << hex(walk.gpa)
           << "), expected a #PF with error code " << hex(expected_error_code);
  }
  if (walk.error_code != expected_error_code) {
    return ::testing::AssertionFailure()
           << "error code " << hex(walk.error_code) << ", expected " << hex(expected_error_code);
  }
  return ::testing::AssertionSuccess();
}

// An address whose index differs at every level, and a frame for it, per mode.
uint64_t sample_gva(gpt_mode mode) {
  switch (mode) {
    case GPT_32:
    case GPT_PAE:
      return 0xb7f45123;  // a 32-bit user stack address
    case GPT_LONG4:
      return 0x00007f3a5b6cd123;
    default:
      return 0x00ab7f3a5b6cd123;  // canonical for 57 bits, PML5 index 0xab
  }
}
uint64_t sample_frame(gpt_mode mode) {
  return mode == GPT_32 ? 0x0fed3000 : 0x123456000;  // above 4 GiB where the format allows
}

const char* mode_name(gpt_mode mode) {
  switch (mode) {
    case GPT_NONE:
      return "None";
    case GPT_32:
      return "Paging32";
    case GPT_PAE:
      return "Pae";
    case GPT_LONG4:
      return "Long4";
    case GPT_LONG5:
      return "Long5";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Translation in each mode.

TEST(GptWalkTranslate, PagingOffIsIdentity) {
  Guest g(GPT_NONE);
  EXPECT_TRUE(Translates(g.translate(0xfffff123, kRead), 0xfffff123));
  EXPECT_TRUE(Translates(g.translate(0x7c00, kWrite | kUser), 0x7c00));
  EXPECT_EQ(g.ram.cmpxchg_calls, 0);
}

TEST(GptWalkTranslate, Paging32FourKiBPage) {
  Guest g(GPT_32);
  g.pt.map(0x0804a000, 0x00345000 | kP | kRW | kUS);
  g.pt.map(0xc0100000, 0x00100000 | kP | kRW | kG);
  EXPECT_TRUE(Translates(g.translate(0x0804a123, kRead | kUser), 0x00345123));
  EXPECT_TRUE(Translates(g.translate(0x0804afff, kWrite | kUser), 0x00345fff));
  EXPECT_TRUE(Translates(g.translate(0xc0100abc, kRead), 0x00100abc));
  // The neighbouring page has no PTE.
  EXPECT_TRUE(Faults(g.translate(0x0804b000, kRead | kUser), kUser));
}

TEST(GptWalkTranslate, Paging32Pse4MiBPage) {
  Guest g(GPT_32);
  g.pt.map(0xc0000000, 0x01000000 | kP | kRW | kPS | kG, 2);
  EXPECT_TRUE(Translates(g.translate(0xc0123456, kRead), 0x01123456));
  EXPECT_TRUE(Translates(g.translate(0xc03fffff, kWrite), 0x013fffff));
}

TEST(GptWalkTranslate, Paging32Pse36HighAddressBits) {
  // PDE bits 20:13 hold physical address bits 39:32 of a 4 MiB page (SDM table 4-4).
  Guest g(GPT_32);
  g.walker.maxphyaddr = 40;
  g.pt.map(0xc0000000, 0x01000000 | (0x12ull << 13) | kP | kRW | kPS, 2);
  EXPECT_TRUE(Translates(g.translate(0xc0123456, kRead), 0x1201123456ull));
  g.pt.map(0xc0400000, 0xffc00000 | (0xffull << 13) | kP | kRW | kPS, 2);
  EXPECT_TRUE(Translates(g.translate(0xc07ffffc, kRead), 0xfffffffffcull));

  // With MAXPHYADDR 36 bits 16:13 give address bits 35:32 and bits 20:17 are reserved.
  g.walker.maxphyaddr = 36;
  g.pt.map(0xc0000000, 0x01000000 | (0xfull << 13) | kP | kRW | kPS, 2);
  EXPECT_TRUE(Translates(g.translate(0xc0123456, kRead), 0xf01123456ull));
  g.pt.map(0xc0000000, 0x01000000 | (0x10ull << 13) | kP | kRW | kPS, 2);
  EXPECT_TRUE(Faults(g.translate(0xc0123456, kRead), PFERR_PRESENT | PFERR_RSVD));
}

TEST(GptWalkTranslate, Paging32PsBitIgnoredWithoutCr4Pse) {
  // CR4.PSE=0: a PDE's bit 7 is ignored and the PDE always points to a page table.
  Guest g(GPT_32);
  g.walker.pse = false;
  g.pt.map(0x08048000, 0x00200000 | kP | kRW | kUS);
  g.pt.set_bits(0x08048000, 2, kPS);
  EXPECT_TRUE(Translates(g.translate(0x08048010, kRead | kUser), 0x00200010));
  // The same PDE with CR4.PSE=1 maps a 4 MiB page at the PDE's own frame instead.
  g.walker.pse = true;
  const Walk large = g.translate(0x08048010, kRead | kUser);
  ASSERT_EQ(large.result, GPT_OK);
  EXPECT_NE(large.gpa, 0x00200010u);
}

TEST(GptWalkTranslate, Pae4KiBPage) {
  Guest g(GPT_PAE);
  EXPECT_EQ(g.walker.cr3 & 0xfff, 0x20u) << "PDPT deliberately not page aligned";
  g.pt.map(0xb7712000, 0x0019a000 | kP | kRW | kUS);
  g.pt.map(0x00401000, 0x234567000ull | kP | kUS);  // a frame above 4 GiB
  EXPECT_TRUE(Translates(g.translate(0xb7712345, kRead | kUser), 0x0019a345));
  EXPECT_TRUE(Translates(g.translate(0x00401ffe, kFetch | kUser), 0x234567ffeull));
}

TEST(GptWalkTranslate, Pae2MiBPage) {
  Guest g(GPT_PAE);
  g.pt.map(0xc0000000, 0x00000000 | kP | kRW | kPS | kG, 2);
  g.pt.map(0x80200000, 0x00600000 | kP | kRW | kPS, 2);
  EXPECT_TRUE(Translates(g.translate(0x80312345, kRead), 0x00712345));
  EXPECT_TRUE(Translates(g.translate(0xc01fffff, kWrite), 0x001fffff));
}

TEST(GptWalkTranslate, Long4FourKiBPage) {
  Guest g(GPT_LONG4);
  g.pt.map(0x00007f3a5b6cd000, 0x123456000ull | kP | kRW | kUS | kNX);
  EXPECT_TRUE(Translates(g.translate(0x00007f3a5b6cdabc, kRead | kUser), 0x123456abcull));
  EXPECT_TRUE(Translates(g.translate(0x00007f3a5b6cd000, kWrite | kUser), 0x123456000ull));
}

TEST(GptWalkTranslate, Long4TwoMiBPage) {
  Guest g(GPT_LONG4);
  g.pt.map(0xffff800000200000, 0x3ffe00000ull | kP | kRW | kPS | kG, 2);
  EXPECT_TRUE(Translates(g.translate(0xffff800000201234, kRead), 0x3ffe01234ull));
  EXPECT_TRUE(Translates(g.translate(0xffff8000003fffff, kFetch), 0x3ffffffffull));
}

TEST(GptWalkTranslate, Long4OneGiBPage) {
  Guest g(GPT_LONG4);
  g.pt.map(0xffffffffc0000000, 0x4000000000ull | kP | kRW | kPS | kG, 3);
  EXPECT_TRUE(Translates(g.translate(0xffffffffc0123456, kRead), 0x4000123456ull));
  EXPECT_TRUE(Translates(g.translate(0xfffffffffffffff0, kWrite), 0x403ffffff0ull));
}

TEST(GptWalkTranslate, Long5FourKiBPage) {
  Guest g(GPT_LONG5);
  g.pt.map(0xff12345678abc000, 0x2468ace000ull | kP | kRW);
  g.pt.map(0x00ab7f3a5b6cd000, 0x13579b000ull | kP | kRW | kUS);
  EXPECT_TRUE(Translates(g.translate(0xff12345678abcdef, kRead), 0x2468acedefull));
  EXPECT_TRUE(Translates(g.translate(0x00ab7f3a5b6cd123, kWrite | kUser), 0x13579b123ull));
  // Walking the same root with four levels would use other entries.
  g.walker.mode = GPT_LONG4;
  const Walk four_level = g.translate(0x00ab7f3a5b6cd123, kRead | kUser);
  EXPECT_FALSE(four_level.result == GPT_OK && four_level.gpa == 0x13579b123ull);
}

TEST(GptWalkTranslate, Long5OneGiBPage) {
  Guest g(GPT_LONG5);
  g.pt.map(0xff00000040000000, 0x80000000ull | kP | kRW | kPS, 3);
  EXPECT_TRUE(Translates(g.translate(0xff00000040000123, kRead), 0x80000123ull));
}

// ---------------------------------------------------------------------------------------------
// Not-present faults at every level of every format.

class GptWalkEveryMode : public ::testing::TestWithParam<gpt_mode> {};

INSTANTIATE_TEST_SUITE_P(Modes, GptWalkEveryMode,
                         ::testing::Values(GPT_32, GPT_PAE, GPT_LONG4, GPT_LONG5),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

TEST_P(GptWalkEveryMode, NotPresentAtEachLevel) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  for (int level = 1; level <= levels_of(mode); ++level) {
    SCOPED_TRACE(::testing::Message() << "level " << level);
    Guest g(mode);
    g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
    ASSERT_TRUE(Translates(g.translate(gva, kRead), sample_frame(mode) | (gva & 0xfff)));
    g.pt.clear_bits(gva, level, kP);
    // P=0; W/R and U/S describe the access, not the entry.
    EXPECT_TRUE(Faults(g.translate(gva, kRead), 0));
    EXPECT_TRUE(Faults(g.translate(gva, kWrite), PFERR_WRITE));
    EXPECT_TRUE(Faults(g.translate(gva, kRead | kUser), PFERR_USER));
    EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_WRITE | PFERR_USER));
    // Reserved bits of a not-present entry are ignored: still P=0 and RSVD=0.
    g.pt.set_bits(gva, level, 1ull << 21);
    EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_WRITE | PFERR_USER));
  }
}

TEST_P(GptWalkEveryMode, FetchSetsIdOnlyWithSmep) {
  // I/D is 1 for a fetch if CR4.SMEP=1, or if CR4.PAE=1 and EFER.NXE=1 (SDM 4.7).
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.walker.nx = false;
  EXPECT_TRUE(Faults(g.translate(gva, kFetch | kUser), PFERR_USER));
  EXPECT_TRUE(Faults(g.translate(gva, kFetch), 0));
  g.walker.smep = true;
  EXPECT_TRUE(Faults(g.translate(gva, kFetch | kUser), PFERR_USER | PFERR_FETCH));
  EXPECT_TRUE(Faults(g.translate(gva, kFetch), PFERR_FETCH));
}

TEST(GptWalkNotPresent, FetchSetsIdWithNxeUnderPaeAndLongMode) {
  for (gpt_mode mode : {GPT_PAE, GPT_LONG4, GPT_LONG5}) {
    SCOPED_TRACE(mode_name(mode));
    Guest g(mode);
    g.walker.nx = true;
    EXPECT_TRUE(Faults(g.translate(sample_gva(mode), kFetch | kUser), PFERR_USER | PFERR_FETCH));
    EXPECT_TRUE(Faults(g.translate(sample_gva(mode), kRead | kUser), PFERR_USER));
  }
}

TEST(GptWalkNotPresent, Paging32FetchHasNoIdBitEvenWithNxe) {
  // 32-bit paging has no XD bit; EFER.NXE=1 changes nothing there (SDM 4.7: I/D needs
  // CR4.PAE=1 and NXE=1, or SMEP).
  Guest g(GPT_32);
  g.walker.nx = true;
  EXPECT_TRUE(Faults(g.translate(0x08048000, kFetch | kUser), PFERR_USER));
  g.pt.map(0x08048000, 0x00200000 | kP | kUS);
  g.pt.clear_bits(0x08048000, 1, kP);
  EXPECT_TRUE(Faults(g.translate(0x08048000, kFetch | kUser), PFERR_USER));
}

// ---------------------------------------------------------------------------------------------
// Permission faults (SDM 4.6).

TEST_P(GptWalkEveryMode, UserAccessToSupervisorPageAtAnyLevel) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
  for (int level = 1; level <= 5; ++level) {
    if (mode == GPT_PAE && level == 3) {
      continue;  // a PAE PDPTE has no U/S bit
    }
    Guest g(mode);
    if (level > g.pt.levels()) {
      break;
    }
    SCOPED_TRACE(::testing::Message() << "U/S=0 at level " << level);
    g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
    g.pt.clear_bits(gva, level, kUS);
    EXPECT_TRUE(Faults(g.translate(gva, kRead | kUser), PFERR_PRESENT | PFERR_USER));
    EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_PRESENT | PFERR_WRITE | PFERR_USER));
    EXPECT_TRUE(Translates(g.translate(gva, kRead), gpa)) << "the kernel still may";
    EXPECT_TRUE(Translates(g.translate(gva, kWrite), gpa));
  }
}

TEST_P(GptWalkEveryMode, UserWriteToReadOnlyPageAtAnyLevel) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
  for (int level = 1; level <= 5; ++level) {
    if (mode == GPT_PAE && level == 3) {
      continue;  // a PAE PDPTE has no R/W bit
    }
    Guest g(mode);
    if (level > g.pt.levels()) {
      break;
    }
    SCOPED_TRACE(::testing::Message() << "R/W=0 at level " << level);
    g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
    g.pt.clear_bits(gva, level, kRW);
    EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_PRESENT | PFERR_WRITE | PFERR_USER));
    EXPECT_TRUE(Translates(g.translate(gva, kRead | kUser), gpa));
  }
}

TEST_P(GptWalkEveryMode, SupervisorWriteToReadOnlyPageObeysCr0Wp) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
  for (uint64_t user_bit : {uint64_t{0}, kUS}) {
    SCOPED_TRACE(user_bit ? "user page" : "supervisor page");
    Guest g(mode);
    g.pt.map(gva, sample_frame(mode) | kP | user_bit);
    g.walker.wp = true;
    EXPECT_TRUE(Faults(g.translate(gva, kWrite), PFERR_PRESENT | PFERR_WRITE));
    EXPECT_EQ(g.pt.get(gva, 1) & (kA | kD), 0u);
    g.walker.wp = false;
    EXPECT_TRUE(Translates(g.translate(gva, kWrite), gpa));
    EXPECT_EQ(g.pt.get(gva, 1) & (kA | kD), kA | kD);
    // CR0.WP never lets the user write.
    if (user_bit) {
      EXPECT_TRUE(
          Faults(g.translate(gva, kWrite | kUser), PFERR_PRESENT | PFERR_WRITE | PFERR_USER));
    }
  }
}

TEST(GptWalkPermissions, NxFetchFaultsAtAnyLevelWhenNxeIsOn) {
  for (gpt_mode mode : {GPT_PAE, GPT_LONG4, GPT_LONG5}) {
    const uint64_t gva = sample_gva(mode);
    const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
    for (int level = 1; level <= 5; ++level) {
      Guest g(mode);
      if (level > g.pt.levels()) {
        break;
      }
      if (mode == GPT_PAE && level == 3) {
        continue;  // no XD bit in a PAE PDPTE
      }
      SCOPED_TRACE(::testing::Message() << mode_name(mode) << " XD at level " << level);
      g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
      EXPECT_TRUE(Translates(g.translate(gva, kFetch | kUser), gpa));
      g.pt.set_bits(gva, level, kNX);
      EXPECT_TRUE(
          Faults(g.translate(gva, kFetch | kUser), PFERR_PRESENT | PFERR_USER | PFERR_FETCH));
      EXPECT_TRUE(Faults(g.translate(gva, kFetch), PFERR_PRESENT | PFERR_FETCH));
      EXPECT_TRUE(Translates(g.translate(gva, kRead | kUser), gpa)) << "data is still readable";
      EXPECT_TRUE(Translates(g.translate(gva, kWrite), gpa));
    }
  }
}

TEST(GptWalkPermissions, NxBitIsReservedWhenNxeIsOff) {
  for (gpt_mode mode : {GPT_PAE, GPT_LONG4}) {
    SCOPED_TRACE(mode_name(mode));
    const uint64_t gva = sample_gva(mode);
    Guest g(mode);
    g.walker.nx = false;
    g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS | kNX);
    EXPECT_TRUE(Faults(g.translate(gva, kRead), PFERR_PRESENT | PFERR_RSVD));
    EXPECT_TRUE(Faults(g.translate(gva, kFetch | kUser), PFERR_PRESENT | PFERR_RSVD | PFERR_USER));
    g.walker.nx = true;
    EXPECT_TRUE(Translates(g.translate(gva, kRead), sample_frame(mode) | (gva & 0xfff)));
  }
}

TEST_P(GptWalkEveryMode, SmepBlocksSupervisorFetchFromUserPage) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
  Guest g(mode);
  g.walker.nx = false;
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  EXPECT_TRUE(Translates(g.translate(gva, kFetch), gpa)) << "SMEP off";
  g.walker.smep = true;
  EXPECT_TRUE(Faults(g.translate(gva, kFetch), PFERR_PRESENT | PFERR_FETCH));
  EXPECT_TRUE(Translates(g.translate(gva, kFetch | kUser), gpa)) << "user fetch is fine";
  EXPECT_TRUE(Translates(g.translate(gva, kRead), gpa)) << "SMEP is about fetches only";
  // A page that is supervisor at any level is not a user page.
  g.pt.clear_bits(gva, 2, kUS);
  EXPECT_TRUE(Translates(g.translate(gva, kFetch), gpa));
}

TEST_P(GptWalkEveryMode, SmapBlocksSupervisorDataAccessToUserPage) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  const uint64_t gpa = sample_frame(mode) | (gva & 0xfff);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  EXPECT_TRUE(Translates(g.translate(gva, kRead), gpa)) << "SMAP off";
  g.pt.clear_bits(gva, 1, kA);
  g.walker.smap = true;
  g.walker.ac = false;
  EXPECT_TRUE(Faults(g.translate(gva, kRead), PFERR_PRESENT));
  EXPECT_TRUE(Faults(g.translate(gva, kWrite), PFERR_PRESENT | PFERR_WRITE));
  EXPECT_EQ(g.pt.get(gva, 1) & (kA | kD), 0u);
  EXPECT_TRUE(Translates(g.translate(gva, kRead | kUser), gpa)) << "the user may";
  EXPECT_TRUE(Translates(g.translate(gva, kFetch), gpa)) << "fetches are SMEP's business";
  // STAC: EFLAGS.AC=1 lets explicit accesses through...
  g.walker.ac = true;
  EXPECT_TRUE(Translates(g.translate(gva, kRead), gpa));
  EXPECT_TRUE(Translates(g.translate(gva, kWrite), gpa));
  // ...but never the CPU's own implicit supervisor accesses (e.g. a GDT read).
  EXPECT_TRUE(Faults(g.translate(gva, kRead | PFERR_IMPLICIT), PFERR_PRESENT));
  EXPECT_TRUE(Faults(g.translate(gva, kWrite | PFERR_IMPLICIT), PFERR_PRESENT | PFERR_WRITE));
  // A supervisor page is never subject to SMAP.
  g.walker.ac = false;
  g.pt.clear_bits(gva, 1, kUS);
  EXPECT_TRUE(Translates(g.translate(gva, kRead | PFERR_IMPLICIT), gpa));
  EXPECT_TRUE(Translates(g.translate(gva, kWrite), gpa));
}

TEST(GptWalkPermissions, SmapWithAcStillObeysWpForReadOnlyUserPage) {
  // SDM 4.6.1: with SMAP, AC=1 and an explicit access, writes to a user page need R/W=1 when
  // CR0.WP=1.
  Guest g(GPT_LONG4);
  const uint64_t gva = sample_gva(GPT_LONG4);
  g.pt.map(gva, sample_frame(GPT_LONG4) | kP | kUS);
  g.walker.smap = true;
  g.walker.ac = true;
  EXPECT_TRUE(Faults(g.translate(gva, kWrite), PFERR_PRESENT | PFERR_WRITE));
  g.walker.wp = false;
  EXPECT_TRUE(Translates(g.translate(gva, kWrite), sample_frame(GPT_LONG4) | (gva & 0xfff)));
}

// ---------------------------------------------------------------------------------------------
// Reserved bits: P=1 and RSVD=1 in the error code.

TEST(GptWalkReserved, AddressBitsAboveMaxPhyAddr) {
  for (gpt_mode mode : {GPT_PAE, GPT_LONG4, GPT_LONG5}) {
    const uint64_t gva = sample_gva(mode);
    for (int level = 1; level <= 5; ++level) {
      Guest g(mode);
      if (level > g.pt.levels()) {
        break;
      }
      if (mode == GPT_PAE && level == 3) {
        continue;  // a PDPTE's reserved bits are checked at its load, not by the walk
      }
      SCOPED_TRACE(::testing::Message() << mode_name(mode) << " bit 36 at level " << level);
      g.walker.maxphyaddr = 36;
      g.pt.map(gva, 0x00345000 | kP | kRW | kUS);
      const uint64_t pte_gpa = g.pt.entry_gpa(gva, 1);  // before a table address changes
      g.pt.set_bits(gva, level, 1ull << 36);
      EXPECT_TRUE(Faults(g.translate(gva, kRead), PFERR_PRESENT | PFERR_RSVD));
      EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser),
                         PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE | PFERR_USER));
      EXPECT_EQ(g.ram.load(pte_gpa, 8) & kA, 0u);
      if (level == 1) {
        // A wider MAXPHYADDR makes bit 36 part of the address.
        g.walker.maxphyaddr = 40;
        EXPECT_TRUE(Translates(g.translate(gva, kRead), 0x1000345000ull | (gva & 0xfff)));
      }
    }
  }
}

TEST(GptWalkReserved, BitFiftyOneWithFiftyTwoBitMaxPhyAddrIsAnAddressBit) {
  Guest g(GPT_LONG4);
  g.walker.maxphyaddr = 52;
  g.pt.map(0x1000, (1ull << 51) | 0x5000 | kP);
  EXPECT_TRUE(Translates(g.translate(0x1234, kRead), (1ull << 51) | 0x5234));
  g.walker.maxphyaddr = 51;
  EXPECT_TRUE(Faults(g.translate(0x1234, kRead), PFERR_PRESENT | PFERR_RSVD));
}

TEST(GptWalkReserved, PsBitInPml4eAndPml5e) {
  for (gpt_mode mode : {GPT_LONG4, GPT_LONG5}) {
    Guest g(mode);
    for (int level = 4; level <= g.pt.levels(); ++level) {
      SCOPED_TRACE(::testing::Message() << mode_name(mode) << " PS at level " << level);
      const uint64_t gva = sample_gva(mode);
      g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
      const uint64_t saved = g.pt.get(gva, level);
      g.pt.set_bits(gva, level, kPS);
      EXPECT_TRUE(Faults(g.translate(gva, kRead | kUser), PFERR_PRESENT | PFERR_RSVD | PFERR_USER));
      g.pt.set(gva, level, saved);
    }
  }
}

TEST(GptWalkReserved, TwoMiBPageLowAddressBits) {
  for (gpt_mode mode : {GPT_PAE, GPT_LONG4}) {
    SCOPED_TRACE(mode_name(mode));
    Guest g(mode);
    const uint64_t gva = 0x80200000;
    for (int bit = 13; bit <= 20; ++bit) {
      SCOPED_TRACE(::testing::Message() << "bit " << bit);
      g.pt.map(gva, 0x00600000 | (1ull << bit) | kP | kRW | kPS, 2);
      EXPECT_TRUE(Faults(g.translate(gva + 0x1234, kRead), PFERR_PRESENT | PFERR_RSVD));
    }
    // Bit 12 is the large page's PAT bit: legal, and not part of the address.
    g.pt.map(gva, 0x00600000 | (1ull << 12) | kP | kRW | kPS, 2);
    EXPECT_TRUE(Translates(g.translate(gva + 0x1234, kRead), 0x00601234));
  }
}

TEST(GptWalkReserved, OneGiBPageLowAddressBits) {
  Guest g(GPT_LONG4);
  const uint64_t gva = 0xffffffffc0000000;
  for (int bit : {13, 20, 21, 29}) {
    SCOPED_TRACE(::testing::Message() << "bit " << bit);
    g.pt.map(gva, 0x4000000000ull | (1ull << bit) | kP | kRW | kPS, 3);
    EXPECT_TRUE(Faults(g.translate(gva, kWrite), PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE));
  }
  g.pt.map(gva, 0x4000000000ull | (1ull << 12) | kP | kRW | kPS, 3);
  EXPECT_TRUE(Translates(g.translate(gva + 0x3456, kRead), 0x4000003456ull));
}

TEST(GptWalkReserved, PaePdpteReservedBitsAreNotAWalkFault) {
  // A PAE PDPTE's reserved bits (2:1, 8:5, 63) make the PDPTE-register load #GP (MOV CR3 and
  // CR0/CR4 paging changes, checked in cr.c), never a #PF of the walk: the walk uses the entry
  // as loaded, as upstream's walker does.  With NPT, L0 even sets bit 5 in the guest's PDPT.
  const uint64_t gva = sample_gva(GPT_PAE);
  for (uint64_t bit : {kRW, kUS, kA, kD, kPS, kG, kNX, uint64_t{0x18 | 0xe00}}) {
    SCOPED_TRACE(::testing::Message() << "PDPTE bit " << hex(bit));
    Guest g(GPT_PAE);
    g.pt.map(gva, sample_frame(GPT_PAE) | kP | kRW | kUS);
    g.pt.set_bits(gva, 3, bit);
    EXPECT_TRUE(Translates(g.translate(gva, kRead | kUser), sample_frame(GPT_PAE) | (gva & 0xfff)));
  }
  // A PDPTE's P bit still counts.
  Guest g(GPT_PAE);
  g.pt.map(gva, sample_frame(GPT_PAE) | kP | kRW | kUS);
  g.pt.set(gva, 3, g.pt.get(gva, 3) & ~kP);
  EXPECT_TRUE(Faults(g.translate(gva, kRead | kUser), PFERR_USER));
}

TEST(GptWalkReserved, Paging32PseBit21) {
  Guest g(GPT_32);
  g.pt.map(0xc0000000, 0x01000000 | (1ull << 21) | kP | kRW | kPS, 2);
  EXPECT_TRUE(Faults(g.translate(0xc0001000, kRead), PFERR_PRESENT | PFERR_RSVD));
  EXPECT_TRUE(Faults(g.translate(0xc0001000, kWrite | kUser),
                     PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE | PFERR_USER));
  EXPECT_EQ(g.pt.get(0xc0000000, 2) & kA, 0u);
  // Without CR4.PSE bit 21 is just part of a page-table address.
  g.walker.pse = false;
  g.pt.set(0xc0000000, 2, 0x00200000 | kP | kRW | kPS);  // the PDE points at 0x200000
  g.ram.store(0x200000 + 1 * 4, 0x00777000 | kP | kRW, 4);
  EXPECT_TRUE(Translates(g.translate(0xc0001abc, kRead), 0x00777abc));
}

TEST(GptWalkReserved, Paging32FourKiBEntriesHaveNoReservedBits) {
  // 32-bit paging checks no reserved bits in PTEs or in PDEs that point to page tables.
  Guest g(GPT_32);
  g.pt.map(0x08048000, 0xfffff000 | kP | kRW | kUS | (1ull << 7) | (0x7ull << 9));
  g.pt.set_bits(0x08048000, 2, 0xe00);
  EXPECT_TRUE(Translates(g.translate(0x08048123, kRead | kUser), 0xfffff123));
}

// ---------------------------------------------------------------------------------------------
// Accessed and dirty flags (SDM 4.8).

TEST_P(GptWalkEveryMode, ReadSetsAccessedAtEveryLevelButNotDirty) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  std::vector<uint64_t> before;
  for (int level = 1; level <= g.pt.levels(); ++level) {
    before.push_back(g.pt.get(gva, level));
    ASSERT_EQ(before.back() & (kA | kD), 0u);
  }
  ASSERT_TRUE(Translates(g.translate(gva, kRead | kUser), sample_frame(mode) | (gva & 0xfff)));
  for (int level = 1; level <= g.pt.levels(); ++level) {
    SCOPED_TRACE(::testing::Message() << "level " << level);
    if (mode == GPT_PAE && level == 3) {
      // Bit 5 of a PDPTE is reserved: the CPU never writes PDPTEs.
      EXPECT_EQ(g.pt.get(gva, level), before[level - 1]);
    } else {
      EXPECT_EQ(g.pt.get(gva, level), before[level - 1] | kA);
    }
  }
  // Accessed is already set everywhere: a second read writes nothing.
  const int calls = g.ram.cmpxchg_calls;
  ASSERT_TRUE(Translates(g.translate(gva, kRead), sample_frame(mode) | (gva & 0xfff)));
  EXPECT_EQ(g.ram.cmpxchg_calls, calls);
}

TEST_P(GptWalkEveryMode, WriteSetsDirtyOnTheLeafOnly) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  ASSERT_TRUE(Translates(g.translate(gva, kWrite | kUser), sample_frame(mode) | (gva & 0xfff)));
  EXPECT_EQ(g.pt.get(gva, 1) & (kA | kD), kA | kD);
  for (int level = 2; level <= g.pt.levels(); ++level) {
    SCOPED_TRACE(::testing::Message() << "level " << level);
    const uint64_t expected = (mode == GPT_PAE && level == 3) ? 0 : kA;
    EXPECT_EQ(g.pt.get(gva, level) & (kA | kD), expected);
  }
}

TEST_P(GptWalkEveryMode, WriteAfterReadSetsDirty) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS | kA);
  ASSERT_TRUE(Translates(g.translate(gva, kRead), sample_frame(mode) | (gva & 0xfff)));
  EXPECT_EQ(g.pt.get(gva, 1) & kD, 0u);
  ASSERT_TRUE(Translates(g.translate(gva, kWrite), sample_frame(mode) | (gva & 0xfff)));
  EXPECT_EQ(g.pt.get(gva, 1) & kD, kD);
}

TEST(GptWalkAccessedDirty, LargePageWriteSetsDirtyOnThePde) {
  for (gpt_mode mode : {GPT_32, GPT_PAE, GPT_LONG4}) {
    SCOPED_TRACE(mode_name(mode));
    Guest g(mode);
    const uint64_t gva = 0xc0400000;
    const uint64_t frame = mode == GPT_32 ? 0x00800000 : 0x00600000;
    g.pt.map(gva, frame | kP | kRW | kPS, 2);
    ASSERT_EQ(g.translate(gva + 0x1234, kWrite).result, GPT_OK);
    EXPECT_EQ(g.pt.get(gva, 2) & (kA | kD), kA | kD);
    if (mode == GPT_LONG4) {
      EXPECT_EQ(g.pt.get(gva, 3) & (kA | kD), kA);
      EXPECT_EQ(g.pt.get(gva, 4) & (kA | kD), kA);
    }
  }
}

TEST(GptWalkAccessedDirty, Paging32UpdatesTouchOnlyTheirFourByteEntry) {
  Guest g(GPT_32);
  g.pt.map(0x08048000, 0x00200000 | kP | kRW | kUS);
  g.pt.map(0x08049000, 0x00201000 | kP | kRW | kUS);
  const uint64_t pte_gpa = g.pt.entry_gpa(0x08048000, 1);
  ASSERT_EQ(g.pt.entry_gpa(0x08049000, 1), pte_gpa + 4);
  ASSERT_TRUE(Translates(g.translate(0x08048000, kWrite | kUser), 0x00200000));
  EXPECT_EQ(g.ram.load(pte_gpa, 4), 0x00200000 | kP | kRW | kUS | kA | kD);
  EXPECT_EQ(g.ram.load(pte_gpa + 4, 4), 0x00201000 | kP | kRW | kUS) << "neighbour untouched";
}

TEST_P(GptWalkEveryMode, FaultingWalkSetsNoAccessedOrDirty) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kUS);  // read-only user page
  auto unchanged = [&] {
    for (int level = 1; level <= g.pt.levels(); ++level) {
      if (g.pt.get(gva, level) & (kA | kD)) {
        return ::testing::AssertionFailure() << "A/D set at level " << level;
      }
    }
    return ::testing::AssertionSuccess();
  };
  EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_PRESENT | PFERR_WRITE | PFERR_USER));
  EXPECT_TRUE(unchanged());
  g.pt.clear_bits(gva, 1, kP);
  EXPECT_TRUE(Faults(g.translate(gva, kRead | kUser), PFERR_USER));
  EXPECT_TRUE(unchanged()) << "not-present leaf: upper levels stay clean too";
  EXPECT_EQ(g.ram.cmpxchg_calls, 0);
}

// ---------------------------------------------------------------------------------------------
// Races on the A/D update: another vCPU changes an entry between the read and the cmpxchg.

TEST_P(GptWalkEveryMode, EntryChangedDuringUpdateRestartsTheWalk) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  const uint64_t pte_gpa = g.pt.entry_gpa(gva, 1);
  const uint64_t new_frame = 0x00abc000;
  bool raced = false;
  g.ram.before_cmpxchg = [&](uint64_t gpa) {
    if (gpa == pte_gpa && !raced) {
      raced = true;  // the guest remaps the page under us
      g.ram.store(pte_gpa, new_frame | kP | kRW | kUS, g.pt.entry_size());
    }
  };
  EXPECT_TRUE(Translates(g.translate(gva, kWrite | kUser), new_frame | (gva & 0xfff)));
  EXPECT_TRUE(raced);
  EXPECT_EQ(g.ram.cmpxchg_failures, 1);
  EXPECT_EQ(g.pt.get(gva, 1), new_frame | kP | kRW | kUS | kA | kD);
}

TEST_P(GptWalkEveryMode, EntryMadeReadOnlyDuringUpdateGivesTheNewFault) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  const uint64_t pte_gpa = g.pt.entry_gpa(gva, 1);
  g.ram.before_cmpxchg = [&](uint64_t gpa) {
    if (gpa == pte_gpa) {
      // Copy-on-write: the guest kernel write-protects the page.
      g.ram.store(pte_gpa, sample_frame(mode) | kP | kUS, g.pt.entry_size());
    }
  };
  EXPECT_TRUE(Faults(g.translate(gva, kWrite | kUser), PFERR_PRESENT | PFERR_WRITE | PFERR_USER));
  EXPECT_EQ(g.pt.get(gva, 1) & (kA | kD), 0u);
}

TEST(GptWalkRace, AccessedSetByAnotherVcpuIsNotAnError) {
  Guest g(GPT_LONG4);
  const uint64_t gva = sample_gva(GPT_LONG4);
  g.pt.map(gva, sample_frame(GPT_LONG4) | kP | kRW | kUS);
  const uint64_t pml4e_gpa = g.pt.entry_gpa(gva, 4);
  g.ram.before_cmpxchg = [&](uint64_t gpa) {
    if (gpa == pml4e_gpa) {
      g.ram.store(gpa, g.ram.load(gpa, 8) | kA, 8);
    }
  };
  EXPECT_TRUE(Translates(g.translate(gva, kRead), sample_frame(GPT_LONG4) | (gva & 0xfff)));
  EXPECT_EQ(g.ram.cmpxchg_failures, 1);
  for (int level = 1; level <= 4; ++level) {
    EXPECT_EQ(g.pt.get(gva, level) & (kA | kD), kA) << "level " << level;
  }
}

// ---------------------------------------------------------------------------------------------
// Page tables the guest points outside its memory.

TEST(GptWalkNoMemory, Cr3OutsideMemory) {
  for (gpt_mode mode : {GPT_32, GPT_PAE, GPT_LONG4, GPT_LONG5}) {
    SCOPED_TRACE(mode_name(mode));
    Guest g(mode);
    g.walker.cr3 = 0xfee00000;  // the local APIC page, not RAM
    EXPECT_EQ(g.translate(sample_gva(mode), kRead).result, GPT_NO_MEMORY);
  }
}

TEST_P(GptWalkEveryMode, TableOutsideMemory) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  g.pt.set(gva, 2, 0x40000000 | kP | kRW | kUS);  // a page table at 1 GiB, past the 4 MiB of RAM
  EXPECT_EQ(g.translate(gva, kRead).result, GPT_NO_MEMORY);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// gpt_walk(): what the shadow MMU builds its entries from.

namespace {

TEST_P(GptWalkEveryMode, WalkInfoNamesEveryEntryOfThePath) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS);
  gpt_walk_info info;
  uint32_t error_code = 0;
  ASSERT_EQ(gpt_walk(&g.walker, gva, kRead, &info, &error_code), GPT_OK);
  EXPECT_EQ(info.gpa, sample_frame(mode) | (gva & 0xfff));
  EXPECT_EQ(info.level, 1);
  EXPECT_EQ(info.levels, g.pt.levels());
  for (int level = 1; level <= g.pt.levels(); ++level) {
    SCOPED_TRACE(::testing::Message() << "level " << level);
    EXPECT_EQ(info.pte_gpa[level], g.pt.entry_gpa(gva, level));
    // The entries as the walk left them in memory (accessed bits included).
    EXPECT_EQ(info.pte[level], g.pt.get(gva, level));
  }
  EXPECT_TRUE(info.user);
  EXPECT_TRUE(info.writable);
  EXPECT_FALSE(info.nx);
  EXPECT_FALSE(info.dirty);  // a read leaves a clean page clean
}

TEST_P(GptWalkEveryMode, WalkInfoAccumulatesRightsOverLevels) {
  const gpt_mode mode = GetParam();
  const uint64_t gva = sample_gva(mode);
  Guest g(mode);
  g.walker.wp = false;  // so that a supervisor write succeeds on a read-only path
  g.pt.map(gva, sample_frame(mode) | kP | kRW | kUS | kD);
  // The level-2 entry takes away user and write access for everything below it.
  g.pt.clear_bits(gva, 2, kUS | kRW);
  gpt_walk_info info;
  uint32_t error_code = 0;
  ASSERT_EQ(gpt_walk(&g.walker, gva, kWrite, &info, &error_code), GPT_OK);
  EXPECT_FALSE(info.user);
  EXPECT_FALSE(info.writable);
  EXPECT_TRUE(info.dirty);
}

TEST(GptWalkInfo, NxAnywhereOnThePathMakesItNoExecute) {
  Guest g(GPT_LONG4);
  const uint64_t gva = sample_gva(GPT_LONG4);
  g.pt.map(gva, sample_frame(GPT_LONG4) | kP | kRW | kUS);
  g.pt.set_bits(gva, 3, kNX);
  gpt_walk_info info;
  uint32_t error_code = 0;
  ASSERT_EQ(gpt_walk(&g.walker, gva, kRead, &info, &error_code), GPT_OK);
  EXPECT_TRUE(info.nx);
  EXPECT_EQ(gpt_walk(&g.walker, gva, kFetch, &info, &error_code), GPT_FAULT);
  EXPECT_EQ(error_code, PFERR_PRESENT | PFERR_FETCH);
}

TEST(GptWalkInfo, LargePageLeafLevelAndWriteMarksDirty) {
  Guest g(GPT_PAE);
  const uint64_t gva = 0x40312345;
  g.pt.map(gva, 0x00a00000 | kP | kRW | kPS, 2);
  gpt_walk_info info;
  uint32_t error_code = 0;
  ASSERT_EQ(gpt_walk(&g.walker, gva, kWrite, &info, &error_code), GPT_OK);
  EXPECT_EQ(info.level, 2);
  EXPECT_EQ(info.gpa, 0x00a00000u | (gva & 0x1fffff));
  EXPECT_TRUE(info.dirty);
  EXPECT_EQ(info.pte[2] & (kA | kD), kA | kD);
}

TEST(GptWalkInfo, PagingOffIsIdentityWithEveryRight) {
  Guest g(GPT_NONE);
  gpt_walk_info info;
  uint32_t error_code = 0;
  ASSERT_EQ(gpt_walk(&g.walker, 0x12345678, kWrite | kUser, &info, &error_code), GPT_OK);
  EXPECT_EQ(info.gpa, 0x12345678u);
  EXPECT_TRUE(info.user && info.writable && info.dirty);
  EXPECT_FALSE(info.nx);
}

}  // namespace
