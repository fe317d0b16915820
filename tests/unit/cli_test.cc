#include "cli.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace {

vmm::Result<cli::Options, cli::CliError> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"kvm-run"};
  argv.insert(argv.end(), args);
  return cli::parse_command_line(argv);
}

std::string error_of(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST(Cli, KernelAloneUsesDefaults) {
  auto r = parse({"-kernel", "x.bin"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kernel_path, "x.bin");
  EXPECT_EQ(r->ram_mib, 128u);
  EXPECT_FALSE(r->nographic);
  EXPECT_FALSE(r->help);
}

TEST(Cli, AllOptionsInAnyOrder) {
  auto r = parse({"-nographic", "-m", "512", "-kernel", "a.bin"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ram_mib, 512u);
  EXPECT_TRUE(r->nographic);
  EXPECT_EQ(r->kernel_path, "a.bin");
}

TEST(Cli, DoubleDashSpellingAndSizeSuffixes) {
  auto r = parse({"--kernel", "a.bin", "--m", "1G"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ram_mib, 1024u);
  r = parse({"-kernel", "a.bin", "-m", "64M"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ram_mib, 64u);
}

TEST(Cli, HelpNeedsNoKernel) {
  auto r = parse({"-h"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  EXPECT_NE(cli::usage().find("-kernel"), std::string::npos);
}

TEST(Cli, Errors) {
  EXPECT_EQ(error_of({}), "no guest image given; use -kernel IMAGE");
  EXPECT_EQ(error_of({"-m", "64"}), "no guest image given; use -kernel IMAGE");
  EXPECT_EQ(error_of({"-kernel"}), "option -kernel needs an argument");
  EXPECT_EQ(error_of({"-kernel", "a", "-m"}), "option -m needs an argument");
  EXPECT_EQ(error_of({"-kernel", "a", "-smp", "2"}), "unknown option '-smp'");
  EXPECT_EQ(error_of({"-kernel", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(error_of({"-kernel", ""}), "-kernel: empty file name");
}

TEST(Cli, BadRamSizes) {
  for (const char* bad : {"", "abc", "12x", "-5", "1.5G", "M", "0x10"}) {
    auto msg = error_of({"-kernel", "a", "-m", bad});
    EXPECT_NE(msg.find("is not a RAM size"), std::string::npos) << bad << ": " << msg;
  }
  EXPECT_NE(error_of({"-kernel", "a", "-m", "1"}).find("minimum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "0"}).find("minimum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "3073"}).find("maximum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "4G"}).find("maximum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "99999999999999999999"}).find("not a RAM size"),
            std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "18014398509481984G"}).find("maximum"),
            std::string::npos);
  auto ok = parse({"-kernel", "a", "-m", "3072"});
  EXPECT_TRUE(ok.ok());
  ok = parse({"-kernel", "a", "-m", "2"});
  EXPECT_TRUE(ok.ok());
}

}  // namespace
