#include "cli.h"

#include <charconv>
#include <set>
#include <string_view>

namespace cli {

namespace {

vmm::Result<std::uint64_t, CliError> parse_ram_mib(std::string_view text) {
  std::string_view digits = text;
  if (digits.substr(0, 5) == "size=") {
    digits.remove_prefix(5);
  }
  std::uint64_t multiplier = 1;
  if (!digits.empty()) {
    const char last = digits.back();
    if (last == 'M' || last == 'm') {
      digits.remove_suffix(1);
    } else if (last == 'G' || last == 'g') {
      multiplier = 1024;
      digits.remove_suffix(1);
    }
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return CliError{"-m: '" + std::string(text) +
                    "' is not a RAM size (MiB, or with a suffix: 512M, 1G)"};
  }
  if (value > kMaxRamMib || value * multiplier > kMaxRamMib) {
    return CliError{"-m: " + std::string(text) + " is more than the maximum of " +
                    std::to_string(kMaxRamMib) + " MiB"};
  }
  value *= multiplier;
  if (value < kMinRamMib) {
    return CliError{"-m: " + std::string(text) + " is less than the minimum of " +
                    std::to_string(kMinRamMib) + " MiB"};
  }
  return value;
}

vmm::Result<unsigned, CliError> parse_cpus(std::string_view text) {
  std::string_view digits = text;
  if (digits.substr(0, 5) == "cpus=") {
    digits.remove_prefix(5);
  }
  if (digits.find(',') != std::string_view::npos || digits.find('=') != std::string_view::npos) {
    return CliError{"-smp: '" + std::string(text) +
                    "': only a CPU count is supported (N or cpus=N), no topology"};
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return CliError{"-smp: '" + std::string(text) + "' is not a CPU count"};
  }
  if (value < 1 || value > kMaxCpus) {
    return CliError{"-smp: " + std::string(text) + " is outside 1.." + std::to_string(kMaxCpus)};
  }
  return value;
}

vmm::Result<std::monostate, CliError> parse_serial(std::string_view option, std::string_view text,
                                                   SerialMode& mode, std::string& path) {
  if (text == "stdio") {
    mode = SerialMode::kStdio;
  } else if (text == "none" || text == "null") {
    mode = SerialMode::kNone;
  } else if (text.substr(0, 5) == "file:" && text.size() > 5) {
    mode = SerialMode::kFile;
    path = std::string(text.substr(5));
  } else {
    return CliError{std::string(option) + ": '" + std::string(text) +
                    "' is not supported; use stdio, none or file:PATH"};
  }
  return vmm::kOk;
}

}  // namespace

vmm::Result<Options, CliError> parse_command_line(std::span<const char* const> args) {
  Options options;
  std::set<std::string> seen;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      arg.remove_prefix(1);
    }
    if (arg.size() > 1 && arg[0] == '-') {
      const std::string key(arg);
      if (!seen.insert(key).second && key != "-h" && key != "-help") {
        return CliError{"option " + key + " given twice"};
      }
    }
    auto next_value = [&](std::string_view option) -> vmm::Result<std::string_view, CliError> {
      if (i + 1 >= args.size()) {
        return CliError{"option " + std::string(option) + " needs an argument"};
      }
      return std::string_view(args[++i]);
    };
    auto file_value = [&](std::string_view option) -> vmm::Result<std::string, CliError> {
      auto value = next_value(option);
      if (!value) {
        return value.error();
      }
      if (value.value().empty()) {
        return CliError{std::string(option) + ": empty file name"};
      }
      return std::string(value.value());
    };

    if (arg == "-h" || arg == "-help") {
      options.help = true;
      return options;
    }
    if (arg == "-version") {
      options.version = true;
      return options;
    }
    if (arg == "-m") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      auto mib = parse_ram_mib(value.value());
      if (!mib) {
        return mib.error();
      }
      options.ram_mib = mib.value();
    } else if (arg == "-smp") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      auto cpus = parse_cpus(value.value());
      if (!cpus) {
        return cpus.error();
      }
      options.cpus = cpus.value();
    } else if (arg == "-kernel" || arg == "-initrd" || arg == "-bios" || arg == "-hda" ||
               arg == "-hdb") {
      auto value = file_value(arg);
      if (!value) {
        return value.error();
      }
      (arg == "-kernel"   ? options.kernel_path
       : arg == "-initrd" ? options.initrd_path
       : arg == "-bios"   ? options.bios_path
       : arg == "-hda"    ? options.hda_path
                          : options.hdb_path) = value.value();
    } else if (arg == "-append") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      options.cmdline = std::string(value.value());
      options.cmdline_given = true;
    } else if (arg == "-serial") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      if (auto s = parse_serial("-serial", value.value(), options.serial, options.serial_path);
          !s) {
        return s.error();
      }
    } else if (arg == "-boot") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      std::string_view text = value.value();
      constexpr std::string_view kKey = "reboot-timeout=";
      std::int32_t ms = 0;
      const char* first = text.data() + kKey.size();
      const auto [end, ec] =
          text.substr(0, kKey.size()) == kKey
              ? std::from_chars(first, text.data() + text.size(), ms)
              : std::from_chars_result{first, std::errc::invalid_argument};
      if (text.substr(0, kKey.size()) != kKey) {
        return CliError{"-boot " + std::string(text) +
                        ": only reboot-timeout=MS is supported (no boot order or menu)"};
      }
      if (ec != std::errc() || end != text.data() + text.size() || ms < -1 || ms > 65535) {
        return CliError{"-boot " + std::string(text) +
                        ": the reboot timeout is -1 (never) or 0..65535 ms"};
      }
      options.reboot_timeout_given = true;
      options.reboot_timeout_ms = ms;
    } else if (arg == "-debugcon") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      if (auto s = parse_serial("-debugcon", value.value(), options.debugcon,
                                options.debugcon_path);
          !s) {
        return s.error();
      }
    } else if (arg == "-display") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      if (value.value() != "none") {
        return CliError{"-display " + std::string(value.value()) +
                        ": kvm-run has no display; only -display none"};
      }
      options.display_none = true;
    } else if (arg == "-name") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      std::string_view name = value.value();
      if (name.substr(0, 6) == "guest=") {
        name.remove_prefix(6);
      }
      if (name.empty() || name.find(',') != std::string_view::npos) {
        return CliError{"-name: '" + std::string(value.value()) +
                        "': give a plain name (or guest=NAME)"};
      }
      options.name = std::string(name);
    } else if (arg == "-nographic") {
      options.nographic = true;
    } else if (arg == "-no-reboot") {
      options.no_reboot = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return CliError{"unknown option '" + std::string(args[i]) + "'"};
    } else {
      return CliError{"unexpected argument '" + std::string(args[i]) + "'"};
    }
  }
  if (options.nographic && options.display_none) {
    return CliError{"-nographic and -display cannot be combined (-nographic already means no "
                    "display)"};
  }
  if (options.kernel_path.empty() && (!options.initrd_path.empty() || options.cmdline_given)) {
    return CliError{"-initrd and -append need -kernel IMAGE"};
  }
  return options;
}

std::string usage() {
  return "usage: kvm-run [options] [-kernel IMAGE]\n"
         "  -kernel IMAGE      a Linux bzImage (booted directly, 64-bit entry), a multiboot\n"
         "                     image (a.out kludge), or a flat image run in real mode at 0000:7C00;\n"
         "                     without it the machine boots through its BIOS\n"
         "  -initrd FILE       initial ramdisk (Linux only)\n"
         "  -append CMDLINE    kernel command line (Linux only), e.g. \"console=ttyS0\"\n"
         "  -m SIZE            guest RAM in MiB (default 128, " +
         std::to_string(kMinRamMib) + ".." + std::to_string(kMaxRamMib) +
         "; suffix M or G allowed)\n"
         "  -smp N             vCPUs (default 1, up to " +
         std::to_string(kMaxCpus) +
         "; more than 1 needs KVM's in-kernel irqchip)\n"
         "  -serial DEV        COM1: stdio (default), none, or file:PATH\n"
         "  -nographic         no display (there is none anyway); serial on stdio\n"
         "  -display none      the same, in the other spelling\n"
         "  -no-reboot         exit (status 0) when the guest resets instead of rebooting it\n"
         "  -bios FILE         the BIOS image to boot without -kernel (default: kvm-run's own),\n"
         "                     e.g. /usr/share/seabios/bios.bin\n"
         "  -debugcon DEV      the firmware debug port 0x402 (SeaBIOS's log): stdio, none\n"
         "                     (default), or file:PATH\n"
         "  -boot reboot-timeout=MS  with no bootable disk, the BIOS resets after MS ms\n"
         "                     (-1: never; default: the BIOS's own, 60 s for SeaBIOS)\n"
         "  -hda FILE          raw disk image as the primary IDE master (PIIX3 IDE, ata_piix)\n"
         "  -hdb FILE          raw disk image as the primary IDE slave\n"
         "  -name NAME         a name for kvm-run's messages and its main thread\n"
         "  -h, --help         this text;  --version  the version\n"
         "With -serial stdio on a terminal, the terminal is raw: Ctrl-A x quits, Ctrl-A h helps.\n"
         "SIGUSR2 prints every vCPU's registers (and in-kernel LAPIC) on stderr; the guest goes on.\n"
         "exit status: 0 on guest power-off (or reset with -no-reboot); the guest's (V << 1) | 1\n"
         "after it writes V to port 0xf4; 2 on a usage error (or a test image's triple fault);\n"
         "3 on a kvm-run or KVM error; 128+N when stopped by signal N\n";
}

std::string version() {
  return "kvm-run 0.5 (KVM API 12)\n";
}

}  // namespace cli
