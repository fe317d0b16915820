// kvm-run: a PC-style virtual machine monitor on /dev/kvm.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <span>

#include "cli.h"
#include "machine/pc.h"

namespace {

// Serial output goes straight to stdout, unbuffered, so it interleaves correctly with
// kvm-run's own messages on stderr.
void write_to_stdout(std::uint8_t byte) {
  while (::write(STDOUT_FILENO, &byte, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto options = cli::parse_command_line(std::span<const char* const>(argv, argc));
  if (!options) {
    std::fprintf(stderr, "kvm-run: %s (see kvm-run -h)\n", options.error().message.c_str());
    return cli::kStatusUsage;
  }
  if (options->help) {
    std::fputs(cli::usage().c_str(), stdout);
    return 0;
  }

  machine::PcConfig config;
  config.ram_bytes = options->ram_mib << 20;
  config.kernel_path = options->kernel_path;
  config.serial_output = write_to_stdout;

  auto pc = machine::Pc::create(config);
  if (!pc) {
    std::fprintf(stderr, "kvm-run: %s\n", pc.error().message.c_str());
    return static_cast<int>(pc.error().status);
  }
  const std::uint32_t status = pc.value()->run();
  return static_cast<int>(status & 0xff);
}
