// The shadow MMU (kernel/mmu/shadow.c) built in userspace against the stand-ins of
// tests/unit/shadow_env/ (kernel lists, pages, xarray, MMU notifier) and a fake vCPU whose
// guest memory and page tables live in this process.  What is checked is what a guest would
// see or the design promises: a CR3 switch finds the shadow it had (and does not with
// shadow_cache=0), a write to a guest page table drops the shadow entry it feeds, shadowed
// tables are write-protected and their writes emulated, misaligned or flooding writes
// unshadow a page, the reverse map stays consistent (kvm_shadow_audit), the MMU notifier
// drops the leaves of an unmapped host range, the page count stays bounded.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

extern "C" {
#include "kvm_host.h"
#include "x86/x86.h"
#include "x86/guest_mem.h"
#include "shadow.h"
void* shim_param_shadow_cache(void);
void* shim_param_shadow_max_pages(void);
void* shim_param_shadow_unsync(void);
void* shim_param_shadow_large(void);
}

// ---- the stand-ins' implementations ---------------------------------------------------------

extern "C" {
int shim_warnings;
struct kvm_x86_ops kvm_x86_ops;

static std::unordered_map<uintptr_t, struct page*> g_pages;

struct page* virt_to_page(const void* addr) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(addr) & ~(PAGE_SIZE - 1);
  auto it = g_pages.find(base);
  if (it == g_pages.end()) {
    auto* p = new page{0, reinterpret_cast<void*>(base)};
    it = g_pages.emplace(base, p).first;
  }
  return it->second;
}
unsigned long get_zeroed_page(gfp_t) {
  void* p = std::aligned_alloc(PAGE_SIZE, PAGE_SIZE);
  std::memset(p, 0, PAGE_SIZE);
  virt_to_page(p);
  return reinterpret_cast<unsigned long>(p);
}
unsigned long __get_free_page(gfp_t gfp) { return get_zeroed_page(gfp); }
void free_page(unsigned long addr) {
  if (!addr) return;
  auto it = g_pages.find(addr);
  if (it != g_pages.end()) {
    EXPECT_EQ(it->second->private_, 0u) << "freed a page still owned";
    delete it->second;
    g_pages.erase(it);
  }
  std::free(reinterpret_cast<void*>(addr));
}
void* kzalloc(size_t size, gfp_t) { return std::calloc(1, size); }
void* kmalloc(size_t size, gfp_t) { return std::malloc(size); }
void* kcalloc(size_t n, size_t size, gfp_t) { return std::calloc(n, size); }
void kfree(const void* p) { std::free(const_cast<void*>(p)); }

static int g_gup_calls;
long get_user_pages_unlocked(unsigned long hva, unsigned long, struct page** pages,
                             unsigned int) {
  ++g_gup_calls;
  *pages = virt_to_page(reinterpret_cast<void*>(hva));
  return 1;
}
void put_page(struct page*) {}
int get_user_pages_fast_only(unsigned long hva, int, unsigned int flags, struct page** pages) {
  return static_cast<int>(get_user_pages_unlocked(hva, 1, pages, flags));
}

using XaMap = std::map<unsigned long, void*>;
void xa_init(struct xarray* xa) { xa->impl = new XaMap; }
void xa_destroy(struct xarray* xa) {
  delete static_cast<XaMap*>(xa->impl);
  xa->impl = nullptr;
}
void* xa_load(struct xarray* xa, unsigned long index) {
  auto* m = static_cast<XaMap*>(xa->impl);
  auto it = m->find(index);
  return it == m->end() ? nullptr : it->second;
}
void* xa_store(struct xarray* xa, unsigned long index, void* entry, gfp_t) {
  (*static_cast<XaMap*>(xa->impl))[index] = entry;
  return nullptr;
}
void* xa_erase(struct xarray* xa, unsigned long index) {
  static_cast<XaMap*>(xa->impl)->erase(index);
  return nullptr;
}
int xa_reserve(struct xarray*, unsigned long, gfp_t) { return 0; }
void xa_release(struct xarray*, unsigned long) {}
void* shim_xa_find(struct xarray* xa, unsigned long* index, unsigned long last) {
  auto* m = static_cast<XaMap*>(xa->impl);
  auto it = m->lower_bound(*index);
  if (it == m->end() || it->first > last) return nullptr;
  *index = it->first;
  return it->second;
}
int mmu_notifier_register(struct mmu_notifier*, struct mm_struct*) { return 0; }
void mmu_notifier_unregister(struct mmu_notifier*, struct mm_struct*) {}
}  // extern "C"

namespace {

constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40, kPS = 0x80;
constexpr uint64_t kSpteAddr = 0x000ffffffffff000ull;
constexpr uint64_t kMemSize = 8ull << 20;

// The fake machine: guest memory, one slot, one vCPU, its paging state.
struct Machine {
  uint8_t* mem = nullptr;
  struct kvm kvm {};
  struct kvm_vcpu vcpu {};
  struct kvm_memory_slot slot {};
  gpt_mode mode = GPT_LONG4;
  uint64_t cr3 = 0;
  bool wp = true;
  uint64_t next_table = 0x100000;  // page tables allocated from here up
  phys_addr_t root_pa = 0;
  std::map<int, int> requests;  // kvm_make_all_vcpus_request counts
  std::vector<std::pair<uint64_t, uint32_t>> injected_pf;
  int emulations = 0, pt_write_emulations = 0;
  // What the fake emulator writes for a page-table write: gpa, value, bytes.
  uint64_t emul_gpa = 0, emul_value = 0;
  unsigned emul_bytes = 8;
};
Machine* m;

}  // namespace

extern "C" {
struct kvm_memory_slot* kvm_gfn_to_slot(struct kvm*, gfn_t gfn) {
  return gfn < m->slot.npages ? &m->slot : nullptr;
}
void kvm_mark_page_dirty(struct kvm*, gfn_t) {}
// The host's side of large leaves: whether the process maps the 2 MiB around @hva with one
// huge page (set by a test; guest memory is 2 MiB-aligned, and __pa is the identity here).
static bool g_host_huge, g_host_huge_writable;
bool kvm_host_huge_2m(struct kvm*, unsigned long hva, phys_addr_t* pa, bool* writable) {
  if (!g_host_huge) return false;
  *pa = hva & ~((2ul << 20) - 1);
  *writable = g_host_huge_writable;
  return true;
}
void kvm_make_all_vcpus_request(struct kvm*, int req) {
  m->requests[req]++;
  set_bit(req, &m->vcpu.requests);
}
int kvm_read_guest(struct kvm*, gpa_t gpa, void* buf, unsigned int len) {
  if (gpa + len > kMemSize) return -EFAULT;
  std::memcpy(buf, m->mem + gpa, len);
  return 0;
}
static int walker_read(void*, u64 gpa, void* buf, unsigned int len) {
  return kvm_read_guest(nullptr, gpa, buf, len) ? -1 : 0;
}
static int walker_cmpxchg(void*, u64 gpa, u64 old, u64 new_value, unsigned int len) {
  if (gpa + len > kMemSize) return -1;
  uint64_t cur = 0;
  std::memcpy(&cur, m->mem + gpa, len);
  if (cur != old) return 1;
  std::memcpy(m->mem + gpa, &new_value, len);
  return 0;
}
void kvm_vcpu_init_walker(struct kvm_vcpu*, struct gpt_walker* w) {
  std::memset(w, 0, sizeof(*w));
  w->mode = m->mode;
  w->cr3 = m->cr3;
  w->wp = m->wp;
  w->pse = true;
  w->nx = m->mode != GPT_32;
  w->maxphyaddr = 46;
  w->read_gpa = walker_read;
  w->cmpxchg_gpa = walker_cmpxchg;
}
int kvm_emulate_instruction(struct kvm_vcpu*) {
  ++m->emulations;
  return 1;
}
int kvm_emulate_pt_write(struct kvm_vcpu*, gfn_t) {
  ++m->pt_write_emulations;
  std::memcpy(m->mem + m->emul_gpa, &m->emul_value, m->emul_bytes);
  kvm_mmu_track_write(&m->kvm, m->emul_gpa, m->emul_bytes);
  return 1;
}
int kvm_exit_internal_error(struct kvm_vcpu*, u32, const char*, u64, u64) {
  ADD_FAILURE() << "internal error exit";
  return 0;
}
int kvm_exit_shutdown(struct kvm_vcpu*) {
  ADD_FAILURE() << "shutdown";
  return 0;
}
void kvm_queue_pf(struct kvm_vcpu*, u64 address, u32 error_code) {
  m->injected_pf.emplace_back(address, error_code);
}
void kvm_tdp_zap_all(struct kvm*) {}
bool kvm_tdp_zap_gfns(struct kvm*, gfn_t, gfn_t) { return false; }
}  // extern "C"

namespace {

void load_root(struct kvm_vcpu*, phys_addr_t root) { m->root_pa = root; }
void flush_tlb(struct kvm_vcpu*) {}
u32 no_event(struct kvm_vcpu*, u32* err) {
  *err = 0;
  return 0;
}
void set_event(struct kvm_vcpu*, u32, u32) {}
void queue_exc(struct kvm_vcpu*, u8 vector, bool, u32) {
  ADD_FAILURE() << "unexpected exception " << int(vector);
}

class ShadowMmu : public ::testing::Test {
 protected:
  void SetUp() override {
    *static_cast<bool*>(shim_param_shadow_cache()) = true;
    *static_cast<unsigned*>(shim_param_shadow_max_pages()) = 0;
    *static_cast<bool*>(shim_param_shadow_unsync()) = true;
    *static_cast<bool*>(shim_param_shadow_large()) = true;
    g_host_huge = false;
    g_host_huge_writable = true;
    m = new Machine;
    m->mem = static_cast<uint8_t*>(std::aligned_alloc(2ul << 20, kMemSize));
    std::memset(m->mem, 0, kMemSize);
    m->slot.npages = kMemSize / PAGE_SIZE;
    m->slot.userspace_addr = reinterpret_cast<uintptr_t>(m->mem);
    m->kvm.slots[0] = &m->slot;
    m->vcpu.kvm = &m->kvm;
    kvm_x86_ops.load_mmu_root = load_root;
    kvm_x86_ops.flush_guest_tlb = flush_tlb;
    kvm_x86_ops.get_injected_event = no_event;
    kvm_x86_ops.set_injected_event = set_event;
    kvm_x86_ops.queue_exception = queue_exc;
    kvm_shadow_paging = true;
    ASSERT_EQ(kvm_shadow_vm_init(&m->kvm), 0);
  }
  void TearDown() override {
    kvm_shadow_vcpu_destroy(&m->vcpu);
    kvm_shadow_vm_destroy(&m->kvm);
    EXPECT_EQ(shim_warnings, 0);
    shim_warnings = 0;
    std::free(m->mem);
    delete m;
    m = nullptr;
  }

  // Guest page tables (64-bit entries, 4 levels, or 32-bit 2 levels).
  uint64_t new_table() {
    const uint64_t t = m->next_table;
    m->next_table += PAGE_SIZE;
    return t;
  }
  unsigned esize() const { return m->mode == GPT_32 ? 4 : 8; }
  int levels() const { return m->mode == GPT_32 ? 2 : 4; }
  unsigned index(uint64_t gva, int level) const {
    return m->mode == GPT_32 ? (gva >> (12 + 10 * (level - 1))) & 1023
                             : (gva >> (12 + 9 * (level - 1))) & 511;
  }
  uint64_t load(uint64_t gpa) const {
    uint64_t v = 0;
    std::memcpy(&v, m->mem + gpa, esize());
    return v;
  }
  void store(uint64_t gpa, uint64_t v) { std::memcpy(m->mem + gpa, &v, esize()); }
  // Maps @gva -> @frame in the tables under @root, creating tables (all rights).
  void map(uint64_t root, uint64_t gva, uint64_t frame, uint64_t flags) {
    uint64_t table = root;
    for (int level = levels(); level > 1; --level) {
      const uint64_t e = table + index(gva, level) * esize();
      if (!(load(e) & kP)) store(e, new_table() | kP | kRW | kUS);
      table = load(e) & ~0xfffull & (m->mode == GPT_32 ? 0xffffffffull : kSpteAddr);
    }
    store(table + index(gva, 1) * esize(), frame | flags);
  }
  uint64_t pte_gpa(uint64_t root, uint64_t gva, int at = 1) const {
    uint64_t table = root;
    for (int level = levels(); level > at; --level)
      table = load(table + index(gva, level) * esize()) & kSpteAddr & ~0xfffull;
    return table + index(gva, at) * esize();
  }
  // Share the table under root @from at @gva's top-level index with root @to.
  void share_top(uint64_t from, uint64_t to, uint64_t gva) {
    const uint64_t off = index(gva, levels()) * esize();
    store(to + off, load(from + off));
  }

  void switch_cr3(uint64_t cr3) {
    m->cr3 = cr3;
    ASSERT_EQ(kvm_mmu_reload(&m->vcpu), 0);
  }
  int fault(uint64_t gva, uint32_t error_code) {
    return kvm_shadow_page_fault(&m->vcpu, gva, error_code);
  }
  // The shadow leaf for @gva as the CPU would find it from the loaded root (4 KiB, or 2 MiB
  // with PS), or 0.
  uint64_t shadow_leaf(uint64_t gva) const {
    const u64* table = static_cast<const u64*>(__va(m->root_pa));
    for (int level = m->vcpu.shadow.root_level; level >= 1; --level) {
      const u64 e = table[(gva >> (12 + 9 * (level - 1))) & 511];
      if (!(e & kP)) return 0;
      if (level == 1 || (level == 2 && (e & kPS))) return e;
      table = static_cast<const u64*>(__va(e & kSpteAddr));
    }
    return 0;
  }
  uint64_t host_frame(uint64_t gpa) const {
    return reinterpret_cast<uintptr_t>(m->mem) + (gpa & ~0xfffull);
  }
  unsigned long audit() { return kvm_shadow_audit(&m->kvm); }
};

constexpr uint64_t kUserVa = 0x0000000000401000ull;
constexpr uint64_t kKernVa = 0xffff800000200000ull;
constexpr uint32_t kRead = 0, kWrite = PFERR_WRITE | PFERR_PRESENT;

TEST_F(ShadowMmu, FaultBuildsTheTranslationTheGuestTablesGive) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const uint64_t leaf = shadow_leaf(kUserVa);
  ASSERT_TRUE(leaf & kP);
  EXPECT_EQ(leaf & kSpteAddr, host_frame(0x300000));
  EXPECT_TRUE(leaf & kRW);  // writable and already dirty
  EXPECT_TRUE(leaf & kUS);
  EXPECT_TRUE(load(pte_gpa(root, kUserVa)) & kA);  // the walk set accessed
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, CleanPageIsReadOnlyUntilWrittenThenDirty) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_FALSE(shadow_leaf(kUserVa) & kRW);
  ASSERT_EQ(fault(kUserVa, kWrite), 1);
  EXPECT_TRUE(shadow_leaf(kUserVa) & kRW);
  EXPECT_TRUE(load(pte_gpa(root, kUserVa)) & kD);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, GuestFaultIsReflectedWithTheWalkersErrorCode) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW);  // supervisor page
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, PFERR_USER | PFERR_WRITE), 1);
  ASSERT_EQ(m->injected_pf.size(), 1u);
  EXPECT_EQ(m->injected_pf[0].first, kUserVa);
  EXPECT_EQ(m->injected_pf[0].second, PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
}

TEST_F(ShadowMmu, Cr3SwitchFindsTheShadowItHad) {
  const uint64_t a = new_table(), b = new_table();
  map(a, kUserVa, 0x300000, kP | kRW | kUS | kD);
  map(b, kUserVa, 0x310000, kP | kRW | kUS | kD);
  map(a, kKernVa, 0x320000, kP | kRW | kD);
  share_top(a, b, kKernVa);  // one kernel half, as every process has
  switch_cr3(a);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(kKernVa, kRead), 1);
  switch_cr3(b);
  const unsigned long created_before_b = m->kvm.shadow.created;
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(kKernVa, kRead), 1);
  // B's user half is new (3 tables); its kernel half is A's, shadowed already.
  EXPECT_EQ(m->kvm.shadow.created - created_before_b, 3u);
  EXPECT_EQ(shadow_leaf(kKernVa) & kSpteAddr, host_frame(0x320000));

  const unsigned long created = m->kvm.shadow.created, hits = m->kvm.shadow.hits;
  switch_cr3(a);
  EXPECT_EQ(m->kvm.shadow.created, created);  // nothing rebuilt
  EXPECT_GT(m->kvm.shadow.hits, hits);
  const int gups = g_gup_calls;
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x300000));  // no fault needed
  EXPECT_EQ(shadow_leaf(kKernVa) & kSpteAddr, host_frame(0x320000));
  EXPECT_EQ(g_gup_calls, gups);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, WithoutTheCacheEveryCr3SwitchRebuilds) {
  *static_cast<bool*>(shim_param_shadow_cache()) = false;
  const uint64_t a = new_table(), b = new_table();
  map(a, kUserVa, 0x300000, kP | kRW | kUS | kD);
  map(b, kUserVa, 0x310000, kP | kRW | kUS | kD);
  switch_cr3(a);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  switch_cr3(b);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const unsigned long created = m->kvm.shadow.created;
  switch_cr3(a);
  EXPECT_EQ(m->kvm.shadow.created, created + 1);  // a new root...
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);             // ...and empty
  EXPECT_EQ(m->kvm.shadow.hits, 0u);
  EXPECT_LE(m->kvm.shadow.nr_pages, 1u);  // B's tree went with its root
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, WriteToAGuestPteDropsItsShadowEntry) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_NE(shadow_leaf(kUserVa), 0u);
  const int flushes = m->requests[KVM_REQ_TLB_FLUSH];
  const uint64_t pte = pte_gpa(root, kUserVa);
  store(pte, 0x310000 | kP | kRW | kUS);  // the guest remaps the page
  kvm_mmu_track_write(&m->kvm, pte, 8);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_GT(m->requests[KVM_REQ_TLB_FLUSH], flushes);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x310000));
  EXPECT_EQ(audit(), 0u);
}

// Zap on write one level up: the guest points a page-directory entry at another page table.
// The shadow's table entry goes (the walk from the root stops there), the shadow of the old
// table loses that parent link and nothing else, and the next fault goes through the new one.
TEST_F(ShadowMmu, WriteToAGuestPdeDropsItsShadowTableEntry) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x300000));
  const uint64_t pages = m->kvm.shadow.nr_pages;
  const uint64_t table2 = new_table();
  store(table2 + index(kUserVa, 1) * esize(), 0x320000 | kP | kRW | kUS | kD);
  const int flushes = m->requests[KVM_REQ_TLB_FLUSH];
  const uint64_t pde = pte_gpa(root, kUserVa, 2);
  const uint64_t old_pde = load(pde);
  store(pde, table2 | kP | kRW | kUS);
  kvm_mmu_track_write(&m->kvm, pde, 8);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_GT(m->requests[KVM_REQ_TLB_FLUSH], flushes);
  EXPECT_EQ(audit(), 0u);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x320000));
  // the old table's shadow stays cached (unlinked), the new one was added
  EXPECT_EQ(m->kvm.shadow.nr_pages, pages + 1);
  EXPECT_EQ(audit(), 0u);
  // pointing the entry back finds the old table's shadow in the cache
  const uint64_t hits = m->kvm.shadow.hits;
  store(pde, old_pde);
  kvm_mmu_track_write(&m->kvm, pde, 8);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x300000));
  EXPECT_EQ(m->kvm.shadow.nr_pages, pages + 1);
  EXPECT_GT(m->kvm.shadow.hits, hits);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, ShadowedTableIsWriteProtectedAndItsWritesEmulated) {
  *static_cast<bool*>(shim_param_shadow_unsync()) = false;  // leaf tables too
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x0000000000600000ull;  // the guest maps its page table
  map(root, alias, pt, kP | kRW | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kRead), 1);
  EXPECT_TRUE(shadow_leaf(alias) & kP);
  EXPECT_FALSE(shadow_leaf(alias) & kRW) << "a shadowed page table mapped writable";
  // A write through the alias: emulated, and the shadow follows the new entry.
  m->emul_gpa = pte_gpa(root, kUserVa);
  m->emul_value = 0x310000 | kP | kRW | kUS | kD;
  ASSERT_EQ(fault(alias + (m->emul_gpa & 0xfff), kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 1);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x310000));
  EXPECT_EQ(m->kvm.shadow.unsynced, 0u);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, MisalignedWriteUnshadowsThePage) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x0000000000600000ull;
  map(root, alias, pt, kP | kRW | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  kvm_mmu_track_write(&m->kvm, pt + 3, 1);  // one byte: not a PTE update
  EXPECT_EQ(m->kvm.shadow.unshadowed, 1u);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  // No longer a shadowed table: the alias gets a writable leaf, no emulation.
  ASSERT_EQ(fault(alias, kWrite), 1);
  EXPECT_TRUE(shadow_leaf(alias) & kRW);
  EXPECT_EQ(m->pt_write_emulations, 0);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, WriteFloodingUnshadowsAndUseResetsTheCount) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const uint64_t pte = pte_gpa(root, kUserVa);
  // Two writes, then the table is used for a translation: still a table.
  kvm_mmu_track_write(&m->kvm, pte + 8, 8);
  kvm_mmu_track_write(&m->kvm, pte + 16, 8);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  kvm_mmu_track_write(&m->kvm, pte + 8, 8);
  EXPECT_EQ(m->kvm.shadow.unshadowed, 0u);
  EXPECT_NE(shadow_leaf(kUserVa), 0u);
  // Three in a row without use: it is not a page table any more.
  kvm_mmu_track_write(&m->kvm, pte + 16, 8);
  kvm_mmu_track_write(&m->kvm, pte + 24, 8);
  EXPECT_EQ(m->kvm.shadow.unshadowed, 1u);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_EQ(audit(), 0u);
}

// What decides whether kvm_emulate_pt_write goes on with the next iteration of a REP STOS over
// a table: whether the guest's next write there would fault again.  A table unshadowed by
// flooding would not, but the vCPU's own root would (its next entry shadows it again), and
// an unsync table never does.
TEST_F(ShadowMmu, WritesTrapWhileTheTableIsShadowedOrIsTheVcpusRoot) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t pd = pte_gpa(root, kUserVa, 2) & ~0xfffull;
  EXPECT_TRUE(kvm_mmu_write_traps(&m->vcpu, pt >> 12));
  EXPECT_TRUE(kvm_mmu_write_traps(&m->vcpu, pd >> 12));
  EXPECT_FALSE(kvm_mmu_write_traps(&m->vcpu, 0x300));  // guest data
  for (int i = 0; i < 3; ++i) kvm_mmu_track_write(&m->kvm, pd + 8 * (100 + i), 8);
  EXPECT_FALSE(kvm_mmu_write_traps(&m->vcpu, pd >> 12));  // unshadowed: the guest writes it
  for (int i = 0; i < 3; ++i) kvm_mmu_track_write(&m->kvm, root + 8 * (100 + i), 8);
  EXPECT_EQ(m->kvm.shadow.unshadowed, 2u);
  EXPECT_TRUE(kvm_mmu_write_traps(&m->vcpu, root >> 12));  // still this vCPU's CR3
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const uint64_t alias = 0x600000;  // the leaf table, dirty and writable: out of sync
  map(root, alias, pt, kP | kRW | kD);
  ASSERT_EQ(fault(alias, kRead), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_FALSE(kvm_mmu_write_traps(&m->vcpu, pt >> 12));
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, MmuNotifierDropsLeavesOfTheHostRangeAndRacingFaultsRetry) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  map(root, kUserVa + 0x1000, 0x301000, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(kUserVa + 0x1000, kRead), 1);
  const unsigned long hva = reinterpret_cast<uintptr_t>(m->mem) + 0x300000;
  const mmu_notifier_range range{hva, hva + 0x1000};
  const auto* ops = m->kvm.mn.ops;
  ops->invalidate_range_start(&m->kvm.mn, &range);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);        // in the range
  EXPECT_NE(shadow_leaf(kUserVa + 0x1000), 0u);  // outside it
  ASSERT_EQ(fault(kUserVa, kRead), 1);  // during the invalidation: no mapping
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  ops->invalidate_range_end(&m->kvm.mn, &range);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_NE(shadow_leaf(kUserVa), 0u);
  EXPECT_EQ(audit(), 0u);
}

// A protected guest table's every change reaches its shadow: INVLPG leaves its leaves, and a
// guest large page (mapped from a protected table), alone; the guest's next access needs no
// fault.  A change to the protected table is seen without INVLPG.
TEST_F(ShadowMmu, InvlpgKeepsWhatProtectedTablesMap) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  // A 2 MiB page at 0x40000000.
  const uint64_t big = 0x40000000;
  map(root, big, 0, 0);
  store(pte_gpa(root, big, 2), 0x600000 | kP | kRW | kUS | kD | kPS);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(big + 0x5000, kRead), 1);
  ASSERT_EQ(fault(big + 0x7000, kRead), 1);
  EXPECT_EQ(shadow_leaf(big + 0x5000) & kSpteAddr, host_frame(0x605000));
  const unsigned long faults = m->vcpu.stat.shadow_faults;
  kvm_mmu_invlpg(&m->vcpu, kUserVa);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x300000));
  kvm_mmu_invlpg(&m->vcpu, big + 0x1ff000);  // anywhere in the large page
  EXPECT_EQ(shadow_leaf(big + 0x5000) & kSpteAddr, host_frame(0x605000));
  EXPECT_EQ(shadow_leaf(big + 0x7000) & kSpteAddr, host_frame(0x607000));
  EXPECT_EQ(m->vcpu.stat.shadow_faults, faults);
  // The large page's entry rewritten (an emulated write to its protected table): gone.
  store(pte_gpa(root, big, 2), 0x400000 | kP | kRW | kUS | kD | kPS);
  kvm_mmu_track_write(&m->kvm, pte_gpa(root, big, 2), 8);
  EXPECT_EQ(shadow_leaf(big + 0x5000), 0u);
  ASSERT_EQ(fault(big + 0x5000, kRead), 1);
  EXPECT_EQ(shadow_leaf(big + 0x5000) & kSpteAddr, host_frame(0x405000));
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, ReclaimKeepsThePageCountBounded) {
  *static_cast<unsigned*>(shim_param_shadow_max_pages()) = 16;
  kvm_mmu_zap_all(&m->kvm);  // picks the new bound up, as a slot change does
  std::vector<uint64_t> roots;
  for (int i = 0; i < 12; ++i) {
    roots.push_back(new_table());
    map(roots.back(), kUserVa, 0x300000 + i * 0x1000, kP | kRW | kUS | kD);
  }
  for (int round = 0; round < 2; ++round) {
    for (uint64_t r : roots) {
      switch_cr3(r);
      ASSERT_EQ(fault(kUserVa, kRead), 1);
      EXPECT_LE(m->kvm.shadow.nr_pages, 16u + 4u);
      ASSERT_EQ(audit(), 0u);
    }
  }
  EXPECT_GT(m->kvm.shadow.reclaimed, 0u);
}

TEST_F(ShadowMmu, Paging32TablesAreShadowedInQuarters) {
  m->mode = GPT_32;
  const uint64_t pd = new_table();
  const uint64_t gva = 0x80601000;  // PD index 513 (third quarter), PT index 513 (upper half)
  map(pd, gva, 0x300000, kP | kRW | kUS | kD);
  switch_cr3(pd);
  EXPECT_EQ(m->vcpu.shadow.root_level, 3);
  ASSERT_EQ(fault(gva, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva) & kSpteAddr, host_frame(0x300000));
  // The PTE of gva is entry 513 of its guest table: the upper-half shadow drops it.
  const uint64_t pte = pte_gpa(pd, gva);
  ASSERT_EQ(pte & 0xfff, 513u * 4);
  store(pte, 0x310000 | kP | kRW | kUS | kD);
  kvm_mmu_track_write(&m->kvm, pte, 4);
  EXPECT_EQ(shadow_leaf(gva), 0u);
  ASSERT_EQ(fault(gva, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva) & kSpteAddr, host_frame(0x310000));
  EXPECT_EQ(audit(), 0u);
}

// A fault maps the present, accessed neighbours of its leaf in the same aligned group of 16
// guest entries, with the rights a fault on each would give; everything else stays unmapped.
TEST_F(ShadowMmu, FaultPrefetchesAccessedNeighboursWithTheirRights) {
  const uint64_t root = new_table();
  const uint64_t base = 0x400000;  // entries 0-15 of one table: one prefetch group
  for (int i = 0; i < 16; ++i) map(root, base + i * 0x1000, 0x300000 + i * 0x1000, kP | kRW | kUS | kA | kD);
  const uint64_t pt = pte_gpa(root, base) & ~0xfffull;
  store(pt + 2 * 8, 0x302000 | kP | kRW | kUS | kA);       // clean: read-only
  store(pt + 3 * 8, 0x303000 | kP | kUS | kA | kD);        // read-only in the guest
  store(pt + 4 * 8, 0x304000 | kP | kRW | kA | kD);        // supervisor
  store(pt + 5 * 8, 0x305000 | kP | kRW | kUS | kD);       // never accessed: not mapped
  store(pt + 6 * 8, 0x306000 | kRW | kUS | kA | kD);       // not present
  store(pt + 7 * 8, 0x307000 | kP | kRW | kUS | kA | kD | (1ull << 50));  // reserved bit
  store(pt + 8 * 8, 0x308000 | kP | kRW | kUS | kA | kD | (1ull << 63));  // execute-disable
  map(root, base + 0x10000, 0x310000, kP | kRW | kUS | kA | kD);           // next group
  switch_cr3(root);
  ASSERT_EQ(fault(base + 0x1000, kRead), 1);
  const uint64_t mapped = 0x1ull << 0 | 1ull << 1 | 1ull << 2 | 1ull << 3 | 1ull << 4 |
                          1ull << 8 | 0xfe00ull;  // 0-4, 8, 9-15
  for (int i = 0; i < 16; ++i) {
    const uint64_t leaf = shadow_leaf(base + i * 0x1000);
    SCOPED_TRACE(i);
    if (!(mapped >> i & 1)) {
      EXPECT_EQ(leaf, 0u);
      continue;
    }
    ASSERT_TRUE(leaf & kP);
    EXPECT_EQ(leaf & kSpteAddr, host_frame(0x300000 + i * 0x1000));
    EXPECT_EQ(bool(leaf & kRW), i != 2 && i != 3);
    EXPECT_EQ(bool(leaf & kUS), i != 4);
    EXPECT_EQ(bool(leaf >> 63), i == 8);
  }
  EXPECT_EQ(shadow_leaf(base + 0x10000), 0u);  // another group
  EXPECT_FALSE(load(pt + 5 * 8) & kA);         // nobody accessed it
  EXPECT_EQ(m->kvm.shadow.prefetched, 12u);  // the mapped ones but the faulting one
  // The clean one becomes writable by a fault, as without prefetching.
  ASSERT_EQ(fault(base + 0x2000, kWrite), 1);
  EXPECT_TRUE(shadow_leaf(base + 0x2000) & kRW);
  EXPECT_TRUE(load(pt + 2 * 8) & kD);
  EXPECT_EQ(audit(), 0u);
}

TEST_F(ShadowMmu, PrefetchNeverMapsAShadowedTableWritable) {
  const uint64_t root = new_table();
  const uint64_t va = 0x400000;
  map(root, va, 0x300000, kP | kRW | kUS | kA | kD);
  const uint64_t pt = pte_gpa(root, va) & ~0xfffull;
  // The neighbour maps the guest's own page table, writable and dirty in the guest.
  store(pt + 1 * 8, pt | kP | kRW | kUS | kA | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(va, kRead), 1);
  const uint64_t leaf = shadow_leaf(va + 0x1000);
  ASSERT_TRUE(leaf & kP);
  EXPECT_EQ(leaf & kSpteAddr, host_frame(pt));
  EXPECT_FALSE(leaf & kRW);
  EXPECT_EQ(audit(), 0u);  // also: no writable leaf on a shadowed table
}

TEST_F(ShadowMmu, PrefetchIn32BitUpperHalfTableAndLargePage) {
  m->mode = GPT_32;
  const uint64_t pd = new_table();
  const uint64_t gva = 0x80601000;  // PT index 513: upper-half shadow, group 512-527
  for (int i = 0; i < 4; ++i) map(pd, gva + i * 0x1000, 0x300000 + i * 0x1000, kP | kRW | kUS | kA | kD);
  map(pd, gva - 0x2000, 0x2ff000, kP | kRW | kUS | kA | kD);  // index 511: the other half
  switch_cr3(pd);
  ASSERT_EQ(fault(gva, kRead), 1);
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(shadow_leaf(gva + i * 0x1000) & kSpteAddr, host_frame(0x300000 + i * 0x1000)) << i;
  EXPECT_EQ(shadow_leaf(gva - 0x2000), 0u);
  // A 4 MiB guest page: its shadow is a direct table of its frames.
  const uint64_t big = 0xc0000000;
  store(pd + (big >> 22) * 4, 0x400000 | kP | kRW | kUS | kA | kD | kPS);
  ASSERT_EQ(fault(big + 0x23000, kRead), 1);
  for (uint64_t off = 0x20000; off < 0x30000; off += 0x1000)
    EXPECT_EQ(shadow_leaf(big + off) & kSpteAddr, host_frame(0x400000 + off)) << off;
  EXPECT_EQ(shadow_leaf(big + 0x30000), 0u);
  EXPECT_EQ(audit(), 0u);
}

// A table that was writable through some leaf when it got its shadow may still be written by
// other vCPUs until the TLB flush: prefetch from it waits for a flush to have completed.
TEST_F(ShadowMmu, PrefetchWaitsForTheFlushThatProtectsANewlyShadowedTable) {
  const uint64_t root = new_table();
  const uint64_t va = 0x400000, alias = 0x40000000;
  for (int i = 0; i < 4; ++i) map(root, va + i * 0x1000, 0x300000 + i * 0x1000, kP | kRW | kUS | kA | kD);
  const uint64_t pt = pte_gpa(root, va) & ~0xfffull;
  map(root, alias, pt, kP | kRW | kUS | kA | kD);  // the guest maps its page table writable
  switch_cr3(root);
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_TRUE(shadow_leaf(alias) & kRW);
  const int flushes = m->requests[KVM_REQ_TLB_FLUSH];
  ASSERT_EQ(fault(va, kRead), 1);  // shadows pt: its writable alias must be flushed first
  EXPECT_FALSE(shadow_leaf(alias) & kRW);
  EXPECT_GT(m->requests[KVM_REQ_TLB_FLUSH], flushes);
  EXPECT_EQ(shadow_leaf(va + 0x1000), 0u);  // not prefetched before that flush
  ASSERT_EQ(fault(va + 0x2000, kRead), 1);  // after it
  EXPECT_EQ(shadow_leaf(va + 0x1000) & kSpteAddr, host_frame(0x301000));
  EXPECT_EQ(shadow_leaf(va + 0x3000) & kSpteAddr, host_frame(0x303000));
  EXPECT_EQ(audit(), 0u);
}

// INVLPG is local to its vCPU, but the host page of the leaf it drops may still be in other
// vCPUs' TLBs: the next host invalidation (of any range) flushes them before the host may
// reuse the page; a flush in between settles it.
TEST_F(ShadowMmu, LeafDroppedByInvlpgIsFlushedEverywhereBeforeTheHostReusesItsPage) {
  const uint64_t root = new_table();
  const uint64_t all = kP | kRW | kUS | kA | kD;
  map(root, kUserVa, 0x300000, all);
  // The leaf table also mapped writable at an alias: a write there lets it go out of sync,
  // where INVLPG drops entries.
  const uint64_t alias = 0x40000000;
  map(root, alias, pte_gpa(root, kUserVa) & ~0xfffull, all);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  const int before = m->requests[KVM_REQ_TLB_FLUSH];
  kvm_mmu_invlpg(&m->vcpu, kUserVa);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_EQ(m->requests[KVM_REQ_TLB_FLUSH], before);  // no broadcast for INVLPG itself
  const unsigned long hva = reinterpret_cast<uintptr_t>(m->mem) + 0x300000;
  const mmu_notifier_range range{hva, hva + 0x1000};
  const auto* ops = m->kvm.mn.ops;
  ops->invalidate_range_start(&m->kvm.mn, &range);
  EXPECT_EQ(m->requests[KVM_REQ_TLB_FLUSH], before + 1);
  ops->invalidate_range_end(&m->kvm.mn, &range);
  ops->invalidate_range_start(&m->kvm.mn, &range);  // nothing stale left
  EXPECT_EQ(m->requests[KVM_REQ_TLB_FLUSH], before + 1);
  ops->invalidate_range_end(&m->kvm.mn, &range);
}

// ---- out-of-sync leaf tables --------------------------------------------------------------

// A write to a shadowed last-level table is not emulated: the table goes out of sync and the
// guest writes it natively.  Its shadow may hold the old entry (as a TLB may) until the guest
// flushes; the flush (here a CR3 load) protects the table again and drops the stale entry.
TEST_F(ShadowMmu, LeafTableWriteGoesOutOfSyncUntilTheNextFlush) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  const uint64_t pte = pte_gpa(root, kUserVa);
  const uint64_t alias = 0x0000000000600000ull;  // the guest maps its page table (clean)
  map(root, alias, pte & ~0xfffull, kP | kRW);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kRead), 1);
  EXPECT_FALSE(shadow_leaf(alias) & kRW);  // protected while in sync
  ASSERT_EQ(fault(alias + (pte & 0xfff), kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 0);
  EXPECT_TRUE(shadow_leaf(alias) & kRW);  // the guest now writes it natively
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_EQ(m->kvm.shadow.unsynced, 1u);
  EXPECT_EQ(audit(), 0u);
  store(pte, 0x310000 | kP | kRW | kUS | kD);
  // No flush yet: the old translation may still be used, like a TLB entry.
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x300000));
  const int flushes = m->requests[KVM_REQ_TLB_FLUSH];
  switch_cr3(root);  // the guest's flush
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_FALSE(shadow_leaf(alias) & kRW);  // protected again...
  EXPECT_GT(m->requests[KVM_REQ_TLB_FLUSH], flushes);  // ...everywhere
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(m->kvm.shadow.synced, 1u);
  EXPECT_EQ(audit(), 0u);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x310000));
  // The next write lets it out of sync again, still without emulation.
  ASSERT_EQ(fault(alias + (pte & 0xfff), kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 0);
  EXPECT_EQ(m->kvm.shadow.unsynced, 2u);
  EXPECT_EQ(audit(), 0u);
}

// A read through a dirty, writable guest mapping of a shadowed last-level table lets it out of
// sync at once, as upstream does (the guest kernel reads a table it then updates): the leaf is
// writable, and the write that follows takes no exit.  A clean mapping is read-only.
TEST_F(ShadowMmu, ReadThroughADirtyWritableMappingLetsALeafTableOutOfSync) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t dirty = 0x600000, clean = 0x601000;
  map(root, dirty, pt, kP | kRW | kD);
  map(root, clean, pt, kP | kRW);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(clean, kRead), 1);
  EXPECT_FALSE(shadow_leaf(clean) & kRW);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  ASSERT_EQ(fault(dirty, kRead), 1);
  EXPECT_TRUE(shadow_leaf(dirty) & kRW);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_EQ(m->pt_write_emulations, 0);
  EXPECT_EQ(audit(), 0u);
  switch_cr3(root);  // the guest's flush: in sync and protected again
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_FALSE(shadow_leaf(dirty) & kRW);
  EXPECT_EQ(audit(), 0u);
}

// The sync at a CR3 load reads every entry of the unsync table: rights taken away
// natively (copy-on-write, clean again, supervisor-only, execute-disable) are taken from the
// shadow; an entry no longer accessed, present, or pointing at the same frame is dropped.
TEST_F(ShadowMmu, SyncNarrowsRightsAndDropsStaleEntries) {
  const uint64_t root = new_table();
  const uint64_t base = 0x400000;
  const uint64_t all = kP | kRW | kUS | kA | kD;
  for (int i = 0; i < 8; ++i) map(root, base + i * 0x1000, 0x300000 + i * 0x1000, all);
  const uint64_t pt = pte_gpa(root, base) & ~0xfffull;
  const uint64_t alias = 0x40000000;
  map(root, alias, pt, all);
  switch_cr3(root);
  ASSERT_EQ(fault(base, kRead), 1);  // maps all 8 (prefetch)
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(shadow_leaf(base + i * 0x1000) & kRW) << i;
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pt + 1 * 8, 0x301000 | kP | kUS | kA | kD);          // copy-on-write: read-only
  store(pt + 2 * 8, 0x302000 | kP | kRW | kUS | kA);         // clean again
  store(pt + 3 * 8, 0x303000 | kP | kRW | kUS | kD);         // accessed bit cleared
  store(pt + 4 * 8, 0x304000 | kP | kRW | kA | kD);          // supervisor
  store(pt + 5 * 8, 0x305000 | all | (1ull << 63));          // execute-disable
  store(pt + 6 * 8, 0);                                      // unmapped
  store(pt + 7 * 8, 0x3f7000 | all);                         // another frame
  switch_cr3(root);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(shadow_leaf(base) & ~0xfffull & kSpteAddr, host_frame(0x300000));
  EXPECT_TRUE(shadow_leaf(base) & kRW);  // unchanged
  for (int i : {1, 2}) {
    EXPECT_EQ(shadow_leaf(base + i * 0x1000) & kSpteAddr, host_frame(0x300000 + i * 0x1000)) << i;
    EXPECT_FALSE(shadow_leaf(base + i * 0x1000) & kRW) << i;
  }
  EXPECT_FALSE(shadow_leaf(base + 0x4000) & kUS);
  EXPECT_TRUE(shadow_leaf(base + 0x4000) & kP);
  EXPECT_TRUE(shadow_leaf(base + 0x5000) >> 63);
  for (int i : {3, 6, 7}) EXPECT_EQ(shadow_leaf(base + i * 0x1000), 0u) << i;
  EXPECT_EQ(m->kvm.shadow.sync_dropped, 3u);
  EXPECT_EQ(audit(), 0u);
  // A write to the copy-on-write page faults; the guest sees it.
  ASSERT_EQ(fault(base + 0x1000, kWrite | PFERR_USER), 1);
  ASSERT_EQ(m->injected_pf.size(), 1u);
}

// INVLPG drops the shadow entry of its address only; the table stays out of sync (its other
// entries may stay stale, as other TLB entries may), with no flush of other vCPUs.
TEST_F(ShadowMmu, InvlpgInAnUnsyncTableDropsItsEntryOnly) {
  const uint64_t root = new_table();
  const uint64_t all = kP | kRW | kUS | kA | kD;
  map(root, kUserVa, 0x300000, all);
  map(root, kUserVa + 0x1000, 0x301000, all);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x40000000;
  map(root, alias, pt, all);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pte_gpa(root, kUserVa), 0x310000 | all);
  store(pte_gpa(root, kUserVa + 0x1000), 0x311000 | all);
  const int flushes = m->requests[KVM_REQ_TLB_FLUSH];
  const unsigned long pt_writes = m->kvm.shadow.pt_writes;
  kvm_mmu_invlpg(&m->vcpu, kUserVa);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  EXPECT_EQ(shadow_leaf(kUserVa + 0x1000) & kSpteAddr, host_frame(0x301000));  // stale, allowed
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_TRUE(shadow_leaf(alias) & kRW);
  EXPECT_EQ(m->requests[KVM_REQ_TLB_FLUSH], flushes);
  EXPECT_GT(m->kvm.shadow.pt_writes, pt_writes);  // racing faults recheck their walk
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x310000));
  EXPECT_EQ(audit(), 0u);
  switch_cr3(root);  // a full flush: everything read again
  EXPECT_EQ(shadow_leaf(kUserVa + 0x1000), 0u);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(audit(), 0u);
}

// A root found with nothing out of sync below it is not searched again at the next CR3 load onto
// it (two processes switching, an unrelated table out of sync); but a table below it that goes
// out of sync meanwhile, even while another root runs, is synced at that load.
TEST_F(ShadowMmu, CachedRootIsSyncedAgainOnlyWhenATableBelowWentOutOfSync) {
  const uint64_t a = new_table(), b = new_table(), c = new_table();
  const uint64_t all = kP | kRW | kUS | kA | kD;
  map(a, kUserVa, 0x300000, all);
  map(b, kUserVa, 0x310000, all);
  map(c, kUserVa, 0x320000, all);
  const uint64_t pta = pte_gpa(a, kUserVa) & ~0xfffull;
  const uint64_t ptc = pte_gpa(c, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x40000000, alias2 = 0x40001000;
  map(b, alias, pta, all);   // B can write A's leaf table
  map(c, alias2, ptc, all);  // C its own
  switch_cr3(a);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  switch_cr3(c);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias2, kWrite), 1);  // C's table out of sync: neither A nor B reach it
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  switch_cr3(b);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  const unsigned long gen = m->kvm.shadow.unsync_gen;
  for (int i = 0; i < 3; ++i) {
    switch_cr3(a);
    switch_cr3(b);
  }
  EXPECT_EQ(m->kvm.shadow.unsync_gen, gen);
  EXPECT_EQ(m->kvm.shadow.synced, 0u);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  // B writes A's table: out of sync while B runs.
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 2u);
  store(pta + index(kUserVa, 1) * 8, 0x3f0000 | all);
  switch_cr3(a);  // A's flush: its table is read again, C's stays out of sync
  EXPECT_EQ(m->kvm.shadow.synced, 1u);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kUserVa) & kSpteAddr, host_frame(0x3f0000));
  EXPECT_EQ(audit(), 0u);
}

// A CR3 load syncs the unsync tables its new root reaches, not those of other address spaces;
// a fault that links a cached table with unsync tables below syncs them before the guest goes on.
TEST_F(ShadowMmu, SyncIsScopedToWhatTheRootsReach) {
  const uint64_t a = new_table(), b = new_table();
  const uint64_t all = kP | kRW | kUS | kA | kD;
  map(a, kUserVa, 0x300000, all);
  map(a, kUserVa + 0x1000, 0x301000, all);
  map(b, kUserVa, 0x310000, all);
  const uint64_t pt = pte_gpa(a, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x40000000;
  map(a, alias, pt, all);
  switch_cr3(a);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pt + 2 * 8, 0x3f1000 | all);  // kUserVa + 0x1000, natively
  switch_cr3(b);                  // B cannot reach A's table: it stays out of sync
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  EXPECT_EQ(m->kvm.shadow.synced, 0u);
  EXPECT_EQ(audit(), 0u);
  switch_cr3(a);  // A's flush: synced
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(shadow_leaf(kUserVa + 0x1000), 0u);
  EXPECT_EQ(audit(), 0u);

  // Out of sync again; then B gets A's whole user half (a PML4 entry: an emulated write)
  // while B runs: its fault links A's cached page-directory-pointer table.
  ASSERT_EQ(fault(kUserVa + 0x1000, kRead), 1);
  ASSERT_EQ(shadow_leaf(kUserVa + 0x1000) & kSpteAddr, host_frame(0x3f1000));
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  switch_cr3(b);
  ASSERT_EQ(fault(kUserVa, kRead), 1);  // B's own page stays
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pt + 2 * 8, 0x3f2000 | all);
  const uint64_t gva2 = kUserVa + (1ull << 39);  // PML4 entry 1 of B = A's entry 0
  store(b + 8, load(a));
  kvm_mmu_track_write(&m->kvm, b + 8, 8);
  ASSERT_EQ(fault(gva2, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva2) & kSpteAddr, host_frame(0x300000));
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);  // synced before B's guest goes on
  EXPECT_EQ(shadow_leaf(gva2 + 0x1000), 0u);  // the stale entry went
  ASSERT_EQ(fault(gva2 + 0x1000, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva2 + 0x1000) & kSpteAddr, host_frame(0x3f2000));
  EXPECT_EQ(shadow_leaf(kUserVa + 0x1000), 0u);  // B's own table: nothing there
  EXPECT_EQ(audit(), 0u);
}

// A table with a shadow one level up (here: a page directory) always stays protected.
TEST_F(ShadowMmu, TableShadowedAboveTheLeafLevelStaysProtected) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  const uint64_t pde = pte_gpa(root, kUserVa, 2);
  const uint64_t alias = 0x40000000;
  map(root, alias, pde & ~0xfffull, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  m->emul_gpa = pde;
  m->emul_value = load(pde);
  ASSERT_EQ(fault(alias + (pde & 0xfff), kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 1);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_FALSE(shadow_leaf(alias) & kRW);
  EXPECT_EQ(audit(), 0u);
}

// A write to the page table that maps the written address itself is emulated.
TEST_F(ShadowMmu, WriteThroughTheTableItselfIsEmulated) {
  const uint64_t root = new_table();
  const uint64_t va = 0x400000;
  map(root, va, 0x300000, kP | kRW | kUS | kA | kD);
  const uint64_t pt = pte_gpa(root, va) & ~0xfffull;
  store(pt + 1 * 8, pt | kP | kRW | kUS | kA | kD);  // entry 1 maps the table
  switch_cr3(root);
  ASSERT_EQ(fault(va, kRead), 1);
  m->emul_gpa = pt + 2 * 8;
  m->emul_value = 0x302000 | kP | kRW | kUS | kD;
  ASSERT_EQ(fault(va + 0x1000 + 2 * 8, kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 1);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(audit(), 0u);
}

// An unsync table that gets a shadow one level up (the guest uses it as a page directory
// too) loses its unsync shadows and is protected again.
TEST_F(ShadowMmu, NewShadowAboveTheLeafLevelZapsUnsyncShadows) {
  const uint64_t root = new_table();
  const uint64_t data = new_table();
  map(root, kUserVa, data, kP | kRW | kUS | kD);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x40000000;
  map(root, alias, pt, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  // gva2's page directory is pt: its entry 1 (kUserVa's PTE) points at "table" data.
  const uint64_t gva2 = 0x0000008000200000ull + 0x5000;  // PML4 1, PDPT 0, PD 1, PT 5
  const uint64_t pdpt = new_table();
  store(root + 1 * 8, pdpt | kP | kRW | kUS);
  store(pdpt, pt | kP | kRW | kUS);
  store(data + 5 * 8, 0x320000 | kP | kRW | kUS | kD);
  ASSERT_EQ(fault(gva2, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva2) & kSpteAddr, host_frame(0x320000));
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 0u);
  EXPECT_EQ(shadow_leaf(kUserVa), 0u);  // its leaf shadow went
  EXPECT_FALSE(shadow_leaf(alias) & kRW);
  EXPECT_EQ(audit(), 0u);
  // Now a write to it is emulated.
  m->emul_gpa = pt + 8;
  m->emul_value = load(pt + 8);
  ASSERT_EQ(fault(alias + 8, kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 1);
  EXPECT_EQ(audit(), 0u);
}

// A cached unsync table linked under a new parent entry is synced on the spot: no flush will
// come for a translation the guest just created.
TEST_F(ShadowMmu, UnsyncTableFoundForANewParentIsSynced) {
  const uint64_t root = new_table();
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kA | kD);
  map(root, kUserVa + 0x1000, 0x301000, kP | kRW | kUS | kA | kD);
  const uint64_t pt = pte_gpa(root, kUserVa) & ~0xfffull;
  const uint64_t alias = 0x40000000;
  map(root, alias, pt, kP | kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  ASSERT_EQ(shadow_leaf(kUserVa + 0x1000) & kSpteAddr, host_frame(0x301000));
  ASSERT_EQ(fault(alias, kWrite), 1);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pt + 2 * 8, 0x3f1000 | kP | kRW | kUS | kD);  // natively, no flush (A clear)
  // The next 2 MiB gets the same page table (an emulated PDE write).
  const uint64_t pde = pte_gpa(root, kUserVa, 2);
  store(pde + 8, load(pde));
  kvm_mmu_track_write(&m->kvm, pde + 8, 8);
  const unsigned long synced = m->kvm.shadow.synced;
  ASSERT_EQ(fault(kUserVa + 0x200000, kRead), 1);
  EXPECT_EQ(m->kvm.shadow.synced, synced + 1);
  EXPECT_EQ(shadow_leaf(kUserVa + 0x1000), 0u);  // the stale entry, on both paths
  EXPECT_EQ(shadow_leaf(kUserVa + 0x201000), 0u);
  EXPECT_EQ(m->kvm.shadow.nr_unsync, 1u);  // still out of sync
  EXPECT_EQ(audit(), 0u);
}

// 32-bit paging: the shadow of the upper half of a guest table syncs from that half.
TEST_F(ShadowMmu, Paging32UnsyncUpperHalfSyncsFromItsHalf) {
  m->mode = GPT_32;
  const uint64_t pd = new_table();
  const uint64_t gva = 0x80601000;  // PT index 513 (upper half)
  map(pd, gva, 0x300000, kP | kRW | kUS | kA | kD);
  const uint64_t pte = pte_gpa(pd, gva);
  const uint64_t alias = 0x40000000;
  map(pd, alias, pte & ~0xfffull, kP | kRW | kUS | kA | kD);
  switch_cr3(pd);
  ASSERT_EQ(fault(gva, kRead), 1);
  ASSERT_EQ(fault(alias + (pte & 0xfff), kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 0);
  ASSERT_EQ(m->kvm.shadow.nr_unsync, 1u);
  store(pte, 0x310000 | kP | kRW | kUS | kA | kD);
  switch_cr3(pd);
  EXPECT_EQ(shadow_leaf(gva), 0u);
  EXPECT_FALSE(shadow_leaf(alias) & kRW);
  ASSERT_EQ(fault(gva, kRead), 1);
  EXPECT_EQ(shadow_leaf(gva) & kSpteAddr, host_frame(0x310000));
  EXPECT_EQ(audit(), 0u);
}

// ---- large leaves ---------------------------------------------------------------------------

// A guest 2 MiB page at kBig -> guest frame kBigFrame (flags @f), in a fresh root.
constexpr uint64_t kBig = 0x40000000, kBigFrame = 0x400000;

class ShadowLarge : public ShadowMmu {
 protected:
  uint64_t root = 0;
  void SetUp() override {
    ShadowMmu::SetUp();
    root = new_table();
    map(root, kBig, 0, 0);
  }
  void set_big(uint64_t flags) { store(pte_gpa(root, kBig, 2), kBigFrame | kP | kPS | flags); }
};

// The host backs the guest large page with a huge page: one 2 MiB shadow leaf maps it all, no
// leaf page is made; a clean page's leaf is read-only until the first write (which sets D).
TEST_F(ShadowLarge, GuestLargePageOverAHostHugePageIsOneLargeLeaf) {
  g_host_huge = true;
  set_big(kRW | kUS);
  switch_cr3(root);
  const unsigned long created = m->kvm.shadow.created;
  ASSERT_EQ(fault(kBig + 0x5000, kRead), 1);
  const uint64_t leaf = shadow_leaf(kBig + 0x5000);
  ASSERT_TRUE(leaf & kPS);
  EXPECT_EQ(leaf & kSpteAddr, host_frame(kBigFrame));
  EXPECT_FALSE(leaf & kRW);
  EXPECT_EQ(shadow_leaf(kBig + 0x1ff000), leaf);  // the whole 2 MiB, no more faults
  EXPECT_EQ(m->kvm.shadow.created - created, 2u);  // levels 3 and 2, no leaf page
  EXPECT_EQ(m->kvm.shadow.mapped_large, 1u);
  EXPECT_EQ(m->kvm.shadow.mapped, 0u);
  ASSERT_EQ(fault(kBig + 0x1ff000, kWrite), 1);
  EXPECT_TRUE(shadow_leaf(kBig + 0x5000) & kRW);
  EXPECT_TRUE(load(pte_gpa(root, kBig, 2)) & kD);
  EXPECT_EQ(audit(), 0u);
}

// Without the host huge page the guest large page gets a direct table of 4 KiB leaves, as
// does any with shadow_large=0 or in a slot logging dirty pages.  Once the host has the huge
// page (THP collapse), the next fault there puts a large leaf in the table's place.
TEST_F(ShadowLarge, DirectTableGivesWayToALargeLeafOnceTheHostPageIsHuge) {
  set_big(kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kBig + 0x5000, kRead), 1);
  EXPECT_FALSE(shadow_leaf(kBig + 0x5000) & kPS);
  EXPECT_EQ(shadow_leaf(kBig + 0x5000) & kSpteAddr, host_frame(kBigFrame + 0x5000));

  g_host_huge = true;
  *static_cast<bool*>(shim_param_shadow_large()) = false;
  ASSERT_EQ(fault(kBig + 0x6000, kRead), 1);
  EXPECT_FALSE(shadow_leaf(kBig + 0x6000) & kPS);
  *static_cast<bool*>(shim_param_shadow_large()) = true;
  unsigned long dirty[(kMemSize / PAGE_SIZE) / (8 * sizeof(long))] = {};
  m->slot.dirty_bitmap = dirty;
  ASSERT_EQ(fault(kBig + 0x7000, kRead), 1);
  EXPECT_FALSE(shadow_leaf(kBig + 0x7000) & kPS);
  m->slot.dirty_bitmap = nullptr;
  EXPECT_EQ(audit(), 0u);

  const unsigned long pages = m->kvm.shadow.nr_pages;
  ASSERT_EQ(fault(kBig + 0x8000, kRead), 1);
  EXPECT_TRUE(shadow_leaf(kBig + 0x5000) & kPS);
  EXPECT_EQ(shadow_leaf(kBig + 0x5000) & kSpteAddr, host_frame(kBigFrame));
  EXPECT_EQ(m->kvm.shadow.nr_pages, pages - 1);  // the direct table went
  EXPECT_EQ(audit(), 0u);
}

// A guest page table inside the 2 MiB gets a shadow: the large leaf over it goes (it could not
// keep the table read-only), and while the table stays shadowed those 2 MiB get 4 KiB leaves,
// the table's own read-only.
TEST_F(ShadowLarge, ShadowingAGuestTableInsideTheLargePageDropsItsLargeLeaf) {
  g_host_huge = true;
  set_big(kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kBig + 0x5000, kRead), 1);
  ASSERT_TRUE(shadow_leaf(kBig + 0x5000) & kPS);
  // The guest builds tables for kUserVa inside the large page's frames.
  m->next_table = kBigFrame + 0x80000;
  map(root, kUserVa, 0x300000, kP | kRW | kUS | kD);
  ASSERT_EQ(fault(kUserVa, kRead), 1);
  EXPECT_EQ(shadow_leaf(kBig + 0x5000), 0u);
  // The guest writes its page directory (there, a shadow one level up) through the big page.
  m->emul_gpa = kBigFrame + 0x80000 + 100 * 8;
  ASSERT_EQ(fault(kBig + 0x80000 + 100 * 8, kWrite), 1);
  EXPECT_EQ(m->pt_write_emulations, 1);
  ASSERT_EQ(fault(kBig + 0x80000, kRead), 1);
  EXPECT_EQ(shadow_leaf(kBig + 0x80000) & (kPS | kRW), 0u);  // mapped 4 KiB, read-only
  EXPECT_EQ(shadow_leaf(kBig + 0x80000) & kSpteAddr, host_frame(kBigFrame + 0x80000));
  ASSERT_EQ(fault(kBig + 0x5000, kWrite), 1);
  EXPECT_FALSE(shadow_leaf(kBig + 0x5000) & kPS);
  EXPECT_TRUE(shadow_leaf(kBig + 0x5000) & kRW);
  EXPECT_EQ(audit(), 0u);
}

// The host splits or moves its huge page (MMU notifier over any part of it): the large leaf
// goes; a write to the guest's entry for the large page drops it too.
TEST_F(ShadowLarge, HostInvalidationOrAGuestEntryWriteDropsTheLargeLeaf) {
  g_host_huge = true;
  set_big(kRW | kUS | kD);
  switch_cr3(root);
  ASSERT_EQ(fault(kBig, kRead), 1);
  ASSERT_TRUE(shadow_leaf(kBig) & kPS);
  const unsigned long hva = reinterpret_cast<uintptr_t>(m->mem) + kBigFrame + 0x1f0000;
  const mmu_notifier_range range{hva, hva + 0x1000};
  const auto* ops = m->kvm.mn.ops;
  ops->invalidate_range_start(&m->kvm.mn, &range);
  EXPECT_EQ(shadow_leaf(kBig), 0u);
  ops->invalidate_range_end(&m->kvm.mn, &range);
  EXPECT_EQ(audit(), 0u);

  ASSERT_EQ(fault(kBig, kRead), 1);
  ASSERT_TRUE(shadow_leaf(kBig) & kPS);
  store(pte_gpa(root, kBig, 2), 0x600000 | kP | kPS | kRW | kUS | kD);
  kvm_mmu_track_write(&m->kvm, pte_gpa(root, kBig, 2), 8);
  EXPECT_EQ(shadow_leaf(kBig), 0u);
  ASSERT_EQ(fault(kBig, kRead), 1);
  EXPECT_EQ(shadow_leaf(kBig) & kSpteAddr, host_frame(0x600000));
  EXPECT_EQ(audit(), 0u);
}

// A huge page the host does not let be written backs only read-only large leaves: a page the
// guest may write (dirty) gets 4 KiB leaves, which the host makes writable page by page.
TEST_F(ShadowLarge, ReadOnlyHugeHostPageGivesLargeLeavesOnlyToCleanPages) {
  g_host_huge = true;
  g_host_huge_writable = false;
  set_big(kRW | kUS);
  switch_cr3(root);
  ASSERT_EQ(fault(kBig + 0x3000, kRead), 1);
  EXPECT_EQ(shadow_leaf(kBig + 0x3000) & (kPS | kRW), kPS);
  ASSERT_EQ(fault(kBig + 0x3000, kWrite), 1);
  EXPECT_FALSE(shadow_leaf(kBig + 0x3000) & kPS);
  EXPECT_TRUE(shadow_leaf(kBig + 0x3000) & kRW);
  ASSERT_EQ(fault(kBig + 0x4000, kRead), 1);  // dirty now: stays 4 KiB
  EXPECT_FALSE(shadow_leaf(kBig + 0x4000) & kPS);
  EXPECT_EQ(audit(), 0u);
}

}  // namespace
