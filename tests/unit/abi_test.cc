// Our include/uapi/kvm-abi.h against the system's <linux/kvm.h>: every constant, ioctl number,
// struct size, field offset and field size listed in abi_items.def must be equal.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "abi_table.h"

namespace {

TEST(Abi, TablesHaveTheSameItems) {
  ASSERT_EQ(abi_items_ours_count, abi_items_system_count);
  ASSERT_GT(abi_items_ours_count, 300u);
  for (size_t i = 0; i < abi_items_ours_count; ++i) {
    ASSERT_STREQ(abi_items_ours[i].name, abi_items_system[i].name);
  }
}

TEST(Abi, EveryItemEqualsTheSystemHeader) {
  for (size_t i = 0; i < abi_items_ours_count && i < abi_items_system_count; ++i) {
    EXPECT_EQ(abi_items_ours[i].value, abi_items_system[i].value)
        << abi_items_ours[i].name << ": ours 0x" << std::hex << abi_items_ours[i].value
        << ", system 0x" << abi_items_system[i].value;
  }
}

unsigned long long ours(const std::string& name) {
  for (size_t i = 0; i < abi_items_ours_count; ++i) {
    if (name == abi_items_ours[i].name) {
      return abi_items_ours[i].value;
    }
  }
  ADD_FAILURE() << name << " missing from abi_items.def";
  return ~0ull;
}

// Known values from the KVM API documentation, so a wrong *system* header cannot pass us.
TEST(Abi, SpotChecksAgainstDocumentedValues) {
  EXPECT_EQ(ours("KVM_API_VERSION"), 12u);
  EXPECT_EQ(ours("KVM_RUN"), 0xae80u);
  EXPECT_EQ(ours("KVM_CREATE_VM"), 0xae01u);
  EXPECT_EQ(ours("KVM_SET_USER_MEMORY_REGION"), 0x4020ae46u);
  EXPECT_EQ(ours("KVM_GET_REGS"), 0x8090ae81u);
  EXPECT_EQ(ours("KVM_GET_SREGS"), 0x8138ae83u);
  EXPECT_EQ(ours("sizeof(struct kvm_run)"), 2352u);
  EXPECT_EQ(ours("offsetof(struct kvm_run, io)"), 32u);
  EXPECT_EQ(ours("offsetof(struct kvm_run, s)"), 304u);
  EXPECT_EQ(ours("KVM_EXIT_INTERNAL_ERROR"), 17u);
}

// Every #define and struct in our header must be listed, or the comparison above is blind to it.
TEST(Abi, EveryHeaderItemIsListed) {
  std::ifstream in(KVM_ABI_HEADER_PATH);
  ASSERT_TRUE(in) << "cannot read " << KVM_ABI_HEADER_PATH;
  std::stringstream text;
  text << in.rdbuf();
  const std::string header = text.str();

  std::set<std::string> listed;
  for (size_t i = 0; i < abi_items_ours_count; ++i) {
    listed.insert(abi_items_ours[i].name);
  }

  const std::regex define_re(R"(#define\s+(KVM\w*)(\(?))");
  int defines = 0;
  for (std::sregex_iterator it(header.begin(), header.end(), define_re), end; it != end; ++it) {
    const std::string name = (*it)[1];
    if (name == "KVM_ABI_H" || !(*it)[2].str().empty()) {
      continue;  // include guard, function-like macro
    }
    ++defines;
    EXPECT_TRUE(listed.count(name)) << name << " is defined in kvm-abi.h but not in abi_items.def";
  }
  EXPECT_GT(defines, 50);

  const std::regex struct_re(R"(\nstruct\s+(\w+)\s*\{)");
  int structs = 0;
  for (std::sregex_iterator it(header.begin(), header.end(), struct_re), end; it != end; ++it) {
    const std::string name = "sizeof(struct " + (*it)[1].str() + ")";
    ++structs;
    EXPECT_TRUE(listed.count(name)) << name << " is missing from abi_items.def";
  }
  EXPECT_GT(structs, 10);
}

}  // namespace
