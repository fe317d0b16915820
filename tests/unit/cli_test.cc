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
  EXPECT_EQ(error_of({"-append", "quiet"}), "-initrd and -append need -kernel IMAGE");
  EXPECT_EQ(error_of({"-initrd", "i.img"}), "-initrd and -append need -kernel IMAGE");
  EXPECT_EQ(error_of({"-kernel"}), "option -kernel needs an argument");
  EXPECT_EQ(error_of({"-kernel", "a", "-m"}), "option -m needs an argument");
  EXPECT_EQ(error_of({"-kernel", "a", "-cdrom", "x.iso"}), "unknown option '-cdrom'");
  EXPECT_EQ(error_of({"-kernel", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(error_of({"-kernel", ""}), "-kernel: empty file name");
  EXPECT_EQ(error_of({"-kernel", "a", "-initrd", ""}), "-initrd: empty file name");
}

TEST(Cli, EveryErrorIsOneLine) {
  for (auto args : std::vector<std::vector<const char*>>{
           {"-kernel", "a", "-smp", "x"},
           {"-kernel", "a", "-serial", "pty"},
           {"-kernel", "a", "-display", "sdl"},
           {"-kernel", "a", "-m", "zz"},
           {"-bios", "b.bin", "-append", "x"},
           {"-debugcon", "pty"},
           {"-kernel", "a", "-hda", ""},
           {"-kernel", "a", "-hda", "a.img", "-hda", "b.img"},
       }) {
    std::vector<const char*> argv = {"kvm-run"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cli::parse_command_line(argv);
    ASSERT_FALSE(r.ok()) << args.back();
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  }
}

TEST(Cli, LinuxBootOptions) {
  auto r = parse({"-kernel", "bzImage", "-initrd", "initrd.img", "-append", "console=ttyS0 quiet",
                  "-smp", "2", "-m", "512", "-nographic", "-no-reboot", "-name", "guest1"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kernel_path, "bzImage");
  EXPECT_EQ(r->initrd_path, "initrd.img");
  EXPECT_EQ(r->cmdline, "console=ttyS0 quiet");
  EXPECT_TRUE(r->cmdline_given);
  EXPECT_EQ(r->cpus, 2u);
  EXPECT_EQ(r->ram_mib, 512u);
  EXPECT_TRUE(r->no_reboot);
  EXPECT_EQ(r->name, "guest1");
  EXPECT_EQ(r->serial, cli::SerialMode::kStdio);
}

TEST(Cli, AnEmptyAppendIsStillGiven) {
  auto r = parse({"-kernel", "bzImage", "-append", ""});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cmdline_given);
  EXPECT_EQ(r->cmdline, "");
  r = parse({"-kernel", "bzImage"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->cmdline_given);
}

TEST(Cli, SmpTakesACountOrCpusEqualsCount) {
  auto r = parse({"-kernel", "a", "-smp", "cpus=4"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cpus, 4u);
  EXPECT_NE(error_of({"-kernel", "a", "-smp", "0"}).find("outside 1..254"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-smp", "255"}).find("outside 1..254"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-smp", "2,sockets=2"}).find("no topology"),
            std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-smp", "two"}).find("not a CPU count"), std::string::npos);
  EXPECT_TRUE(parse({"-kernel", "a", "-smp", "254"}).ok());
}

TEST(Cli, SerialDestinations) {
  auto r = parse({"-kernel", "a", "-serial", "file:/tmp/x.log"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serial, cli::SerialMode::kFile);
  EXPECT_EQ(r->serial_path, "/tmp/x.log");
  r = parse({"-kernel", "a", "-serial", "none"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serial, cli::SerialMode::kNone);
  r = parse({"-kernel", "a", "--serial", "stdio"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serial, cli::SerialMode::kStdio);
  EXPECT_NE(error_of({"-kernel", "a", "-serial", "file:"}).find("stdio, none or file:PATH"),
            std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-serial", "mon:stdio"}).find("not supported"),
            std::string::npos);
}

TEST(Cli, RepeatedAndContradictoryOptionsAreRefused) {
  EXPECT_EQ(error_of({"-kernel", "a", "-kernel", "b"}), "option -kernel given twice");
  EXPECT_EQ(error_of({"-kernel", "a", "-m", "64", "--m", "128"}), "option -m given twice");
  EXPECT_EQ(error_of({"-kernel", "a", "-serial", "none", "-serial", "stdio"}),
            "option -serial given twice");
  EXPECT_NE(error_of({"-kernel", "a", "-nographic", "-display", "none"}).find("cannot be combined"),
            std::string::npos);
  EXPECT_EQ(error_of({"-initrd", "i"}), "-initrd and -append need -kernel IMAGE");
  EXPECT_EQ(error_of({"-append", "quiet"}), "-initrd and -append need -kernel IMAGE");
}

TEST(Cli, DisplayNoneOnly) {
  auto r = parse({"-kernel", "a", "-display", "none"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->display_none);
  EXPECT_EQ(error_of({"-kernel", "a", "-display", "gtk"}),
            "-display gtk: kvm-run has no display; only -display none");
}

TEST(Cli, WithoutKernelTheMachineBootsThroughTheBios) {
  auto r = parse({"-kernel", "a", "-bios", "bios.bin"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bios_path, "bios.bin");
  r = parse({"-bios", "bios.bin", "-m", "256"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kernel_path.empty());
  EXPECT_EQ(r->bios_path, "bios.bin");
  r = parse({});
  ASSERT_TRUE(r.ok()) << "the default BIOS";
  EXPECT_TRUE(r->bios_path.empty());
}

TEST(Cli, BootTakesOnlyTheRebootTimeout) {
  auto r = parse({"-boot", "reboot-timeout=500"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->reboot_timeout_given);
  EXPECT_EQ(r->reboot_timeout_ms, 500);
  EXPECT_EQ(parse({"-boot", "reboot-timeout=-1"})->reboot_timeout_ms, -1);
  EXPECT_FALSE(parse({})->reboot_timeout_given);
  EXPECT_EQ(error_of({"-boot", "order=c"}),
            "-boot order=c: only reboot-timeout=MS is supported (no boot order or menu)");
  for (const char* bad : {"reboot-timeout=", "reboot-timeout=-2", "reboot-timeout=65536",
                          "reboot-timeout=1s"}) {
    EXPECT_NE(error_of({"-boot", bad}).find("-1 (never) or 0..65535 ms"), std::string::npos)
        << bad;
  }
}

TEST(Cli, DebugconTakesTheSerialForms) {
  auto r = parse({"-debugcon", "file:/tmp/log"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->debugcon, cli::SerialMode::kFile);
  EXPECT_EQ(r->debugcon_path, "/tmp/log");
  EXPECT_EQ(parse({})->debugcon, cli::SerialMode::kNone) << "off unless asked for";
  EXPECT_EQ(parse({"-debugcon", "stdio"})->debugcon, cli::SerialMode::kStdio);
  EXPECT_EQ(error_of({"-debugcon", "tcp:1"}),
            "-debugcon: 'tcp:1' is not supported; use stdio, none or file:PATH");
}

TEST(Cli, DiskImagesForBothPrimaryIdeUnits) {
  auto r = parse({"-kernel", "a", "-hda", "disk.img", "--hdb", "other.img"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->hda_path, "disk.img");
  EXPECT_EQ(r->hdb_path, "other.img");
  EXPECT_EQ(error_of({"-kernel", "a", "-hda"}), "option -hda needs an argument");
  EXPECT_EQ(error_of({"-kernel", "a", "-hdb", ""}), "-hdb: empty file name");
  EXPECT_EQ(error_of({"-kernel", "a", "-hda", "x", "-hda", "y"}), "option -hda given twice");
}

TEST(Cli, NameMayBeSpelledGuestEquals) {
  auto r = parse({"-kernel", "a", "-name", "guest=web"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "web");
  EXPECT_NE(error_of({"-kernel", "a", "-name", "a,process=b"}).find("plain name"),
            std::string::npos);
}

TEST(Cli, VersionAndHelpNeedNothingElse) {
  auto r = parse({"--version"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->version);
  EXPECT_NE(cli::version().find("kvm-run"), std::string::npos);
  r = parse({"--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  for (const char* option : {"-smp", "-initrd", "-append", "-serial", "-no-reboot", "-bios", "-debugcon",
                             "-name", "-display", "Ctrl-A x"}) {
    EXPECT_NE(cli::usage().find(option), std::string::npos) << option;
  }
}

TEST(Cli, BadRamSizes) {
  for (const char* bad : {"", "abc", "12x", "-5", "1.5G", "M", "0x10", "size="}) {
    auto msg = error_of({"-kernel", "a", "-m", bad});
    EXPECT_NE(msg.find("is not a RAM size"), std::string::npos) << bad << ": " << msg;
  }
  EXPECT_NE(error_of({"-kernel", "a", "-m", "1"}).find("minimum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "0"}).find("minimum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "1048577"}).find("maximum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "1025G"}).find("maximum"), std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "99999999999999999999"}).find("not a RAM size"),
            std::string::npos);
  EXPECT_NE(error_of({"-kernel", "a", "-m", "18014398509481984G"}).find("maximum"),
            std::string::npos);
  auto ok = parse({"-kernel", "a", "-m", "6G"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ram_mib, 6144u) << "RAM above the PCI hole is fine";
  ok = parse({"-kernel", "a", "-m", "size=512M"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ram_mib, 512u);
  ok = parse({"-kernel", "a", "-m", "2"});
  EXPECT_TRUE(ok.ok());
}

}  // namespace
