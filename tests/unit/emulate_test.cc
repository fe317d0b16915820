// The x86 instruction emulator (kernel/emulate/) built in userspace against a fake CPU state
// and a fake linear memory with one "MMIO" range.  Expected values are hand-computed from the
// Intel SDM vol. 2 (instruction semantics and flags) and vol. 3A chapter 5 (segmentation).
// kvm_portable.h uses the C headers; include their C++ forms first.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "emulate.h"
}

#include <gtest/gtest.h>

#include <atomic>
#include <initializer_list>
#include <map>
#include <thread>
#include <vector>

namespace {

using std::uint64_t;
using std::uint8_t;

enum Reg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

constexpr uint64_t CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7,
                   DF = 1 << 10, OF = 1 << 11;
constexpr uint64_t kArith = CF | PF | AF | ZF | SF | OF;

constexpr uint64_t kMmioBase = 0xfebf0000;
constexpr uint64_t kMmioSize = 0x1000;

struct Access {
  uint64_t linear;
  unsigned bytes;
  uint64_t value;
};

// A vCPU and its memory.  Memory is linear (the emulator adds segment bases; paging is the
// ops' business): a sparse byte map reading 0 where never written, plus an MMIO range whose
// read first answers X86EMUL_IO_NEEDED and, on the retry, the value the test provided.
class Cpu {
 public:
  explicit Cpu(x86emul_mode mode) {
    std::memset(&c, 0, sizeof(c));
    c.ops = &kOps;
    c.opaque = this;
    c.mode = mode;
    c.rflags = 0x2;
    for (auto& s : c.seg) {
      s.base = 0;
      s.present = true;
      s.type = 3;  // data, read/write, accessed
      s.limit = mode == X86EMUL_MODE_REAL ? 0xffff : 0xffffffff;
      s.db = mode == X86EMUL_MODE_PROT32 || mode == X86EMUL_MODE_PROT64;
    }
    c.seg[X86EMUL_SEG_CS].type = 0xb;  // code, execute/read, accessed
    if (mode == X86EMUL_MODE_REAL) {
      set_real_seg(X86EMUL_SEG_CS, 0x1000);
      set_real_seg(X86EMUL_SEG_DS, 0x2000);
      set_real_seg(X86EMUL_SEG_SS, 0x3000);
      set_real_seg(X86EMUL_SEG_ES, 0x4000);
      c.rip = 0x100;
    } else if (mode == X86EMUL_MODE_PROT16) {
      c.rip = 0x1000;  // IP is 16 bits
    } else {
      c.rip = 0x400000;
    }
  }

  void set_real_seg(int seg, uint64_t selector) { c.seg[seg].base = selector << 4; }

  uint64_t code_linear() const {
    const uint64_t base = c.mode == X86EMUL_MODE_PROT64 ? 0 : c.seg[X86EMUL_SEG_CS].base;
    return base + c.rip;
  }
  // Places the instruction at CS:RIP.
  void code(std::vector<uint8_t> bytes) {
    const uint64_t at = code_linear();
    for (size_t i = 0; i < bytes.size(); ++i) {
      mem[at + i] = bytes[i];
    }
  }
  void poke(uint64_t linear, uint64_t value, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) {
      mem[linear + i] = static_cast<uint8_t>(value >> (8 * i));
    }
  }
  uint64_t peek(uint64_t linear, unsigned bytes) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) {
      auto it = mem.find(linear + i);
      v |= static_cast<uint64_t>(it == mem.end() ? 0 : it->second) << (8 * i);
    }
    return v;
  }

  int run() { return x86_emulate_insn(&c); }

  // Runs an instruction whose MMIO read needs userspace: the first run must stop with
  // IO_NEEDED and no effect at all; the retry, with @value available, must finish.
  void run_mmio(uint64_t value) {
    const auto before = c;
    const size_t writes_before = writes.size();
    ASSERT_EQ(run(), X86EMUL_IO_NEEDED);
    EXPECT_EQ(0, std::memcmp(before.regs, c.regs, sizeof(c.regs))) << "registers changed";
    EXPECT_EQ(before.rip, c.rip) << "RIP moved";
    EXPECT_EQ(before.rflags, c.rflags) << "flags changed";
    EXPECT_EQ(writes_before, writes.size()) << "memory written before IO_NEEDED";
    mmio_ready = true;
    mmio_value = value;
    ASSERT_EQ(run(), X86EMUL_CONTINUE);
    EXPECT_FALSE(mmio_ready) << "MMIO data not consumed";
  }

  uint64_t& r(Reg reg) { return c.regs[reg]; }
  uint64_t arith() const { return c.rflags & kArith; }

  x86_emulate_ctxt c;
  std::map<uint64_t, uint8_t> mem;
  std::vector<Access> reads, writes;
  bool mmio_ready = false;
  uint64_t mmio_value = 0;
  uint64_t pf_linear = ~0ull;        // data reads/writes here answer #PF
  uint64_t pf_write_linear = ~0ull;  // data writes here answer #PF
  int fetch_calls = 0;
  // Control registers and TLB invalidations, for the system instructions.
  uint64_t cr[16] = {};
  std::vector<uint64_t> invlpgs;
  struct Dtable {
    bool idt;
    uint64_t base;
    uint16_t limit;
  };
  std::vector<Dtable> dtables;   // LGDT/LIDT loads, in order
  bool refuse_cr_write = false;  // set_cr answers #GP(0)
  void enable_system_ops() { c.ops = &kSysOps; }
  // Locked writes go through a compare-exchange op.  @other_cpu_writes[i], when set, is what
  // "another CPU" stores at the operand just before the i-th compare-exchange.
  void enable_locked_ops() { c.ops = &kLockedOps; }
  std::vector<Access> cmpxchgs;
  std::map<size_t, uint64_t> other_cpu_writes;

 private:
  static Cpu* self(x86_emulate_ctxt* ctxt) { return static_cast<Cpu*>(ctxt->opaque); }
  static bool is_mmio(uint64_t linear) {
    return linear >= kMmioBase && linear < kMmioBase + kMmioSize;
  }
  static int page_fault(x86_emulate_ctxt* ctxt, uint64_t linear, bool write) {
    ctxt->exception.vector = 14;
    ctxt->exception.error_code_valid = true;
    ctxt->exception.error_code = write ? 2 : 0;
    ctxt->exception.address = linear;
    return X86EMUL_PROPAGATE_FAULT;
  }

  static int fetch(x86_emulate_ctxt* ctxt, u64 linear, void* val, unsigned bytes) {
    Cpu* cpu = self(ctxt);
    ++cpu->fetch_calls;
    EXPECT_LE((linear & 0xfff) + bytes, 0x1000u) << "fetch crosses a page";
    for (unsigned i = 0; i < bytes; ++i) {
      static_cast<uint8_t*>(val)[i] = static_cast<uint8_t>(cpu->peek(linear + i, 1));
    }
    return X86EMUL_CONTINUE;
  }
  static int read(x86_emulate_ctxt* ctxt, u64 linear, void* val, unsigned bytes) {
    Cpu* cpu = self(ctxt);
    EXPECT_TRUE(bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8);
    if (linear == cpu->pf_linear) {
      return page_fault(ctxt, linear, false);
    }
    uint64_t v;
    if (is_mmio(linear)) {
      if (!cpu->mmio_ready) {
        return X86EMUL_IO_NEEDED;
      }
      cpu->mmio_ready = false;
      v = cpu->mmio_value;
    } else {
      v = cpu->peek(linear, bytes);
    }
    std::memcpy(val, &v, bytes);
    cpu->reads.push_back({linear, bytes, v});
    return X86EMUL_CONTINUE;
  }
  static int write(x86_emulate_ctxt* ctxt, u64 linear, const void* val, unsigned bytes) {
    Cpu* cpu = self(ctxt);
    EXPECT_TRUE(bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8);
    if (linear == cpu->pf_linear || linear == cpu->pf_write_linear) {
      return page_fault(ctxt, linear, true);
    }
    uint64_t v = 0;
    std::memcpy(&v, val, bytes);
    cpu->writes.push_back({linear, bytes, v});
    if (!is_mmio(linear)) {
      cpu->poke(linear, v, bytes);
    }
    return X86EMUL_CONTINUE;
  }

  static int get_cr(x86_emulate_ctxt* ctxt, int n, u64* val) {
    *val = self(ctxt)->cr[n];
    return X86EMUL_CONTINUE;
  }
  static int set_cr(x86_emulate_ctxt* ctxt, int n, u64 val) {
    if (self(ctxt)->refuse_cr_write) {
      ctxt->exception.vector = 13;
      ctxt->exception.error_code_valid = true;
      ctxt->exception.error_code = 0;
      return X86EMUL_PROPAGATE_FAULT;
    }
    self(ctxt)->cr[n] = val;
    return X86EMUL_CONTINUE;
  }
  static int invlpg(x86_emulate_ctxt* ctxt, u64 linear) {
    self(ctxt)->invlpgs.push_back(linear);
    return X86EMUL_CONTINUE;
  }
  static int set_dtable(x86_emulate_ctxt* ctxt, bool idt, u64 base, u16 limit) {
    self(ctxt)->dtables.push_back({idt, base, limit});
    return X86EMUL_CONTINUE;
  }

  static int cmpxchg(x86_emulate_ctxt* ctxt, u64 linear, u64 old_val, u64 new_val,
                     unsigned bytes) {
    Cpu* cpu = self(ctxt);
    EXPECT_TRUE(bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8);
    auto other = cpu->other_cpu_writes.find(cpu->cmpxchgs.size());
    cpu->cmpxchgs.push_back({linear, bytes, new_val});
    if (other != cpu->other_cpu_writes.end()) {
      cpu->poke(linear, other->second, bytes);
    }
    if (cpu->peek(linear, bytes) != old_val) {
      return X86EMUL_CMPXCHG_FAILED;
    }
    cpu->poke(linear, new_val, bytes);
    return X86EMUL_CONTINUE;
  }

  // fetch, read, write, get_cr, set_cr, invlpg, cmpxchg, set_dtable
  static constexpr x86_emulate_ops kOps = {&Cpu::fetch, &Cpu::read, &Cpu::write, nullptr,
                                           nullptr,     nullptr,    nullptr,     nullptr};
  static constexpr x86_emulate_ops kSysOps = {&Cpu::fetch,  &Cpu::read,   &Cpu::write,
                                              &Cpu::get_cr, &Cpu::set_cr, &Cpu::invlpg,
                                              nullptr,      &Cpu::set_dtable};
  static constexpr x86_emulate_ops kLockedOps = {&Cpu::fetch, &Cpu::read, &Cpu::write,
                                                 nullptr,     nullptr,    nullptr,
                                                 &Cpu::cmpxchg, nullptr};
};

void expect_fault(Cpu& cpu, uint8_t vector, bool error_code_valid = true) {
  const auto before = cpu.c;
  const size_t writes = cpu.writes.size();
  ASSERT_EQ(cpu.run(), X86EMUL_PROPAGATE_FAULT);
  EXPECT_EQ(cpu.c.exception.vector, vector);
  EXPECT_EQ(cpu.c.exception.error_code_valid, error_code_valid);
  if (error_code_valid) {
    EXPECT_EQ(cpu.c.exception.error_code, 0u);
  }
  EXPECT_EQ(0, std::memcmp(before.regs, cpu.c.regs, sizeof(cpu.c.regs)));
  EXPECT_EQ(before.rip, cpu.c.rip);
  EXPECT_EQ(before.rflags, cpu.c.rflags);
  EXPECT_EQ(writes, cpu.writes.size());
}

// ---------------------------------------------------------------------------------------------
// Arithmetic flags, register forms, every operand size.

struct AluCase {
  const char* name;
  uint8_t opcode;  // the "op r/m, reg" opcode of the 8-bit form (00, 08, ... 38)
  unsigned bytes;
  uint64_t a, b;
  bool cf_in;
  uint64_t result;
  uint64_t flags;
};

class AluFlags : public ::testing::TestWithParam<AluCase> {};

TEST_P(AluFlags, MatchesHandComputed) {
  const AluCase& t = GetParam();
  Cpu cpu(X86EMUL_MODE_PROT64);
  // op r/m, reg with rm = rAX (dst), reg = rBX (src): ModRM 11 011 000.
  std::vector<uint8_t> insn;
  if (t.bytes == 2) insn.push_back(0x66);
  if (t.bytes == 8) insn.push_back(0x48);
  insn.push_back(t.bytes == 1 ? t.opcode : t.opcode + 1);
  insn.push_back(0xd8);
  cpu.code(insn);
  const uint64_t high = 0xa5a5a5a5a5a5a5a5ull;
  const uint64_t mask = t.bytes == 8 ? ~0ull : (1ull << (8 * t.bytes)) - 1;
  cpu.r(RAX) = (high & ~mask) | t.a;
  cpu.r(RBX) = t.b;
  cpu.c.rflags = 0x2 | (t.cf_in ? CF : 0) | (kArith & ~CF & ~t.flags);  // stale flags
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  uint64_t expect_rax;
  if (t.opcode == 0x38) {
    expect_rax = (high & ~mask) | t.a;  // cmp writes nothing
  } else if (t.bytes == 4) {
    expect_rax = t.result;  // 32-bit writes zero-extend
  } else {
    expect_rax = (high & ~mask) | t.result;
  }
  EXPECT_EQ(cpu.r(RAX), expect_rax);
  EXPECT_EQ(cpu.arith(), t.flags) << t.name;
  EXPECT_EQ(cpu.c.rip, 0x400000u + insn.size());
}

INSTANTIATE_TEST_SUITE_P(
    Emulate, AluFlags,
    ::testing::Values(
        AluCase{"add8_signed_overflow", 0x00, 1, 0x7f, 0x01, false, 0x80, OF | SF | AF},
        AluCase{"add8_carry_to_zero", 0x00, 1, 0xff, 0x01, false, 0x00, CF | ZF | AF | PF},
        AluCase{"add8_both_overflow", 0x00, 1, 0x80, 0x80, false, 0x00, CF | OF | ZF | PF},
        AluCase{"add16_plain", 0x00, 2, 0x1234, 0x4321, false, 0x5555, PF},
        AluCase{"add32_carry", 0x00, 4, 0xffffffff, 1, false, 0, CF | ZF | AF | PF},
        AluCase{"add32_overflow", 0x00, 4, 0x7fffffff, 1, false, 0x80000000, OF | SF | AF | PF},
        AluCase{"add64_both", 0x00, 8, 1ull << 63, 1ull << 63, false, 0, CF | OF | ZF | PF},
        AluCase{"adc8_carry_in", 0x10, 1, 0xff, 0x00, true, 0x00, CF | ZF | AF | PF},
        AluCase{"adc32_overflow_by_carry", 0x10, 4, 0x7fffffff, 0, true, 0x80000000,
                OF | SF | AF | PF},
        AluCase{"adc64_no_carry_in", 0x10, 8, 5, 6, false, 11, 0},
        AluCase{"sub8_borrow", 0x28, 1, 0x00, 0x01, false, 0xff, CF | SF | AF | PF},
        AluCase{"sub8_overflow", 0x28, 1, 0x80, 0x01, false, 0x7f, OF | AF},
        AluCase{"sub16_zero", 0x28, 2, 0x1234, 0x1234, false, 0, ZF | PF},
        AluCase{"sub32_overflow", 0x28, 4, 0x80000000, 1, false, 0x7fffffff, OF | AF | PF},
        AluCase{"sub64_min", 0x28, 8, 0, 1ull << 63, false, 1ull << 63, CF | OF | SF | PF},
        AluCase{"sbb8_borrow_in", 0x18, 1, 0x00, 0x00, true, 0xff, CF | SF | AF | PF},
        AluCase{"sbb16_overflow", 0x18, 2, 0x8000, 0, true, 0x7fff, OF | AF | PF},
        AluCase{"cmp8_unsigned_below", 0x38, 1, 0x01, 0xff, false, 0x02, CF | AF},
        AluCase{"cmp32_equal", 0x38, 4, 5, 5, false, 0, ZF | PF},
        AluCase{"cmp64_signed_overflow", 0x38, 8, 1ull << 63, 1, false, 0, OF | AF | PF},
        AluCase{"and8_zero_clears_cf_of", 0x20, 1, 0xf0, 0x0f, false, 0x00, ZF | PF},
        AluCase{"and64", 0x20, 8, ~0ull, 1ull << 63, false, 1ull << 63, SF | PF},
        AluCase{"or32_sign", 0x08, 4, 0x80000000, 1, false, 0x80000001, SF},
        AluCase{"or16", 0x08, 2, 0x0100, 0x0003, false, 0x0103, PF},
        AluCase{"xor64_self", 0x30, 8, 0x1234, 0x1234, false, 0, ZF | PF},
        AluCase{"xor8", 0x30, 1, 0xff, 0x0f, false, 0xf0, SF | PF}),
    [](const ::testing::TestParamInfo<AluCase>& info) { return std::string(info.param.name); });

struct UnaryCase {
  const char* name;
  uint8_t reg_field;  // F6/F7 /2 not, /3 neg; FE/FF /0 inc, /1 dec
  bool incdec;
  unsigned bytes;
  uint64_t a;
  uint64_t flags_in;
  uint64_t result;
  uint64_t flags;
};

class UnaryFlags : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryFlags, MatchesHandComputed) {
  const UnaryCase& t = GetParam();
  Cpu cpu(X86EMUL_MODE_PROT64);
  std::vector<uint8_t> insn;
  if (t.bytes == 2) insn.push_back(0x66);
  if (t.bytes == 8) insn.push_back(0x48);
  const uint8_t op = t.incdec ? 0xfe : 0xf6;
  insn.push_back(t.bytes == 1 ? op : op + 1);
  insn.push_back(0x18);  // [rax]: ModRM 00 reg 000, then patched below
  insn.back() = static_cast<uint8_t>(0x00 | (t.reg_field << 3));  // 00 /r 000 = [rax]
  cpu.code(insn);
  cpu.r(RAX) = 0x2000;
  cpu.poke(0x2000, t.a, t.bytes);
  cpu.poke(0x2000 + t.bytes, 0xee, 1);  // must not be touched
  cpu.c.rflags = 0x2 | t.flags_in;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x2000, t.bytes), t.result);
  EXPECT_EQ(cpu.peek(0x2000 + t.bytes, 1), 0xeeu);
  EXPECT_EQ(cpu.arith(), t.flags) << t.name;
}

INSTANTIATE_TEST_SUITE_P(
    Emulate, UnaryFlags,
    ::testing::Values(
        UnaryCase{"neg8_min", 3, false, 1, 0x80, 0, 0x80, CF | OF | SF},
        UnaryCase{"neg32_zero", 3, false, 4, 0, CF | OF, 0, ZF | PF},
        UnaryCase{"neg16_one", 3, false, 2, 1, 0, 0xffff, CF | SF | AF | PF},
        UnaryCase{"neg64", 3, false, 8, 2, 0, ~1ull, CF | SF | AF},
        UnaryCase{"not8_flags_kept", 2, false, 1, 0x0f, CF | ZF | OF, 0xf0, CF | ZF | OF},
        UnaryCase{"not64", 2, false, 8, 0, 0, ~0ull, 0},
        UnaryCase{"inc8_overflow_keeps_cf", 0, true, 1, 0x7f, CF, 0x80, CF | OF | SF | AF},
        UnaryCase{"inc32_wrap_no_cf", 0, true, 4, 0xffffffff, 0, 0, ZF | AF | PF},
        UnaryCase{"inc16", 0, true, 2, 0x00ff, 0, 0x0100, AF | PF},
        UnaryCase{"inc64", 0, true, 8, 0x7fffffffffffffffull, 0, 1ull << 63, OF | SF | AF | PF},
        UnaryCase{"dec8_overflow", 1, true, 1, 0x80, CF, 0x7f, CF | OF | AF},
        UnaryCase{"dec16_wrap_keeps_cf_clear", 1, true, 2, 0, 0, 0xffff, SF | AF | PF},
        UnaryCase{"dec32_to_zero", 1, true, 4, 1, 0, 0, ZF | PF},
        UnaryCase{"dec64", 1, true, 8, 0, CF, ~0ull, CF | SF | AF | PF}),
    [](const ::testing::TestParamInfo<UnaryCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// ALU forms other than reg,reg.

TEST(Emulate, AluMemoryDestinationReadModifyWrite) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0x01, 0x18});  // add [eax], ebx
  cpu.r(RAX) = 0x1000;
  cpu.r(RBX) = 0x10;
  cpu.poke(0x1000, 0xfffffff8, 4);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x1000, 4), 8u);
  EXPECT_EQ(cpu.arith(), CF);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
}

TEST(Emulate, AluRegisterFromMemory) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0x2b, 0x03});  // sub eax, [ebx]
  cpu.r(RAX) = 10;
  cpu.r(RBX) = 0x1000;
  cpu.poke(0x1000, 3, 4);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RAX), 7u);
  EXPECT_TRUE(cpu.writes.empty());
}

TEST(Emulate, AluAccumulatorImmediates) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x04, 0x01});  // add al, 1
    cpu.r(RAX) = 0x12ff;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x1200u);
    EXPECT_EQ(cpu.arith(), CF | ZF | AF | PF);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x25, 0x00, 0xff, 0xff, 0xff});  // and rax, imm32 sign-extended
    cpu.r(RAX) = 0x123456789abcdef0ull;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x123456789abcde00ull);
    EXPECT_EQ(cpu.c.rip, 0x400006u);
  }
  {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code({0x3d, 0x34, 0x12});  // cmp ax, 0x1234
    cpu.r(RAX) = 0x1234;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), ZF | PF);
    EXPECT_EQ(cpu.c.rip, 0x103u);
  }
}

TEST(Emulate, AluGroup80_81_83) {
  struct G {
    std::vector<uint8_t> code;
    uint64_t mem_in;
    unsigned bytes;
    uint64_t mem_out;
  };
  const G cases[] = {
      {{0x80, 0x00, 0x05}, 0xfe, 1, 0x03},                         // add byte [rax], 5
      {{0x80, 0x08, 0x80}, 0x01, 1, 0x81},                         // or byte [rax], 0x80
      {{0x81, 0x20, 0x0f, 0x00, 0x0f, 0x00}, 0x12345678, 4, 0x00040008},  // and dword, imm32
      {{0x66, 0x81, 0x30, 0xff, 0x00}, 0x1234, 2, 0x12cb},         // xor word, imm16
      {{0x83, 0x28, 0xff}, 10, 4, 11},                             // sub dword, -1
      {{0x48, 0x83, 0x00, 0xff}, 0, 8, ~0ull},                     // add qword, -1
      {{0x48, 0x81, 0x18, 0x01, 0x00, 0x00, 0x00}, 5, 8, 4},       // sbb qword, 1 (CF=0)
      {{0x80, 0x10, 0x01}, 0x10, 1, 0x11},                         // adc byte, 1
      {{0x80, 0x38, 0x01}, 0x10, 1, 0x10},                         // cmp: no write
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code(t.code);
    cpu.r(RAX) = 0x3000;
    cpu.poke(0x3000, t.mem_in, t.bytes);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.peek(0x3000, t.bytes), t.mem_out) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.c.rip, 0x400000 + t.code.size());
  }
}

TEST(Emulate, CmpMemoryNeverWrites) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x39, 0x18});  // cmp [rax], ebx
  cpu.r(RAX) = kMmioBase;
  cpu.r(RBX) = 7;
  cpu.run_mmio(7);
  EXPECT_TRUE(cpu.writes.empty());
  EXPECT_EQ(cpu.arith(), ZF | PF);
}

TEST(Emulate, TestAllForms) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x84, 0x18});  // test [rax], bl
    cpu.r(RAX) = 0x3000;
    cpu.r(RBX) = 0x80;
    cpu.poke(0x3000, 0xc0, 1);
    cpu.c.rflags |= CF | OF;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), SF);
    EXPECT_TRUE(cpu.writes.empty());
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x85, 0x18});  // test [rax], rbx
    cpu.r(RAX) = 0x3000;
    cpu.r(RBX) = 1ull << 40;
    cpu.poke(0x3000, 1ull << 41, 8);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), ZF | PF);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0xa8, 0x01});  // test al, 1
    cpu.r(RAX) = 0x3;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), 0u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0x66, 0xa9, 0x00, 0x80});  // test ax, 0x8000
    cpu.r(RAX) = 0x8000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), SF | PF);
    EXPECT_EQ(cpu.c.rip, 0x400004u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0xf6, 0x00, 0x04});  // test byte [rax], 4
    cpu.r(RAX) = kMmioBase + 8;
    cpu.run_mmio(0x04);
    EXPECT_EQ(cpu.arith(), 0u);
    EXPECT_EQ(cpu.c.rip, 0x400003u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0xf7, 0x00, 0x00, 0x00, 0x00, 0x80});  // test qword [rax], sext(0x80000000)
    cpu.r(RAX) = 0x3000;
    cpu.poke(0x3000, 1ull << 63, 8);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.arith(), SF | PF);
    EXPECT_EQ(cpu.c.rip, 0x400007u);
  }
}

// ---------------------------------------------------------------------------------------------
// mov and its relatives.

TEST(Emulate, Mov64AllDirectionsAndSizes) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x88, 0x03});  // mov [rbx], al
    cpu.r(RAX) = 0x1122;
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    ASSERT_EQ(cpu.writes.size(), 1u);
    EXPECT_EQ(cpu.writes[0].linear, 0x5000u);
    EXPECT_EQ(cpu.writes[0].bytes, 1u);
    EXPECT_EQ(cpu.writes[0].value, 0x22u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x89, 0x03});  // mov [rbx], rax
    cpu.r(RAX) = 0x1122334455667788ull;
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 8), 0x1122334455667788ull);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x66, 0x89, 0x03});  // mov [rbx], ax
    cpu.r(RAX) = 0x1122334455667788ull;
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    ASSERT_EQ(cpu.writes.size(), 1u);
    EXPECT_EQ(cpu.writes[0].bytes, 2u);
    EXPECT_EQ(cpu.writes[0].value, 0x7788u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8b, 0x03});  // mov eax, [rbx]: zero-extends
    cpu.r(RAX) = ~0ull;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 0x89abcdef, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x89abcdefu);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x66, 0x8b, 0x03});  // mov ax, [rbx]: merges
    cpu.r(RAX) = ~0ull;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 0x1234, 2);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0xffffffffffff1234ull);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8a, 0x03});  // mov al, [rbx]
    cpu.r(RAX) = ~0ull;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 0x12, 1);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0xffffffffffffff12ull);
  }
}

TEST(Emulate, ByteRegistersHighWithoutRexLowWithRex) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8a, 0x33});  // mov dh, [rbx]
    cpu.r(RBX) = 0x5000;
    cpu.r(RDX) = 0x1111;
    cpu.r(RSI) = 0x2222;
    cpu.poke(0x5000, 0xab, 1);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RDX), 0xab11u);
    EXPECT_EQ(cpu.r(RSI), 0x2222u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x40, 0x8a, 0x33});  // mov sil, [rbx]
    cpu.r(RBX) = 0x5000;
    cpu.r(RDX) = 0x1111;
    cpu.r(RSI) = 0x2222;
    cpu.poke(0x5000, 0xab, 1);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RDX), 0x1111u);
    EXPECT_EQ(cpu.r(RSI), 0x22abu);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0x88, 0x23});  // mov [ebx], ah
    cpu.r(RAX) = 0x7f00;
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 1), 0x7fu);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x44, 0x88, 0x3b});  // mov [rbx], r15b
    cpu.r(R15) = 0x99;
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 1), 0x99u);
  }
}

TEST(Emulate, MovImmediateToMemory) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0xc6, 0x03, 0x5a});  // mov byte [rbx], 0x5a
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 1), 0x5au);
    EXPECT_EQ(cpu.c.rip, 0x400003u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0xc7, 0x03, 0x00, 0x00, 0x00, 0x80});  // mov qword [rbx], sext(imm32)
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 8), 0xffffffff80000000ull);
    EXPECT_EQ(cpu.c.rip, 0x400007u);
  }
  {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code({0xc7, 0x07, 0x34, 0x12});  // mov word [bx], 0x1234
    cpu.r(RBX) = 0x10;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x20010, 2), 0x1234u);
    EXPECT_EQ(cpu.c.rip, 0x104u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0xc7, 0x43, 0x10, 0x78, 0x56, 0x34, 0x12});  // mov dword [ebx+0x10], imm32
    cpu.r(RBX) = 0x5000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5010, 4), 0x12345678u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde});  // [rip+0x10], imm32
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    // RIP-relative to the *next* instruction, after the immediate.
    EXPECT_EQ(cpu.peek(0x400000 + 10 + 0x10, 4), 0xdeadbeefu);
  }
}

TEST(Emulate, MovMoffs) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0xa1, 0x00, 0x00, 0xbf, 0xfe, 0, 0, 0, 0});  // mov eax, [moffs64]
    cpu.r(RAX) = ~0ull;
    cpu.run_mmio(0xcafe);
    EXPECT_EQ(cpu.r(RAX), 0xcafeu);
    EXPECT_EQ(cpu.c.rip, 0x400009u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0xa3, 0x00, 0x60, 0, 0, 0, 0, 0, 0});  // mov [moffs64], rax
    cpu.r(RAX) = 0x0102030405060708ull;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x6000, 8), 0x0102030405060708ull);
    EXPECT_EQ(cpu.c.rip, 0x40000au);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x67, 0xa0, 0x00, 0x60, 0x00, 0x00});  // mov al, [moffs32]
    cpu.poke(0x6000, 0x42, 1);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x42u);
    EXPECT_EQ(cpu.c.rip, 0x400006u);
  }
  {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code({0xa2, 0x34, 0x12});  // mov [0x1234], al (DS)
    cpu.r(RAX) = 0x77;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x21234, 1), 0x77u);
  }
  {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code({0x26, 0xa3, 0x34, 0x12});  // mov es:[0x1234], ax
    cpu.r(RAX) = 0x7788;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x41234, 2), 0x7788u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0xa1, 0x00, 0x60, 0x00, 0x00});  // mov eax, [moffs32]
    cpu.poke(0x6000, 0xdeadbeef, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0xdeadbeefu);
  }
}

TEST(Emulate, MovzxMovsxMovsxd) {
  struct M {
    x86emul_mode mode;
    std::vector<uint8_t> code;
    uint64_t mem;
    uint64_t rax_in, rax_out;
  };
  const M cases[] = {
      {X86EMUL_MODE_PROT64, {0x0f, 0xb6, 0x03}, 0x80, ~0ull, 0x80},               // movzx eax, byte
      {X86EMUL_MODE_PROT64, {0x66, 0x0f, 0xb6, 0x03}, 0x80, ~0ull, 0xffffffffffff0080ull},
      {X86EMUL_MODE_PROT64, {0x48, 0x0f, 0xb7, 0x03}, 0x8000, ~0ull, 0x8000},     // movzx rax, word
      {X86EMUL_MODE_PROT64, {0x0f, 0xbe, 0x03}, 0x80, ~0ull, 0xffffff80},         // movsx eax, byte
      {X86EMUL_MODE_PROT64, {0x48, 0x0f, 0xbe, 0x03}, 0x80, 0, ~0x7full},         // movsx rax, byte
      {X86EMUL_MODE_PROT64, {0x48, 0x0f, 0xbf, 0x03}, 0x8001, 0, 0xffffffffffff8001ull},
      {X86EMUL_MODE_PROT64, {0x0f, 0xbf, 0x03}, 0x7fff, ~0ull, 0x7fff},
      {X86EMUL_MODE_PROT64, {0x48, 0x63, 0x03}, 0x80000000, 0, 0xffffffff80000000ull},  // movsxd
      {X86EMUL_MODE_PROT64, {0x48, 0x63, 0x03}, 0x7fffffff, ~0ull, 0x7fffffff},
      {X86EMUL_MODE_PROT64, {0x63, 0x03}, 0x80000000, ~0ull, 0x80000000},         // no REX.W
      {X86EMUL_MODE_PROT32, {0x0f, 0xb7, 0x03}, 0xffff, ~0ull, 0xffffffff0000ffffull},
      {X86EMUL_MODE_REAL, {0x0f, 0xbe, 0x07}, 0xfe, 0x12340000, 0x1234fffe},      // movsx ax, [bx]
  };
  for (const auto& t : cases) {
    Cpu cpu(t.mode);
    cpu.code(t.code);
    cpu.r(RAX) = t.rax_in;
    cpu.r(RBX) = 0x500;
    const uint64_t base = t.mode == X86EMUL_MODE_REAL ? 0x20000 : 0;
    cpu.poke(base + 0x500, t.mem, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.r(RAX), t.rax_out) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.c.rip - (t.mode == X86EMUL_MODE_REAL ? 0x100 : 0x400000), t.code.size());
  }
}

TEST(Emulate, MovsxdOutside64BitIsArplNotEmulated) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0x63, 0x03});
  EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE);
}

TEST(Emulate, XchgMemoryAndRegister) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x87, 0x03});  // xchg [rbx], eax
    cpu.r(RAX) = 0xffffffff00000001ull;
    cpu.r(RBX) = kMmioBase;
    cpu.run_mmio(0x12345678);
    EXPECT_EQ(cpu.r(RAX), 0x12345678u);
    ASSERT_EQ(cpu.writes.size(), 1u);
    EXPECT_EQ(cpu.writes[0].linear, kMmioBase);
    EXPECT_EQ(cpu.writes[0].value, 1u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x86, 0x23});  // xchg [rbx], ah
    cpu.r(RAX) = 0xaa00;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 0x55, 1);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x5500u);
    EXPECT_EQ(cpu.peek(0x5000, 1), 0xaau);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x87, 0xd8});  // xchg rax, rbx
    cpu.r(RAX) = 1;
    cpu.r(RBX) = 2;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 2u);
    EXPECT_EQ(cpu.r(RBX), 1u);
  }
  {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code({0xf0, 0x87, 0x07});  // lock xchg [bx], ax (lock allowed)
    cpu.r(RAX) = 0x1111;
    cpu.r(RBX) = 0x10;
    cpu.poke(0x20010, 0x2222, 2);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RAX), 0x2222u);
    EXPECT_EQ(cpu.peek(0x20010, 2), 0x1111u);
  }
}

TEST(Emulate, Cmpxchg) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0xf0, 0x0f, 0xb1, 0x0b});  // lock cmpxchg [rbx], ecx: equal
    cpu.r(RAX) = 5;
    cpu.r(RCX) = 9;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 5, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 4), 9u);
    EXPECT_EQ(cpu.r(RAX), 5u);
    EXPECT_EQ(cpu.arith(), ZF | PF);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x0f, 0xb1, 0x0b});  // cmpxchg [rbx], rcx: not equal
    cpu.r(RAX) = 5;
    cpu.r(RCX) = 9;
    cpu.r(RBX) = 0x5000;
    cpu.poke(0x5000, 6, 8);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x5000, 8), 6u);
    EXPECT_EQ(cpu.r(RAX), 6u);
    EXPECT_EQ(cpu.arith(), CF | SF | AF | PF);  // 5 - 6 = -1
    ASSERT_EQ(cpu.writes.size(), 1u);  // the destination is written back unchanged
    EXPECT_EQ(cpu.writes[0].value, 6u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0x0f, 0xb0, 0xd9});  // cmpxchg cl, bl: equal
    cpu.r(RAX) = 0x44;
    cpu.r(RCX) = 0x44;
    cpu.r(RBX) = 0x77;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.r(RCX), 0x77u);
    EXPECT_TRUE(cpu.c.rflags & ZF);
  }
}

// ---------------------------------------------------------------------------------------------
// Addressing: 16-bit forms, 32-bit SIB, 64-bit REX and RIP-relative, segments.

struct Addr16 {
  std::vector<uint8_t> code;
  uint64_t linear;
};

TEST(Emulate, RealModeAddressingForms) {
  // BX=0x10, BP=0x20, SI=0x100, DI=0x200; DS base 0x20000, SS base 0x30000, ES 0x40000.
  const Addr16 cases[] = {
      {{0x8b, 0x00}, 0x20110},                 // [bx+si]
      {{0x8b, 0x01}, 0x20210},                 // [bx+di]
      {{0x8b, 0x02}, 0x30120},                 // [bp+si] -> SS
      {{0x8b, 0x03}, 0x30220},                 // [bp+di] -> SS
      {{0x8b, 0x04}, 0x20100},                 // [si]
      {{0x8b, 0x05}, 0x20200},                 // [di]
      {{0x8b, 0x06, 0x34, 0x12}, 0x21234},     // [disp16]
      {{0x8b, 0x07}, 0x20010},                 // [bx]
      {{0x8b, 0x46, 0x00}, 0x30020},           // [bp+0] -> SS
      {{0x8b, 0x43, 0x10}, 0x30230},           // [bp+di+0x10] -> SS
      {{0x8b, 0x47, 0xfe}, 0x2000e},           // [bx-2]
      {{0x8b, 0x80, 0x00, 0x01}, 0x20210},     // [bx+si+0x100]
      {{0x8b, 0x86, 0xf0, 0xff}, 0x30010},     // [bp-0x10] (disp16) -> SS
      {{0x3e, 0x8b, 0x46, 0x00}, 0x20020},     // ds:[bp]
      {{0x26, 0x8b, 0x07}, 0x40010},           // es:[bx]
      {{0x36, 0x8b, 0x07}, 0x30010},           // ss:[bx]
      {{0x2e, 0x8b, 0x07}, 0x10010},           // cs:[bx]
      {{0x67, 0x8b, 0x03}, 0x20010},           // [ebx] (32-bit addressing)
      {{0x67, 0x8b, 0x45, 0x04}, 0x30024},     // [ebp+4] -> SS
      {{0x67, 0x8b, 0x04, 0x73}, 0x20210},     // [ebx+esi*2]
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_REAL);
    cpu.code(t.code);
    cpu.r(RBX) = 0x10;
    cpu.r(RBP) = 0x20;
    cpu.r(RSI) = 0x100;
    cpu.r(RDI) = 0x200;
    cpu.r(RAX) = 0xffff0000;
    cpu.poke(t.linear, 0xbeef, 2);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(t.code);
    ASSERT_EQ(cpu.reads.size(), 1u);
    EXPECT_EQ(cpu.reads[0].linear, t.linear) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.r(RAX), 0xffffbeefu);
    EXPECT_EQ(cpu.c.rip, 0x100 + t.code.size());
  }
}

TEST(Emulate, RealModeEffectiveAddressWrapsAt64K) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.code({0x8b, 0x00});  // [bx+si]
  cpu.r(RBX) = 0xffff;
  cpu.r(RSI) = 0x0003;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.reads.at(0).linear, 0x20002u);
}

TEST(Emulate, RealModeOperandSizePrefix) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.code({0x66, 0x8b, 0x07});  // mov eax, [bx]
  cpu.r(RBX) = 0x10;
  cpu.poke(0x20010, 0x89abcdef, 4);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RAX), 0x89abcdefu);
  EXPECT_EQ(cpu.reads.at(0).bytes, 4u);
}

TEST(Emulate, RealModeIpWraps) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.c.rip = 0xfffe;
  cpu.code({0x8b, 0x07});  // mov ax, [bx]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.c.rip, 0u);
}

TEST(Emulate, Protected32AddressingForms) {
  struct A {
    std::vector<uint8_t> code;
    uint64_t linear;
  };
  // EBX=0x1000, ECX=0x10, EBP=0x2000, ESP=0x3000; SS base 0x100000.
  const A cases[] = {
      {{0x8b, 0x03}, 0x1000},                                  // [ebx]
      {{0x8b, 0x05, 0x78, 0x56, 0x34, 0x12}, 0x12345678},      // [disp32], not RIP-relative
      {{0x8b, 0x45, 0x08}, 0x102008},                          // [ebp+8] -> SS
      {{0x8b, 0x04, 0x24}, 0x103000},                          // [esp] -> SS
      {{0x8b, 0x44, 0x24, 0xfc}, 0x102ffc},                    // [esp-4] -> SS
      {{0x8b, 0x04, 0x8b}, 0x1040},                            // [ebx+ecx*4]
      {{0x8b, 0x04, 0xcd, 0x00, 0x01, 0x00, 0x00}, 0x180},     // [ecx*8+0x100], no base
      {{0x8b, 0x04, 0x25, 0x00, 0x02, 0x00, 0x00}, 0x200},     // [disp32] via SIB, no index
      {{0x8b, 0x84, 0x4d, 0x10, 0x00, 0x00, 0x00}, 0x102030},  // [ebp+ecx*2+0x10] -> SS
      {{0x8b, 0x04, 0x63}, 0x1000},                            // index=100: none (scale ignored)
      {{0x3e, 0x8b, 0x45, 0x08}, 0x2008},                      // ds:[ebp+8]
      {{0x64, 0x8b, 0x03}, 0x501000},                          // fs:[ebx]
      {{0x67, 0x8b, 0x07}, 0x1000},                            // [bx] (16-bit addressing)
      {{0x67, 0x8b, 0x46, 0x02}, 0x102002},                    // [bp+2] -> SS
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_SS].base = 0x100000;
    cpu.c.seg[X86EMUL_SEG_FS].base = 0x500000;
    cpu.code(t.code);
    cpu.r(RBX) = 0x1000;
    cpu.r(RCX) = 0x10;
    cpu.r(RBP) = 0x2000;
    cpu.r(RSP) = 0x3000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(t.code);
    ASSERT_EQ(cpu.reads.size(), 1u);
    EXPECT_EQ(cpu.reads[0].linear, t.linear) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.c.rip, 0x400000 + t.code.size());
  }
}

TEST(Emulate, Protected32LinearAddressWraps) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.c.seg[X86EMUL_SEG_DS].base = 0xfffff000;
  cpu.code({0x8b, 0x03});
  cpu.r(RBX) = 0x2000;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.reads.at(0).linear, 0x1000u);
}

TEST(Emulate, Long64AddressingForms) {
  struct A {
    std::vector<uint8_t> code;
    uint64_t linear;
  };
  const uint64_t next = 0x400000;
  const A cases[] = {
      {{0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00}, next + 7 + 0x1000},     // [rip+0x1000]
      {{0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff}, next + 6 - 0x10},             // [rip-0x10]
      {{0x41, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00}, next + 7 + 0x100},      // REX.B: still RIP
      {{0x67, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00}, next + 7 + 0x100},      // [eip+0x100]
      {{0x8b, 0x04, 0x25, 0x00, 0x20, 0x00, 0x00}, 0x2000},                // [disp32] absolute
      {{0x4d, 0x8b, 0x0a}, 0x7000000000ull},                               // mov r9, [r10]
      {{0x42, 0x8b, 0x04, 0x20}, 0x1000 + 0x30},                           // [rax+r12]
      {{0x41, 0x8b, 0x04, 0x24}, 0x40},                                    // [r12] (SIB)
      {{0x41, 0x8b, 0x45, 0x08}, 0x58},                                    // [r13+8]
      {{0x43, 0x8b, 0x04, 0x2c}, 0x40 + 0x50},                             // [r12+r13]
      {{0x42, 0x8b, 0x04, 0xe5, 0x00, 0x01, 0, 0}, 0x100 + 0x30 * 8},      // [r12*8+0x100]
      {{0x48, 0x8b, 0x04, 0xd8}, 0x1000 + 0x20 * 8},                       // [rax+rbx*8]
      {{0x67, 0x8b, 0x00}, 0x1000},                                        // [eax]
      {{0x3e, 0x8b, 0x00}, 0x1000},                                        // ds: base ignored
      {{0x64, 0x8b, 0x00}, 0x1000 + 0x7f0000000000ull},                    // fs: base applies
      {{0x65, 0x8b, 0x00}, 0x1000 + 0xffff800000000000ull},                // gs: base applies
      {{0x67, 0x8b, 0x41, 0xff}, 0xffffffffu},                             // [ecx-1] wraps at 4G
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    for (auto& s : cpu.c.seg) s.base = 0x123000;  // ignored except FS/GS
    cpu.c.seg[X86EMUL_SEG_FS].base = 0x7f0000000000ull;
    cpu.c.seg[X86EMUL_SEG_GS].base = 0xffff800000000000ull;
    cpu.code(t.code);
    cpu.r(RAX) = 0x1000;
    cpu.r(RBX) = 0x20;
    cpu.r(RCX) = 0x100000000ull;  // 67: ECX = 0
    cpu.r(R10) = 0x7000000000ull;
    cpu.r(R12) = 0x40;
    cpu.r(R13) = 0x50;
    cpu.r(RSP) = 0x30;  // never used as an index
    cpu.r(R12) = 0x40;
    // r12 as index in "[rax+r12]" and "[r12*8]" : REX.X makes index 100b mean r12.
    if (t.code.size() >= 3 && t.code[0] == 0x42) cpu.r(R12) = 0x30;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(t.code);
    ASSERT_EQ(cpu.reads.size(), 1u);
    EXPECT_EQ(cpu.reads[0].linear, t.linear) << testing::PrintToString(t.code);
    EXPECT_EQ(cpu.c.rip, 0x400000 + t.code.size());
  }
}

TEST(Emulate, RexMustBeLastPrefix) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x48, 0x66, 0x8b, 0x03});  // REX.W then 66: REX ignored, 16-bit
  cpu.r(RAX) = ~0ull;
  cpu.r(RBX) = 0x5000;
  cpu.poke(0x5000, 0x1122334455667788ull, 8);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RAX), 0xffffffffffff7788ull);

  Cpu cpu2(X86EMUL_MODE_PROT64);
  cpu2.code({0x66, 0x48, 0x8b, 0x03});  // 66 then REX.W: 64-bit wins
  cpu2.r(RBX) = 0x5000;
  cpu2.poke(0x5000, 0x1122334455667788ull, 8);
  ASSERT_EQ(cpu2.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu2.r(RAX), 0x1122334455667788ull);
}

TEST(Emulate, RexIsIncDecOutside64BitMode) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0x48, 0x8b, 0x03});  // dec eax: not ours
  EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE);
}

TEST(Emulate, InstructionFetchStopsAtPageBoundary) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.c.rip = 0x400ffd;
  cpu.code({0x48, 0xc7, 0x03, 0x01, 0x00, 0x00, 0x00});  // crosses into the next page
  cpu.r(RBX) = 0x5000;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x5000, 8), 1u);
  EXPECT_EQ(cpu.c.rip, 0x401004u);
  EXPECT_EQ(cpu.c.insn_len, 7u);
  EXPECT_EQ(cpu.fetch_calls, 2);
}

// ---------------------------------------------------------------------------------------------
// String instructions.

TEST(Emulate, StosWithoutRep) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x48, 0xab});  // stosq
  cpu.r(RAX) = 0x1122334455667788ull;
  cpu.r(RDI) = 0x5000;
  cpu.r(RCX) = 7;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x5000, 8), 0x1122334455667788ull);
  EXPECT_EQ(cpu.r(RDI), 0x5008u);
  EXPECT_EQ(cpu.r(RCX), 7u);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
}

TEST(Emulate, RepStosForwardOneIterationPerCall) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0xf3, 0xab});  // rep stosd
  cpu.r(RAX) = 0xabcd1234;
  cpu.r(RDI) = 0x5000;
  cpu.r(RCX) = 3;
  int calls = 0;
  while (cpu.c.rip == 0x400000 && calls < 10) {
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    ++calls;
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
  EXPECT_EQ(cpu.r(RCX), 0u);
  EXPECT_EQ(cpu.r(RDI), 0x500cu);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cpu.peek(0x5000 + 4 * i, 4), 0xabcd1234u);
  EXPECT_EQ(cpu.peek(0x500c, 4), 0u);
}

TEST(Emulate, RepStosBackwardWithDirectionFlag) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xf3, 0xaa});  // rep stosb
  cpu.c.rflags |= DF;
  cpu.r(RAX) = 0x5a;
  cpu.r(RDI) = 0x5003;
  cpu.r(RCX) = 4;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
  EXPECT_EQ(cpu.peek(0x5000, 4), 0x5a5a5a5au);
  EXPECT_EQ(cpu.r(RDI), 0x4fffu);
  EXPECT_EQ(cpu.r(RCX), 0u);
}

TEST(Emulate, RepWithZeroCountDoesNothing) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xf3, 0x48, 0xa5});  // rep movsq
  cpu.r(RSI) = 0x5000;
  cpu.r(RDI) = 0x6000;
  cpu.r(RCX) = 0;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_TRUE(cpu.reads.empty());
  EXPECT_TRUE(cpu.writes.empty());
  EXPECT_EQ(cpu.r(RSI), 0x5000u);
  EXPECT_EQ(cpu.c.rip, 0x400003u);
}

TEST(Emulate, RepMovsFromMmioRestartsEachIteration) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xf3, 0xa5});  // rep movsd
  cpu.r(RSI) = kMmioBase;
  cpu.r(RDI) = 0x6000;
  cpu.r(RCX) = 2;
  cpu.run_mmio(0x11111111);
  EXPECT_EQ(cpu.c.rip, 0x400000u);  // not done yet
  EXPECT_EQ(cpu.r(RCX), 1u);
  cpu.run_mmio(0x22222222);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
  EXPECT_EQ(cpu.peek(0x6000, 8), 0x2222222211111111ull);
  EXPECT_EQ(cpu.r(RSI), kMmioBase + 8);
  EXPECT_EQ(cpu.r(RDI), 0x6008u);
  EXPECT_EQ(cpu.r(RCX), 0u);
}

TEST(Emulate, MovsBackwardToMmio) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xf3, 0x66, 0xa5});  // rep movsw
  cpu.c.rflags |= DF;
  cpu.r(RSI) = 0x5002;
  cpu.r(RDI) = kMmioBase + 0x12;
  cpu.r(RCX) = 2;
  cpu.poke(0x5000, 0xbbbbaaaa, 4);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.writes.size(), 2u);
  EXPECT_EQ(cpu.writes[0].linear, kMmioBase + 0x12);
  EXPECT_EQ(cpu.writes[0].value, 0xbbbbu);
  EXPECT_EQ(cpu.writes[1].linear, kMmioBase + 0x10);
  EXPECT_EQ(cpu.writes[1].value, 0xaaaau);
  EXPECT_EQ(cpu.r(RSI), 0x4ffeu);
  EXPECT_EQ(cpu.c.rip, 0x400003u);
}

TEST(Emulate, RealModeMovsUsesDsSiEsDiAndCx) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.code({0xf3, 0xa4});  // rep movsb
  cpu.r(RSI) = 0xffff;
  cpu.r(RDI) = 0x10;
  cpu.r(RCX) = 0xabcd0001;  // only CX counts
  cpu.poke(0x2ffff, 0x99, 1);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x40010, 1), 0x99u);
  EXPECT_EQ(cpu.r(RSI), 0u);  // SI wraps at 16 bits
  EXPECT_EQ(cpu.r(RDI), 0x11u);
  EXPECT_EQ(cpu.r(RCX), 0xabcd0000u);
  EXPECT_EQ(cpu.c.rip, 0x102u);
}

TEST(Emulate, MovsSourceSegmentOverride) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.code({0x26, 0xa4});  // movsb es:[si] -> es:[di]
  cpu.r(RSI) = 0x20;
  cpu.r(RDI) = 0x30;
  cpu.poke(0x40020, 0x42, 1);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x40030, 1), 0x42u);
}

TEST(Emulate, StosIgnoresSegmentOverride) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.code({0x2e, 0xaa});  // cs: stosb still writes ES:DI
  cpu.r(RAX) = 0x42;
  cpu.r(RDI) = 0x30;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x40030, 1), 0x42u);
}

TEST(Emulate, StringAddressSize32In64BitMode) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x67, 0xf3, 0xaa});  // rep stosb with 32-bit addressing
  cpu.r(RDI) = 0x1ffffffffull;  // EDI = 0xffffffff
  cpu.r(RCX) = 0x100000001ull;  // ECX = 1
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.writes.at(0).linear, 0xffffffffu);
  EXPECT_EQ(cpu.r(RDI), 0u);  // EDI wraps, upper half zeroed
  EXPECT_EQ(cpu.r(RCX), 0u);
  EXPECT_EQ(cpu.c.rip, 0x400003u);
}

// ---------------------------------------------------------------------------------------------
// Bit tests.

TEST(Emulate, BtRegisterOffsetReachesOutsideTheOperand) {
  struct B {
    std::vector<uint8_t> code;
    int64_t offset;
    uint64_t word_linear;  // the operand-sized word that holds the bit
    unsigned bytes;
    unsigned bit;
  };
  const B cases[] = {
      {{0x0f, 0xa3, 0x0b}, 100, 0x8000 + 12, 4, 4},           // bt [rbx], ecx
      {{0x0f, 0xa3, 0x0b}, -1, 0x8000 - 4, 4, 31},
      {{0x66, 0x0f, 0xa3, 0x0b}, 17, 0x8000 + 2, 2, 1},       // bt [rbx], cx
      {{0x66, 0x0f, 0xa3, 0x0b}, -17, 0x8000 - 4, 2, 15},
      {{0x48, 0x0f, 0xa3, 0x0b}, -65, 0x8000 - 16, 8, 63},    // bt [rbx], rcx
      {{0x48, 0x0f, 0xa3, 0x0b}, 1000000, 0x8000 + 125000, 8, 0},
      {{0x0f, 0xa3, 0x0b}, 0x7fffffff, 0x8000 + 0x0ffffffc, 4, 31},
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code(t.code);
    cpu.r(RBX) = 0x8000;
    cpu.r(RCX) = static_cast<uint64_t>(t.offset);
    if (t.bytes == 4) cpu.r(RCX) &= 0xffffffff;
    if (t.bytes == 2) cpu.r(RCX) = (cpu.r(RCX) & 0xffff) | 0xabcd0000;
    cpu.poke(t.word_linear, 1ull << t.bit, t.bytes);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE) << t.offset;
    ASSERT_EQ(cpu.reads.size(), 1u);
    EXPECT_EQ(cpu.reads[0].linear, t.word_linear) << t.offset;
    EXPECT_EQ(cpu.reads[0].bytes, t.bytes);
    EXPECT_TRUE(cpu.c.rflags & CF) << t.offset;
    EXPECT_TRUE(cpu.writes.empty());
  }
}

TEST(Emulate, BtsBtrBtcModifyTheBit) {
  struct B {
    std::vector<uint8_t> code;
    uint64_t in, out;
    bool cf;
  };
  const B cases[] = {
      {{0x0f, 0xab, 0x0b}, 0x0, 0x20, false},               // bts [rbx], ecx (ecx=37: +4, bit 5)
      {{0x0f, 0xb3, 0x0b}, 0xff, 0xdf, true},               // btr
      {{0x0f, 0xbb, 0x0b}, 0x20, 0x00, true},               // btc
      {{0x0f, 0xbb, 0x0b}, 0x00, 0x20, false},              // btc
      {{0xf0, 0x0f, 0xab, 0x0b}, 0x1, 0x21, false},         // lock bts
  };
  for (const auto& t : cases) {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code(t.code);
    cpu.r(RBX) = 0x8000;
    cpu.r(RCX) = 37;
    cpu.poke(0x8004, t.in, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x8004, 4), t.out) << testing::PrintToString(t.code);
    EXPECT_EQ(bool(cpu.c.rflags & CF), t.cf);
    EXPECT_EQ(cpu.peek(0x8000, 4), 0u);
  }
}

TEST(Emulate, BtImmediateIsModuloOperandSize) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x0f, 0xba, 0x23, 35});  // bt dword [rbx], 35 -> bit 3 of [rbx]
    cpu.r(RBX) = 0x8000;
    cpu.poke(0x8000, 0x8, 4);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.reads.at(0).linear, 0x8000u);
    EXPECT_TRUE(cpu.c.rflags & CF);
    EXPECT_EQ(cpu.c.rip, 0x400004u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x0f, 0xba, 0x2b, 63});  // bts qword [rbx], 63
    cpu.r(RBX) = 0x8000;
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x8000, 8), 1ull << 63);
    EXPECT_FALSE(cpu.c.rflags & CF);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x66, 0x0f, 0xba, 0x33, 0x10});  // btr word [rbx], 16 -> bit 0
    cpu.r(RBX) = 0x8000;
    cpu.poke(0x8000, 0xffff, 2);
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.peek(0x8000, 2), 0xfffeu);
    EXPECT_TRUE(cpu.c.rflags & CF);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x0f, 0xba, 0x3b, 0x01});  // btc dword [rbx], 1
    cpu.r(RBX) = kMmioBase;
    cpu.run_mmio(0x3);
    ASSERT_EQ(cpu.writes.size(), 1u);
    EXPECT_EQ(cpu.writes[0].value, 0x1u);
    EXPECT_TRUE(cpu.c.rflags & CF);
  }
}

TEST(Emulate, BtRegisterDestinationUsesOffsetModuloSize) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x0f, 0xa3, 0xc8});  // bt eax, ecx
  cpu.r(RAX) = 0x2;
  cpu.r(RCX) = 33;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_TRUE(cpu.c.rflags & CF);
  EXPECT_TRUE(cpu.reads.empty());
}

TEST(Emulate, BtLeavesOtherFlags) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x0f, 0xa3, 0xc8});  // bt eax, ecx
  cpu.c.rflags |= ZF | CF;
  cpu.r(RAX) = 0;
  cpu.r(RCX) = 0;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.arith(), ZF);
}

// ---------------------------------------------------------------------------------------------
// The restart contract.

TEST(Emulate, MmioReadRestartsWithNoEffect) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x8b, 0x83, 0x10, 0x00, 0x00, 0x00});  // mov eax, [rbx+0x10]
  cpu.r(RAX) = ~0ull;
  cpu.r(RBX) = kMmioBase;
  cpu.run_mmio(0xfeedface);
  EXPECT_EQ(cpu.r(RAX), 0xfeedfaceu);
  EXPECT_EQ(cpu.c.rip, 0x400006u);
}

TEST(Emulate, MmioReadModifyWriteWritesOnlyOnRetry) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x81, 0x0b, 0x00, 0x01, 0x00, 0x00});  // or dword [rbx], 0x100
  cpu.r(RBX) = kMmioBase + 4;
  cpu.run_mmio(0x1);
  ASSERT_EQ(cpu.writes.size(), 1u);
  EXPECT_EQ(cpu.writes[0].linear, kMmioBase + 4);
  EXPECT_EQ(cpu.writes[0].value, 0x101u);
  EXPECT_EQ(cpu.arith(), 0u);  // 0x101: low byte 0x01 has odd parity
}

TEST(Emulate, MmioIncKeepsFlagsUntilRetry) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xfe, 0x03});  // inc byte [rbx]
  cpu.c.rflags |= CF;
  cpu.r(RBX) = kMmioBase;
  cpu.run_mmio(0xff);
  EXPECT_EQ(cpu.arith(), CF | ZF | AF | PF);
  EXPECT_EQ(cpu.writes.at(0).value, 0u);
}

TEST(Emulate, PageFaultFromOpsIsPassedThrough) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x48, 0x87, 0x03});  // xchg [rbx], rax
  cpu.r(RBX) = 0x9000;
  cpu.pf_linear = 0x9000;
  expect_fault(cpu, 14);
  EXPECT_EQ(cpu.c.exception.address, 0x9000u);
}

TEST(Emulate, WriteFaultAfterReadLeavesRegistersAlone) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0xa5});  // movsd: the read succeeds, the write faults
  cpu.r(RSI) = 0x5000;
  cpu.r(RDI) = 0x9000;
  cpu.pf_linear = 0x9000;
  const auto before = cpu.c;
  ASSERT_EQ(cpu.run(), X86EMUL_PROPAGATE_FAULT);
  EXPECT_EQ(cpu.c.exception.vector, 14);
  EXPECT_EQ(cpu.c.exception.error_code, 2u);
  EXPECT_EQ(0, std::memcmp(before.regs, cpu.c.regs, sizeof(cpu.c.regs)));
  EXPECT_EQ(before.rip, cpu.c.rip);
}

TEST(Emulate, WriteFaultDiscardsRegisterAndFlagResults) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x87, 0x03});  // xchg [rbx], eax: EAX would change before the write
    cpu.r(RAX) = 0x1111;
    cpu.r(RBX) = 0x9000;
    cpu.poke(0x9000, 0x2222, 4);
    cpu.pf_write_linear = 0x9000;
    ASSERT_EQ(cpu.run(), X86EMUL_PROPAGATE_FAULT);
    EXPECT_EQ(cpu.r(RAX), 0x1111u);
    EXPECT_EQ(cpu.c.rip, 0x400000u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x01, 0x03});  // add [rbx], eax: flags would change before the write
    cpu.r(RAX) = 1;
    cpu.r(RBX) = 0x9000;
    cpu.poke(0x9000, 0xffffffff, 4);
    cpu.pf_write_linear = 0x9000;
    ASSERT_EQ(cpu.run(), X86EMUL_PROPAGATE_FAULT);
    EXPECT_EQ(cpu.c.rflags, 0x2u);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x0f, 0xb1, 0x0b});  // cmpxchg [rbx], ecx, mismatch: EAX loaded, then write-back
    cpu.r(RAX) = 1;
    cpu.r(RBX) = 0x9000;
    cpu.poke(0x9000, 2, 4);
    cpu.pf_write_linear = 0x9000;
    ASSERT_EQ(cpu.run(), X86EMUL_PROPAGATE_FAULT);
    EXPECT_EQ(cpu.r(RAX), 1u);
  }
}

// ---------------------------------------------------------------------------------------------
// Faults raised by the emulator itself.

TEST(Emulate, LockMisuseIsUd) {
  const std::vector<uint8_t> cases[] = {
      {0xf0, 0x01, 0xd8},        // lock add eax, ebx: register destination
      {0xf0, 0x8b, 0x03},        // lock mov
      {0xf0, 0x89, 0x03},        // lock mov to memory
      {0xf0, 0x39, 0x03},        // lock cmp
      {0xf0, 0x80, 0x3b, 0x01},  // lock cmp byte (group)
      {0xf0, 0x85, 0x03},        // lock test
      {0xf0, 0xf6, 0x03, 0x01},  // lock test (F6 /0)
      {0xf0, 0x0f, 0xa3, 0x0b},  // lock bt
      {0xf0, 0x0f, 0xba, 0x23, 0x01},  // lock bt imm
      {0xf0, 0x0f, 0xb6, 0x03},  // lock movzx
      {0xf0, 0xab},              // lock stos
      {0xf0, 0xfe, 0xc0},        // lock inc al
  };
  for (const auto& code : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code(code);
    cpu.r(RBX) = 0x5000;
    SCOPED_TRACE(testing::PrintToString(code));
    expect_fault(cpu, 6, false);
  }
}

TEST(Emulate, LockOnLockableMemoryFormsWorks) {
  const std::vector<uint8_t> cases[] = {
      {0xf0, 0x01, 0x03},        // add
      {0xf0, 0x83, 0x33, 0x01},  // xor (group)
      {0xf0, 0x19, 0x03},        // sbb
      {0xf0, 0xf7, 0x1b},        // neg
      {0xf0, 0xf7, 0x13},        // not
      {0xf0, 0xff, 0x03},        // inc
      {0xf0, 0xff, 0x0b},        // dec
      {0xf0, 0x0f, 0xb3, 0x0b},  // btr
      {0xf0, 0x0f, 0xba, 0x3b, 0x01},  // btc imm
      {0xf0, 0x86, 0x03},        // xchg
  };
  for (const auto& code : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code(code);
    cpu.r(RBX) = 0x5000;
    EXPECT_EQ(cpu.run(), X86EMUL_CONTINUE) << testing::PrintToString(code);
    EXPECT_EQ(cpu.c.rip, 0x400000 + code.size());
  }
}

// ---------------------------------------------------------------------------------------------
// Locked read-modify-writes: with a cmpxchg op their write is a compare-exchange against the
// value read, and an instruction that loses a race with another CPU runs again from scratch.

TEST(EmulateLocked, LockedWritesUseCompareExchangeUnlockedOnesDoNot) {
  struct Case {
    std::vector<uint8_t> code;
    bool locked;
  };
  const Case cases[] = {
      {{0xf0, 0x01, 0x03}, true},         // lock add [rbx], eax
      {{0x01, 0x03}, false},              // add [rbx], eax
      {{0xf0, 0xff, 0x03}, true},         // lock inc dword [rbx]
      {{0xff, 0x03}, false},              // inc dword [rbx]
      {{0xf0, 0x0f, 0xab, 0x03}, true},   // lock bts [rbx], eax
      {{0x87, 0x03}, true},               // xchg [rbx], eax: locked without the prefix
      {{0xf0, 0x0f, 0xb1, 0x0b}, true},   // lock cmpxchg [rbx], ecx
      {{0x0f, 0xb1, 0x0b}, false},        // cmpxchg [rbx], ecx
      {{0x89, 0x03}, false},              // mov [rbx], eax
  };
  for (const auto& k : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.enable_locked_ops();
    cpu.code(k.code);
    cpu.r(RBX) = 0x5000;
    cpu.r(RAX) = 3;
    cpu.poke(0x5000, 0x10, 4);
    SCOPED_TRACE(testing::PrintToString(k.code));
    ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
    EXPECT_EQ(cpu.cmpxchgs.size(), k.locked ? 1u : 0u);
    EXPECT_EQ(cpu.writes.size(), k.locked ? 0u : 1u);
  }
}

TEST(EmulateLocked, LockedIncRetriesOnTheValueAnotherCpuWrote) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_locked_ops();
  cpu.code({0xf0, 0xff, 0x03});  // lock inc dword [rbx]
  cpu.r(RBX) = 0x5000;
  cpu.poke(0x5000, 5, 4);
  cpu.other_cpu_writes[0] = 0xffffffff;  // between our read of 5 and our write of 6
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x5000, 4), 0u);  // 0xffffffff + 1, not 6
  ASSERT_EQ(cpu.cmpxchgs.size(), 2u);
  EXPECT_EQ(cpu.cmpxchgs[0].value, 6u);
  EXPECT_EQ(cpu.cmpxchgs[1].value, 0u);
  EXPECT_EQ(cpu.arith(), ZF | PF | AF);  // the flags of the increment that happened
  EXPECT_EQ(cpu.c.rip, 0x400003u);
}

TEST(EmulateLocked, LockedCmpxchgSeesTheRacingWriteAndFails) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_locked_ops();
  cpu.code({0xf0, 0x48, 0x0f, 0xb1, 0x0b});  // lock cmpxchg [rbx], rcx
  cpu.r(RAX) = 5;
  cpu.r(RCX) = 9;
  cpu.r(RBX) = 0x5000;
  cpu.poke(0x5000, 5, 8);
  cpu.other_cpu_writes[0] = 6;  // another CPU's cmpxchg won
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x5000, 8), 6u);  // ours did not overwrite it
  EXPECT_EQ(cpu.r(RAX), 6u);           // and reports what is there
  EXPECT_FALSE(cpu.c.rflags & ZF);
}

TEST(EmulateLocked, XchgRetriesWithTheNewOldValue) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_locked_ops();
  cpu.code({0x87, 0x03});  // xchg [ebx], eax
  cpu.r(RAX) = 0x1111;
  cpu.r(RBX) = 0x5000;
  cpu.poke(0x5000, 0x2222, 4);
  cpu.other_cpu_writes[0] = 0x3333;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RAX), 0x3333u);
  EXPECT_EQ(cpu.peek(0x5000, 4), 0x1111u);
}

TEST(EmulateLocked, ALosingStreakChangesNothingAndAsksForAGuestRetry) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_locked_ops();
  cpu.code({0xf0, 0x0f, 0xb3, 0x03});  // lock btr [rbx], eax
  cpu.r(RBX) = 0x5000;
  cpu.r(RAX) = 1;
  cpu.poke(0x5000, 2, 4);
  for (size_t i = 0; i < 64; ++i) {
    cpu.other_cpu_writes[i] = 100 + i;  // someone else writes before every attempt
  }
  const auto before = cpu.c;
  ASSERT_EQ(cpu.run(), X86EMUL_CMPXCHG_FAILED);
  EXPECT_GT(cpu.cmpxchgs.size(), 1u);
  EXPECT_LT(cpu.cmpxchgs.size(), 64u);
  EXPECT_EQ(0, std::memcmp(before.regs, cpu.c.regs, sizeof(cpu.c.regs)));
  EXPECT_EQ(before.rip, cpu.c.rip);
  EXPECT_EQ(before.rflags, cpu.c.rflags);
}

// Two threads emulate `lock inc dword [rbx]` and `lock cmpxchg`-based adds on one shared word,
// as two vCPUs trapping on the same write-protected page would: no increment may be lost.
class SharedWordCpu {
 public:
  SharedWordCpu(std::atomic<uint32_t>* word, const std::vector<uint8_t>& insn) : word_(word) {
    std::memcpy(code_, insn.data(), insn.size());
    std::memset(&c, 0, sizeof(c));
    c.ops = &kOps;
    c.opaque = this;
    c.mode = X86EMUL_MODE_PROT64;
    c.rflags = 0x2;
  }
  int run(uint64_t rax, uint64_t rcx) {
    c.rip = kCode;
    c.regs[RBX] = kWord;
    c.regs[RAX] = rax;
    c.regs[RCX] = rcx;
    return x86_emulate_insn(&c);
  }
  x86_emulate_ctxt c;

 private:
  static constexpr uint64_t kCode = 0x1000, kWord = 0x2000;
  static SharedWordCpu* self(x86_emulate_ctxt* ctxt) {
    return static_cast<SharedWordCpu*>(ctxt->opaque);
  }
  static int fetch(x86_emulate_ctxt* ctxt, u64 linear, void* val, unsigned bytes) {
    std::memcpy(val, self(ctxt)->code_ + (linear - kCode), bytes);
    return X86EMUL_CONTINUE;
  }
  static int read(x86_emulate_ctxt* ctxt, u64 linear, void* val, unsigned bytes) {
    EXPECT_EQ(linear, kWord);
    EXPECT_EQ(bytes, 4u);
    uint32_t v = self(ctxt)->word_->load();
    std::this_thread::yield();  // widen the window between the read and the write
    std::memcpy(val, &v, 4);
    return X86EMUL_CONTINUE;
  }
  static int write(x86_emulate_ctxt* ctxt, u64, const void* val, unsigned) {
    uint32_t v;
    std::memcpy(&v, val, 4);
    self(ctxt)->word_->store(v);
    return X86EMUL_CONTINUE;
  }
  static int cmpxchg(x86_emulate_ctxt* ctxt, u64, u64 old_val, u64 new_val, unsigned) {
    uint32_t expected = static_cast<uint32_t>(old_val);
    return self(ctxt)->word_->compare_exchange_strong(expected, static_cast<uint32_t>(new_val))
               ? X86EMUL_CONTINUE
               : X86EMUL_CMPXCHG_FAILED;
  }
  static constexpr x86_emulate_ops kOps = {&SharedWordCpu::fetch,
                                           &SharedWordCpu::read,
                                           &SharedWordCpu::write,
                                           nullptr,
                                           nullptr,
                                           nullptr,
                                           &SharedWordCpu::cmpxchg,
                                           nullptr};
  std::atomic<uint32_t>* word_;
  uint8_t code_[16] = {};
};

TEST(EmulateLocked, TwoThreadsLoseNoLockedIncrement) {
  constexpr int kPerThread = 20000;
  std::atomic<uint32_t> word{0};
  std::atomic<int> guest_retries{0};
  auto incs = [&] {
    SharedWordCpu cpu(&word, {0xf0, 0xff, 0x03});  // lock inc dword [rbx]
    for (int i = 0; i < kPerThread; ++i) {
      int rc;
      while ((rc = cpu.run(0, 0)) == X86EMUL_CMPXCHG_FAILED) {
        ++guest_retries;  // the guest would execute it again
      }
      ASSERT_EQ(rc, X86EMUL_CONTINUE);
    }
  };
  auto cas_adds = [&] {
    // The guest's own compare-exchange loop: eax = old; ecx = old + 1; lock cmpxchg [rbx], ecx
    SharedWordCpu cpu(&word, {0xf0, 0x0f, 0xb1, 0x0b});
    uint64_t eax = 0;
    for (int done = 0; done < kPerThread;) {
      int rc = cpu.run(eax, static_cast<uint32_t>(eax + 1));
      if (rc == X86EMUL_CMPXCHG_FAILED) {
        ++guest_retries;
        continue;
      }
      ASSERT_EQ(rc, X86EMUL_CONTINUE);
      if (cpu.c.rflags & ZF) {
        ++done;
        eax = static_cast<uint32_t>(eax + 1);
      } else {
        eax = cpu.c.regs[RAX];  // the value another CPU left
      }
    }
  };
  std::thread a(incs), b(cas_adds);
  a.join();
  b.join();
  EXPECT_EQ(word.load(), 2u * kPerThread) << guest_retries.load() << " guest retries";
}

TEST(Emulate, InstructionLongerThan15BytesIsGp) {
  std::vector<uint8_t> ok(13, 0x66);  // 13 prefixes + 8B 03
  ok.push_back(0x8b);
  ok.push_back(0x03);  // 15 bytes
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code(ok);
  cpu.r(RBX) = 0x5000;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.c.rip, 0x40000fu);

  std::vector<uint8_t> bad(14, 0x66);
  bad.push_back(0x8b);
  bad.push_back(0x03);  // 16 bytes
  Cpu cpu2(X86EMUL_MODE_PROT64);
  cpu2.code(bad);
  cpu2.r(RBX) = 0x5000;
  expect_fault(cpu2, 13);

  // Too long because of the displacement and immediate, not prefixes.
  std::vector<uint8_t> bad2(5, 0x2e);
  for (uint8_t b : {0x48, 0xc7, 0x84, 0x18, 1, 0, 0, 0, 2, 0, 0, 0}) bad2.push_back(b);
  Cpu cpu3(X86EMUL_MODE_PROT64);
  cpu3.code(bad2);
  expect_fault(cpu3, 13);
}

TEST(Emulate, UnknownOpcodesAndFormsAreUnhandleable) {
  const std::vector<uint8_t> cases[] = {
      {0x0f, 0x0b},        // ud2
      {0x90},              // nop: not a memory instruction we emulate
      {0xf6, 0x23},        // mul byte [rbx]
      {0xf7, 0x3b},        // idiv dword [rbx]
      {0xf6, 0x0b, 0x01},  // F6 /1: undocumented alias
      {0xfe, 0x13},        // FE /2
      {0xff, 0x13},        // call [rbx]
      {0xff, 0x33},        // push [rbx]
      {0xc7, 0x0b, 0, 0, 0, 0},  // C7 /1
      {0x0f, 0xba, 0x03, 0x01},  // 0F BA /0
      {0x0f, 0x01, 0x03},  // sgdt
      {0xf0, 0x0f, 0x0b},  // lock ud2: still ours to refuse, not #UD from us
  };
  for (const auto& code : cases) {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code(code);
    cpu.r(RBX) = 0x5000;
    EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE) << testing::PrintToString(code);
    EXPECT_EQ(cpu.c.rip, 0x400000u);
  }
}

TEST(Emulate, NonCanonicalAddressIsGpOrSs) {
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8b, 0x03});  // mov eax, [rbx]
    cpu.r(RBX) = 0x0000800000000000ull;
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x48, 0x8b, 0x03});  // last byte non-canonical
    cpu.r(RBX) = 0x00007ffffffffffcull;
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8b, 0x45, 0x00});  // mov eax, [rbp]: SS
    cpu.r(RBP) = 0x8000000000000000ull;
    expect_fault(cpu, 12);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x89, 0x04, 0x24});  // mov [rsp], eax: SS
    cpu.r(RSP) = 0x0001000000000000ull;
    expect_fault(cpu, 12);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x64, 0x8b, 0x03});  // fs: base makes it non-canonical
    cpu.c.seg[X86EMUL_SEG_FS].base = 0x00007fffffffff00ull;
    cpu.r(RBX) = 0x1000;
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT64);
    cpu.code({0x8b, 0x03});  // canonical upper half is fine
    cpu.r(RBX) = 0xffff800000000000ull;
    EXPECT_EQ(cpu.run(), X86EMUL_CONTINUE);
  }
}

TEST(Emulate, SegmentLimitViolations) {
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_DS].limit = 0xfff;
    cpu.code({0x8b, 0x03});
    cpu.r(RBX) = 0xffc;  // bytes 0xffc..0xfff: inside
    EXPECT_EQ(cpu.run(), X86EMUL_CONTINUE);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_DS].limit = 0xfff;
    cpu.code({0x8b, 0x03});
    cpu.r(RBX) = 0xffd;  // last byte 0x1000: outside
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_SS].limit = 0xfff;
    cpu.code({0x89, 0x45, 0x00});  // mov [ebp], eax
    cpu.r(RBP) = 0x1000;
    expect_fault(cpu, 12);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT16);
    cpu.c.seg[X86EMUL_SEG_ES].limit = 0x7fff;
    cpu.code({0xab});  // stosw to ES:DI
    cpu.r(RDI) = 0x7fff;
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_DS].limit = 0xfff;
    cpu.code({0x0f, 0xa3, 0x0b});  // bt [ebx], ecx reaching past the limit
    cpu.r(RBX) = 0xff0;
    cpu.r(RCX) = 32 * 4;  // word at 0x1000
    expect_fault(cpu, 13);
  }
}

TEST(Emulate, SegmentTypeAndPresenceChecks) {
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_DS].type = 1;  // read-only data
    cpu.code({0x89, 0x03});
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_DS].type = 1;  // read-only data: reads fine
    cpu.code({0x8b, 0x03});
    EXPECT_EQ(cpu.run(), X86EMUL_CONTINUE);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.code({0x2e, 0x89, 0x03});  // write through CS
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_CS].type = 0x9;  // execute-only: cs: read faults
    cpu.code({0x2e, 0x8b, 0x03});
    expect_fault(cpu, 13);
  }
  {
    Cpu cpu(X86EMUL_MODE_PROT32);
    cpu.c.seg[X86EMUL_SEG_FS].present = false;  // null/unusable
    cpu.code({0x64, 0x8b, 0x03});
    expect_fault(cpu, 13);
  }
}

TEST(Emulate, ExpandDownSegment) {
  for (uint64_t ebx : {0x0ffcull, 0x1000ull, 0xfffcull, 0xfffeull}) {
    Cpu cpu(X86EMUL_MODE_PROT32);
    auto& ds = cpu.c.seg[X86EMUL_SEG_DS];
    ds.type = 7;  // data, expand-down, writable
    ds.limit = 0xfff;
    ds.db = false;  // upper bound 0xffff
    cpu.code({0x8b, 0x03});
    cpu.r(RBX) = ebx;
    if (ebx == 0x1000 || ebx == 0xfffc) {
      EXPECT_EQ(cpu.run(), X86EMUL_CONTINUE) << ebx;
    } else {
      SCOPED_TRACE(ebx);
      expect_fault(cpu, 13);
    }
  }
}

TEST(Emulate, RealModeIsNotLimitChecked) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.c.seg[X86EMUL_SEG_DS].limit = 0;
  cpu.c.seg[X86EMUL_SEG_DS].present = false;
  cpu.code({0x8b, 0x07});
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
}

TEST(Emulate, CsLimitOnFetch) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.c.seg[X86EMUL_SEG_CS].limit = 0x400001;  // the disp8 is past the limit
  cpu.code({0x8b, 0x43, 0x10});
  expect_fault(cpu, 13);

  Cpu ok(X86EMUL_MODE_PROT32);
  ok.c.seg[X86EMUL_SEG_CS].limit = 0x400001;
  ok.code({0x8b, 0x03, 0x90});
  EXPECT_EQ(ok.run(), X86EMUL_CONTINUE);
}

TEST(Emulate, Protected16DefaultsTo16BitOperandsAndAddresses) {
  Cpu cpu(X86EMUL_MODE_PROT16);
  cpu.c.seg[X86EMUL_SEG_SS].base = 0x100000;
  cpu.code({0x89, 0x46, 0x02});  // mov [bp+2], ax
  cpu.r(RBP) = 0x10;
  cpu.r(RAX) = 0x12345678;
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.writes.size(), 1u);
  EXPECT_EQ(cpu.writes[0].linear, 0x100012u);
  EXPECT_EQ(cpu.writes[0].bytes, 2u);
  EXPECT_EQ(cpu.writes[0].value, 0x5678u);
}

TEST(Emulate, Protected32RegisterWritesKeepUpperHalf) {
  // Outside 64-bit mode the upper 32 bits are not architecturally visible; we leave them.
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.code({0x8b, 0x03});
  cpu.r(RAX) = 0xaaaaaaaa00000000ull;
  cpu.r(RBX) = 0x5000;
  cpu.poke(0x5000, 0x1234, 4);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RAX) & 0xffffffff, 0x1234u);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// System instructions a hypervisor intercepts under shadow paging (SDM vol. 2: MOV CR, CLTS,
// LMSW, SMSW, INVLPG).

TEST(EmulateSystem, WithoutTheOpsTheyAreNotEmulated) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.code({0x0f, 0x22, 0xd8});  // mov cr3, rax
  EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE);
}

TEST(EmulateSystem, MovToAndFromControlRegisters64) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_system_ops();
  cpu.r(RAX) = 0x123456789000ull;
  cpu.code({0x0f, 0x22, 0xd8});  // mov cr3, rax
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.cr[3], 0x123456789000ull);
  EXPECT_EQ(cpu.c.rip, 0x400003u);
  cpu.cr[4] = 0x6f0;
  cpu.code({0x41, 0x0f, 0x20, 0xe5});  // mov r13, cr4 (REX.B)
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(R13), 0x6f0u);
  EXPECT_EQ(cpu.c.rip, 0x400007u);
}

TEST(EmulateSystem, MovCrIgnoresModAndUsesRegisterForm) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.cr[0] = 0x80000011;
  cpu.r(RBX) = 0xffffffff00000000ull;
  cpu.code({0x0f, 0x20, 0x03});  // mod=00 encodes mov ebx, cr0 all the same
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.r(RBX) & 0xffffffffu, 0x80000011u);
  EXPECT_EQ(cpu.c.rip, 0x400003u);
}

TEST(EmulateSystem, InvalidControlRegisterIsUd) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.code({0x0f, 0x22, 0xe8});  // mov cr5, eax
  expect_fault(cpu, 6, false);
}

TEST(EmulateSystem, PrivilegedAboveCpl0IsGp) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_system_ops();
  cpu.c.cpl = 3;
  cpu.code({0x0f, 0x22, 0xd8});  // mov cr3, rax
  expect_fault(cpu, 13);
  cpu.code({0x0f, 0x01, 0x38});  // invlpg [rax]
  expect_fault(cpu, 13);
  EXPECT_TRUE(cpu.invlpgs.empty());
}

TEST(EmulateSystem, RefusedWriteLeavesRipAlone) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_system_ops();
  cpu.refuse_cr_write = true;
  cpu.code({0x0f, 0x22, 0xc0});  // mov cr0, rax
  expect_fault(cpu, 13);
}

TEST(EmulateSystem, ClearTaskSwitched) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.cr[0] = 0x8000003b;
  cpu.code({0x0f, 0x06});  // clts
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.cr[0], 0x80000033u);
  EXPECT_EQ(cpu.c.rip, 0x400002u);
}

TEST(EmulateSystem, LmswSetsButNeverClearsPe) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.cr[0] = 0x80000011;  // PG, ET, PE
  cpu.r(RAX) = 0xfff0;     // tries to clear PE, MP, EM, TS
  cpu.code({0x0f, 0x01, 0xf0});  // lmsw ax
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.cr[0], 0x80000011u);
  cpu.cr[0] = 0x10;
  cpu.poke(0x1000, 0x000b, 2);  // PE, MP, TS from memory
  cpu.r(RBX) = 0x1000;
  cpu.code({0x0f, 0x01, 0x33});  // lmsw [ebx]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.cr[0], 0x1bu);
}

TEST(EmulateSystem, SmswToMemoryIs16BitsAndAllowedAtCpl3) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.c.cpl = 3;
  cpu.cr[0] = 0x80050033;
  cpu.poke(0x2000, 0xaaaaaaaa, 4);
  cpu.r(RDI) = 0x2000;
  cpu.code({0x0f, 0x01, 0x27});  // smsw [edi]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.peek(0x2000, 4), 0xaaaa0033u);
}

TEST(EmulateSystem, InvlpgComputesTheLinearAddress) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.c.seg[X86EMUL_SEG_DS].base = 0x10000;
  cpu.r(RSI) = 0x3000;
  cpu.r(RCX) = 2;
  cpu.code({0x0f, 0x01, 0x7c, 0x8e, 0x10});  // invlpg [esi+ecx*4+0x10]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.invlpgs.size(), 1u);
  EXPECT_EQ(cpu.invlpgs[0], 0x13018u);
  EXPECT_EQ(cpu.c.rip, 0x400005u);
}

TEST(EmulateSystem, InvlpgIn64BitModeUsesOnlyFsGsBases) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_system_ops();
  cpu.c.seg[X86EMUL_SEG_DS].base = 0x10000;  // ignored in 64-bit mode
  cpu.c.seg[X86EMUL_SEG_GS].base = 0x7f0000000000ull;
  cpu.r(RAX) = 0x1000;
  cpu.code({0x0f, 0x01, 0x38});  // invlpg [rax]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  cpu.code({0x65, 0x0f, 0x01, 0x38});  // invlpg gs:[rax]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.invlpgs.size(), 2u);
  EXPECT_EQ(cpu.invlpgs[0], 0x1000u);
  EXPECT_EQ(cpu.invlpgs[1], 0x7f0000001000ull);
}

// LGDT/LIDT, as real mode without unrestricted guest needs them: a 16-bit
// limit then the base, 24 bits of it with a 16-bit operand size.
TEST(EmulateSystem, LgdtLidtInRealMode) {
  Cpu cpu(X86EMUL_MODE_REAL);
  cpu.enable_system_ops();
  const uint64_t ds = cpu.c.seg[X86EMUL_SEG_DS].base;
  cpu.poke(ds + 0x510, 0xff1234560027ull, 6);  // limit 0x27, base 0xff123456
  cpu.r(RBX) = 0x500;
  cpu.r(RSI) = 0x10;
  cpu.code({0x0f, 0x01, 0x10});  // lgdt [bx+si]
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  EXPECT_EQ(cpu.c.rip, 0x103u);
  cpu.code({0x66, 0x2e, 0x0f, 0x01, 0x1e, 0x10, 0x05});  // o32 lidt cs:[0x510]
  cpu.poke(cpu.c.seg[X86EMUL_SEG_CS].base + 0x510, 0xff123456ffffull, 6);
  ASSERT_EQ(cpu.run(), X86EMUL_CONTINUE);
  ASSERT_EQ(cpu.dtables.size(), 2u);
  EXPECT_FALSE(cpu.dtables[0].idt);
  EXPECT_EQ(cpu.dtables[0].base, 0x123456u) << "16-bit operand size: 24 bits";
  EXPECT_EQ(cpu.dtables[0].limit, 0x27u);
  EXPECT_TRUE(cpu.dtables[1].idt);
  EXPECT_EQ(cpu.dtables[1].base, 0xff123456u);
  EXPECT_EQ(cpu.dtables[1].limit, 0xffffu);
  EXPECT_EQ(cpu.c.rip, 0x10au);
}

TEST(EmulateSystem, LgdtNeedsCpl0AndAMemoryOperand) {
  Cpu cpu(X86EMUL_MODE_PROT32);
  cpu.enable_system_ops();
  cpu.c.cpl = 3;
  cpu.code({0x0f, 0x01, 0x10});  // lgdt [eax]
  expect_fault(cpu, 13);
  cpu.c.cpl = 0;
  cpu.code({0x0f, 0x01, 0xd0});  // xgetbv (0F 01 /2 with mod=3)
  EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE);
  EXPECT_TRUE(cpu.dtables.empty());
}

TEST(EmulateSystem, InvlpgWithARegisterOperandIsNotInvlpg) {
  Cpu cpu(X86EMUL_MODE_PROT64);
  cpu.enable_system_ops();
  cpu.code({0x0f, 0x01, 0xf8});  // swapgs (0F 01 /7 with mod=3)
  EXPECT_EQ(cpu.run(), X86EMUL_UNHANDLEABLE);
  EXPECT_TRUE(cpu.invlpgs.empty());
}
