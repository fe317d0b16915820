#include "cli.h"

#include <charconv>
#include <string_view>

namespace cli {

namespace {

vmm::Result<std::uint64_t, CliError> parse_ram_mib(std::string_view text) {
  std::uint64_t multiplier = 1;
  std::string_view digits = text;
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

}  // namespace

vmm::Result<Options, CliError> parse_command_line(std::span<const char* const> args) {
  Options options;
  bool have_kernel = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      arg.remove_prefix(1);
    }
    auto next_value = [&](std::string_view option) -> vmm::Result<std::string_view, CliError> {
      if (i + 1 >= args.size()) {
        return CliError{"option " + std::string(option) + " needs an argument"};
      }
      return std::string_view(args[++i]);
    };
    if (arg == "-h" || arg == "-help") {
      options.help = true;
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
    } else if (arg == "-kernel") {
      auto value = next_value(arg);
      if (!value) {
        return value.error();
      }
      if (value.value().empty()) {
        return CliError{"-kernel: empty file name"};
      }
      options.kernel_path = std::string(value.value());
      have_kernel = true;
    } else if (arg == "-nographic") {
      options.nographic = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return CliError{"unknown option '" + std::string(args[i]) + "'"};
    } else {
      return CliError{"unexpected argument '" + std::string(args[i]) + "'"};
    }
  }
  if (!have_kernel) {
    return CliError{"no guest image given; use -kernel IMAGE"};
  }
  return options;
}

std::string usage() {
  return "usage: kvm-run [-m MB] -kernel IMAGE [-nographic]\n"
         "  -m MB          guest RAM in MiB (default 128, " +
         std::to_string(kMinRamMib) + ".." + std::to_string(kMaxRamMib) +
         "; suffix M or G allowed)\n"
         "  -kernel IMAGE  multiboot (a.out kludge) image, or a flat image run in real mode at "
         "0000:7C00\n"
         "  -nographic     accepted; there is no display yet (serial output goes to stdout)\n"
         "exit status: the guest's (V << 1) | 1 after it writes V to port 0xf4; 0 when it halts\n"
         "with nothing to wake it; 2 on a usage error or guest triple fault; 3 on a kvm-run or\n"
         "KVM error\n";
}

}  // namespace cli
