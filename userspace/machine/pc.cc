#include "machine/pc.h"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "machine/acpi.h"
#include "machine/cpuid.h"
#include "machine/layout.h"
#include "machine/linux_boot.h"

namespace machine {

namespace {

constexpr std::uint32_t kMsrMtrrDefType = 0x2ff;  // IA32_MTRR_DEF_TYPE (SDM vol. 3, 12.11)
constexpr std::uint64_t kMtrrEnable = 1u << 11;
constexpr std::uint64_t kMemTypeWriteBack = 6;

// Sent to a vCPU thread to make KVM_RUN return (EINTR) when the machine stops.
constexpr int kKickSignal = SIGUSR1;

void ignore_signal(int) {}

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    sigaction(kKickSignal, &sa, nullptr);
  });
}

PcError vmm_failure(const vmm::Error& error) {
  return {vmm::describe(error), vmm::kStatusVmmError};
}

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

std::int64_t realtime_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

AcpiConfig pc_acpi_config(unsigned cpus, std::uint64_t ram_below_4g) {
  using namespace layout;
  AcpiConfig c;
  c.cpu_count = cpus;
  // PCI bus 0 behind the i440FX; 32-bit memory BARs go between RAM and the IOAPIC.
  c.pci = true;
  c.pci_mmio_start = static_cast<std::uint32_t>(std::min(ram_below_4g, kPciHoleStart));
  c.pci_mmio_end = static_cast<std::uint32_t>(kIoapicAddr - 1);
  c.lapic_addr = static_cast<std::uint32_t>(kLapicAddr);
  c.ioapic_addr = static_cast<std::uint32_t>(kIoapicAddr);
  c.ioapic_id = kIoapicId;
  c.overrides = {
      {static_cast<std::uint8_t>(kIrqPit), kIoapicPinOfIrq0, kAcpiIrqConforming},
      {static_cast<std::uint8_t>(kIrqSci), kIrqSci, kAcpiIrqActiveHighLevel},
  };
  c.sci_irq = kIrqSci;
  c.pm1a_event_port = kAcpiPmBase + devices::AcpiPm::kPm1StatusOffset;
  c.pm1a_control_port = kAcpiPmBase + devices::AcpiPm::kPm1ControlOffset;
  c.pm_timer_port = kAcpiPmBase + devices::AcpiPm::kPmTimerOffset;
  c.reset_port = kResetControlPort;
  c.reset_value = kResetControlValue;
  c.s5_sleep_type = kAcpiS5SleepType;
  c.century_register = devices::CmosRtc::kCentury;
  return c;
}

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> firmware_fw_cfg_files(
    const PcConfig& config, const RamLayout& layout_of_ram) {
  auto le = [](std::uint32_t v, int width) {
    std::vector<std::uint8_t> out;
    for (int i = 0; i < width; ++i) {
      out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    return out;
  };
  const RelocatableAcpi acpi =
      build_relocatable_acpi(pc_acpi_config(config.cpus, layout_of_ram.below_4g));
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files = {
      {"etc/e820", firmware_e820_file(layout_of_ram)},
      {kTableLoaderFile, acpi_table_loader(acpi)},
      {kAcpiTablesFile, acpi.tables},
      {kAcpiRsdpFile, acpi.rsdp},
      {"etc/boot-cpus", le(config.cpus, 2)},
      // There is no display: SeaBIOS's serial console puts its screen on COM1.
      {"etc/sercon-port", le(layout::kCom1Base, 2)},
  };
  if (config.reboot_timeout_ms) {  // -boot reboot-timeout: a u32, -1 meaning never (as QEMU)
    files.push_back({"etc/boot-fail-wait", le(static_cast<std::uint32_t>(*config.reboot_timeout_ms), 4)});
  }
  return files;
}

std::vector<kvm_irq_routing_entry> pc_gsi_routes() {
  std::vector<kvm_irq_routing_entry> routes;
  auto add = [&](std::uint32_t gsi, std::uint32_t chip, std::uint32_t pin) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_IRQCHIP;
    e.u.irqchip.irqchip = chip;
    e.u.irqchip.pin = pin;
    routes.push_back(e);
  };
  for (std::uint32_t gsi = 0; gsi < layout::kIoapicPins; ++gsi) {
    if (gsi < 16 && gsi != 2) {
      add(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
    }
    if (gsi == 0) {
      add(gsi, KVM_IRQCHIP_IOAPIC, layout::kIoapicPinOfIrq0);
    } else if (gsi != layout::kIoapicPinOfIrq0) {
      add(gsi, KVM_IRQCHIP_IOAPIC, gsi);
    }
  }
  return routes;
}

Pc::Pc(vmm::KvmDevice kvm, vmm::GuestMemory ram, vmm::Mapping rom, vmm::Vm vm,
       const PcConfig& config, ImageKind kind, bool irqchip, DiskImages disks)
    : kvm_(std::move(kvm)),
      ram_(std::move(ram)),
      rom_(std::move(rom)),
      vm_(std::move(vm)),
      image_kind_(kind),
      irqchip_(irqchip),
      prefix_(config.message_prefix),
      com1_(config.serial_output),
      testdev_irq_lines_([this](std::uint32_t line, bool level) { set_irq(line, level); }),
      debug_exit_([this](std::uint32_t status) { control_.request_exit(status); }),
      i8042_([this](bool level) { set_irq(layout::kIrqKeyboard, level); },
             [this](bool level) { set_irq(layout::kIrqMouse, level); },
             [this] { control_.request_reset(); }),
      cmos_(realtime_seconds),
      fw_cfg_(config.ram_bytes, config.cpus, &ram_),
      acpi_pm_(layout::kAcpiS5SleepType,
               [this] { control_.request_exit(vmm::kStatusPoweredOff); }, monotonic_ns),
      reset_control_([this] { control_.request_reset(); }),
      piix3_([this](unsigned isa_irq, bool level) { set_irq(isa_irq, level); }),
      piix_ide_(ram_, [this](unsigned channel, bool level) {
        set_irq(channel == 0 ? layout::kIrqIdePrimary : layout::kIrqIdeSecondary, level);
      }) {
  for (unsigned unit = 0; unit < disks.size(); ++unit) {
    if (disks[unit]) {
      piix_ide_.channel(0).attach(unit, std::move(disks[unit]));
    }
  }
}

Pc::~Pc() = default;

namespace {

// Reads the image (and initrd) and writes into RAM what the guest starts with: for a Linux
// kernel also the ACPI tables and boot_params.
vmm::Result<LoadedImage, PcError> load_guest(const PcConfig& config, const RamLayout& layout_of_ram,
                                             vmm::GuestMemory& ram) {
  auto image = read_image_file(config.kernel_path, config.ram_bytes);
  if (!image) {
    return PcError{image.error().message, vmm::kStatusVmmError};
  }
  vmm::Result<LoadedImage, LoadError> loaded = LoadError{LoadErrc::kEmptyImage, ""};
  if (looks_like_bzimage(image.value())) {
    std::vector<std::uint8_t> initrd;
    if (!config.initrd_path.empty()) {
      auto file = read_image_file(config.initrd_path, config.ram_bytes);
      if (!file) {
        return PcError{"-initrd: " + file.error().message, vmm::kStatusVmmError};
      }
      initrd = std::move(file.value());
    }
    const AcpiTables acpi = build_acpi_tables(pc_acpi_config(config.cpus, layout_of_ram.below_4g), layout::kAcpiTablesAddr);
    if (acpi.bytes.size() > layout::kAcpiTablesMaxSize ||
        !ram.write(layout::kAcpiTablesAddr, acpi.bytes)) {
      return PcError{"guest RAM too small for the ACPI tables; raise -m", vmm::kStatusVmmError};
    }
    LinuxBootConfig boot;
    boot.cmdline = config.cmdline;
    boot.initrd = initrd;
    boot.ram = layout_of_ram;
    boot.rsdp_addr = acpi.rsdp;
    loaded = load_linux(image.value(), boot, ram);
  } else {
    auto multiboot = find_multiboot_header(image.value());
    const char* what = multiboot.ok() && multiboot.value() ? "a multiboot image" : "a flat image";
    for (auto [given, option] : {std::pair{!config.initrd_path.empty(), "-initrd"},
                                 std::pair{config.cmdline_given, "-append"}}) {
      if (given) {
        return PcError{std::string(option) + " needs a Linux kernel (bzImage); " +
                           config.kernel_path + " is " + what,
                       vmm::kStatusVmmError};
      }
    }
    loaded = load_image(image.value(), ram);
  }
  if (!loaded) {
    return PcError{config.kernel_path + ": " + loaded.error().message, vmm::kStatusVmmError};
  }
  return std::move(loaded.value());
}

// The BIOS image in its own page-aligned mapping (KVM maps it read-only, twice).
struct FirmwareImage {
  vmm::Mapping rom;
  RomLayout layout;
};

vmm::Result<FirmwareImage, PcError> load_firmware(const PcConfig& config) {
  auto image = read_image_file(config.bios_path, kRomMaxSize);
  if (!image) {
    return PcError{"-bios: " + image.error().message, vmm::kStatusVmmError};
  }
  auto layout = rom_layout(image->size());
  if (!layout) {
    return PcError{"-bios " + config.bios_path + ": " + layout.error(), vmm::kStatusVmmError};
  }
  void* addr = ::mmap(nullptr, layout->size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) {
    return PcError{std::string("mmap of the BIOS ROM: ") + std::strerror(errno),
                   vmm::kStatusVmmError};
  }
  std::memcpy(addr, image->data(), image->size());
  return FirmwareImage{vmm::Mapping(addr, layout->size), layout.value()};
}

// What this KVM must offer for the machine, checked before anything is created.
vmm::Status<PcError> check_kvm(const vmm::KvmDevice& kvm, const PcConfig& config, bool irqchip) {
  if (auto s = kvm.require_extension(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"); !s) {
    return vmm_failure(s.error());
  }
  if (config.kernel_path.empty()) {  // the ROM and PAM's read-only parts
    if (auto s = kvm.require_extension(KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM"); !s) {
      return vmm_failure(s.error());
    }
  }
  auto has_irqchip = kvm.check_extension(KVM_CAP_IRQCHIP);
  if (irqchip && !(has_irqchip && has_irqchip.value() > 0)) {
    const std::string why = config.cpus > 1           ? "-smp " + std::to_string(config.cpus) + " needs"
                            : config.kernel_path.empty() ? "booting through a BIOS needs"
                                                         : "booting Linux needs";
    return PcError{why + " an in-kernel interrupt controller (KVM_CAP_IRQCHIP), which this KVM "
                         "does not offer",
                   vmm::kStatusVmmError};
  }
  // The recommended vCPU count (NR_VCPUS) is a hint; the hard limit is MAX_VCPUS.
  int max_vcpus = 4;  // what KVM documents for a kernel that says neither
  if (auto m = kvm.check_extension(KVM_CAP_MAX_VCPUS); m && m.value() > 0) {
    max_vcpus = m.value();
  } else if (auto n = kvm.check_extension(KVM_CAP_NR_VCPUS); n && n.value() > 0) {
    max_vcpus = n.value();
  }
  if (config.cpus > static_cast<unsigned>(max_vcpus)) {
    return PcError{"-smp " + std::to_string(config.cpus) + ": this KVM allows at most " +
                       std::to_string(max_vcpus) + " vCPUs",
                   vmm::kStatusVmmError};
  }
  return vmm::kOk;
}

// The VM with its memory slots and, when wanted, the in-kernel irqchip, routing and PIT.
// KVM memory slots: RAM regions from 0; with firmware the low region leaves out the PAM window
// (slots kPamFirstSlot.. map it, see firmware.h) and the ROM gets its read-only slot.
constexpr std::uint32_t kRomSlot = 8;
constexpr std::uint32_t kPamFirstSlot = 16;

vmm::Result<vmm::Vm, PcError> create_vm(const vmm::KvmDevice& kvm, const vmm::GuestMemory& ram,
                                        const FirmwareImage* firmware, bool irqchip,
                                        const std::string& prefix) {
  auto vm = kvm.create_vm();
  if (!vm) {
    return vmm_failure(vm.error());
  }
  // Only Intel VMX without unrestricted guest needs the TSS; AMD accepts and ignores it.
  if (auto tss = kvm.check_extension(KVM_CAP_SET_TSS_ADDR); tss && tss.value() > 0) {
    if (auto s = vm->set_tss_addr(layout::kTssAddr); !s) {
      return vmm_failure(s.error());
    }
  }
  struct Slot {
    std::uint64_t gpa, size;
    void* host;
  };
  std::vector<Slot> slots;
  for (const auto& region : ram.regions()) {
    auto* host = static_cast<std::uint8_t*>(ram.host_address(region));
    const std::uint64_t end = region.gpa + region.size;
    if (firmware && region.gpa < kPamWindowEnd && end > kPamWindowStart) {
      if (region.gpa < kPamWindowStart) {
        slots.push_back({region.gpa, kPamWindowStart - region.gpa, host});
      }
      if (end > kPamWindowEnd) {
        slots.push_back({kPamWindowEnd, end - kPamWindowEnd, host + (kPamWindowEnd - region.gpa)});
      }
    } else {
      slots.push_back({region.gpa, region.size, host});
    }
  }
  std::uint32_t slot = 0;
  for (const auto& s : slots) {
    if (auto r = vm->set_user_memory_region(slot++, s.gpa, s.size, s.host); !r) {
      return vmm_failure(r.error());
    }
  }
  if (firmware) {
    if (auto r = vm->set_user_memory_region(kRomSlot, firmware->layout.high_base,
                                            firmware->layout.size, firmware->rom.get(),
                                            KVM_MEM_READONLY);
        !r) {
      return vmm_failure(r.error());
    }
  }
  if (irqchip) {  // before any vCPU exists, as KVM requires
    if (auto s = vm->create_irqchip(); !s) {
      return vmm_failure(s.error());
    }
    if (auto s = vm->set_gsi_routing(pc_gsi_routes()); !s) {
      return vmm_failure(s.error());
    }
    if (auto pit = kvm.check_extension(KVM_CAP_PIT2); pit && pit.value() > 0) {
      // SPEAKER_DUMMY: the kernel also answers port 0x61 (the PIT channel 2 gate and output).
      if (auto s = vm->create_pit2(KVM_PIT_SPEAKER_DUMMY); !s) {
        return vmm_failure(s.error());
      }
    } else {
      std::fprintf(stderr, "%s: warning: no KVM_CAP_PIT2; the guest has no i8254 timer\n",
                   prefix.c_str());
    }
  }
  return std::move(vm.value());
}

}  // namespace

vmm::Result<std::unique_ptr<Pc>, PcError> Pc::create(const PcConfig& config) {
  const RamLayout layout_of_ram = ram_layout(config.ram_bytes);
  auto ram = vmm::GuestMemory::allocate(ram_regions(layout_of_ram));
  if (!ram) {
    return vmm_failure(ram.error());
  }
  std::optional<FirmwareImage> firmware;
  LoadedImage firmware_boot;
  firmware_boot.kind = ImageKind::kFirmware;
  vmm::Result<LoadedImage, PcError> loaded = firmware_boot;
  if (config.kernel_path.empty()) {
    auto image = load_firmware(config);
    if (!image) {
      return image.error();
    }
    firmware = std::move(image.value());
  } else {
    loaded = load_guest(config, layout_of_ram, ram.value());
  }
  if (!loaded) {
    return loaded.error();
  }
  DiskImages disks;
  for (auto [path, unit, option] :
       {std::tuple{&config.hda_path, 0u, "-hda"}, std::tuple{&config.hdb_path, 1u, "-hdb"}}) {
    if (path->empty()) {
      continue;
    }
    auto image = backends::RawImage::open(*path);
    if (!image) {
      return PcError{std::string(option) + " " + image.error().message, vmm::kStatusVmmError};
    }
    disks[unit] = std::move(image.value());
  }
  // Test images keep HLT in userspace (see pc.h) unless they need APs.
  const bool irqchip = loaded->kind == ImageKind::kLinux ||
                       loaded->kind == ImageKind::kFirmware || config.cpus > 1;

  auto kvm = vmm::KvmDevice::open();
  if (!kvm) {
    return vmm_failure(kvm.error());
  }
  if (auto s = check_kvm(kvm.value(), config, irqchip); !s) {
    return s.error();
  }
  auto mmap_size = kvm->vcpu_mmap_size();
  if (!mmap_size) {
    return vmm_failure(mmap_size.error());
  }
  std::vector<kvm_cpuid_entry2> supported;
  if (auto ext = kvm->check_extension(KVM_CAP_EXT_CPUID); ext && ext.value() > 0) {
    auto s = kvm->supported_cpuid();
    if (!s) {
      return vmm_failure(s.error());
    }
    supported = std::move(s.value());
  } else {
    // Without KVM_SET_CPUID2 the guest's CPUID is empty and KVM refuses CR4.PAE/PSE and
    // EFER.LME as reserved bits.
    std::fprintf(stderr, "%s: warning: no KVM_CAP_EXT_CPUID; the guest sees no CPUID\n",
                 config.message_prefix.c_str());
  }
  auto vm = create_vm(kvm.value(), ram.value(), firmware ? &*firmware : nullptr, irqchip,
                      config.message_prefix);
  if (!vm) {
    return vm.error();
  }

  vmm::Mapping rom = firmware ? std::move(firmware->rom) : vmm::Mapping();
  std::unique_ptr<Pc> pc(new Pc(std::move(kvm.value()), std::move(ram.value()), std::move(rom),
                                std::move(vm.value()), config, loaded->kind, irqchip,
                                std::move(disks)));
  if (firmware) {
    pc->rom_layout_ = firmware->layout;
  }
  auto deadline = pc->kvm_.check_extension(KVM_CAP_TSC_DEADLINE_TIMER);
  const bool tsc_deadline = irqchip && deadline && deadline.value() > 0;
  if (auto s = pc->create_vcpus(config.cpus, mmap_size.value(), supported, tsc_deadline,
                                loaded->boot);
      !s) {
    return s.error();
  }
  pc->cmos_.set_memory_size(layout_of_ram.below_4g, layout_of_ram.above_4g);
  pc->cmos_.set_cpu_count(config.cpus);
  if (auto s = pc->wire_devices(); !s) {
    return s.error();
  }
  if (firmware) {
    if (auto s = pc->wire_firmware(config, layout_of_ram); !s) {
      return s.error();
    }
  }
  return pc;
}

vmm::Status<PcError> Pc::wire_firmware(const PcConfig& config, const RamLayout& layout_of_ram) {
  using namespace layout;
  const std::span<const std::uint8_t> rom(static_cast<const std::uint8_t*>(rom_.get()),
                                          rom_layout_.size);
  pam_ = std::make_unique<PamMemory>(
      ram_.host_pointer(0, layout_of_ram.below_4g), rom, rom_layout_, kPamFirstSlot,
      [this](std::uint32_t slot, std::uint64_t gpa, std::uint64_t size, std::uint8_t* host,
             bool read_only) {
        auto s = vm_.set_user_memory_region(slot, gpa, size, host,
                                            read_only ? KVM_MEM_READONLY : 0);
        if (!s) {
          std::fprintf(stderr, "%s: PAM: %s\n", prefix_.c_str(), vmm::describe(s.error()).c_str());
        }
        return s.ok();
      });
  if (!pam_->update(pam_reset_state())) {
    return PcError{"cannot map the BIOS ROM at 0xE0000", vmm::kStatusVmmError};
  }
  // The host bridge's PAM registers drive the window (the listener runs on the vCPU thread
  // that wrote the register).
  i440fx_.set_pam_listener([this](std::span<const devices::PamSegment> segments) {
    std::vector<PamSegmentState> state;
    for (const auto& s : segments) {
      state.push_back({s.base, s.size, s.read_dram, s.write_dram});
    }
    (void)pam_->update(state);  // a refused slot is reported by the slot callback
  });
  rom_window_ = std::make_unique<RomWindow>(rom);
  if (auto s = mmio_.add(kPamWindowStart, kPamWindowEnd - kPamWindowStart, *pam_, "pam-window");
      !s) {
    return PcError{std::string("cannot place the PAM window: ") + bus::describe(s.error()),
                   vmm::kStatusVmmError};
  }
  if (auto s = mmio_.add(rom_layout_.high_base, rom_layout_.size, *rom_window_, "bios-rom"); !s) {
    return PcError{std::string("cannot place the BIOS ROM: ") + bus::describe(s.error()),
                   vmm::kStatusVmmError};
  }
  if (config.debugcon_output) {
    debugcon_ = std::make_unique<devices::DebugCon>(config.debugcon_output);
    if (auto s = ports_.add(kFirmwareDebugPort, devices::DebugCon::kSize, *debugcon_, "debugcon");
        !s) {
      return PcError{std::string("cannot place debugcon: ") + bus::describe(s.error()),
                     vmm::kStatusVmmError};
    }
  }

  for (const auto& [name, data] : firmware_fw_cfg_files(config, layout_of_ram)) {
    if (!fw_cfg_.add_file(name, data)) {
      return PcError{"fw_cfg: cannot add " + name, vmm::kStatusVmmError};
    }
  }
  return vmm::kOk;
}

vmm::Status<PcError> Pc::create_vcpus(unsigned cpus, std::size_t mmap_size,
                                      std::span<const kvm_cpuid_entry2> supported,
                                      bool tsc_deadline, const BootState& boot) {
  for (unsigned id = 0; id < cpus; ++id) {
    auto vcpu = vm_.create_vcpu(static_cast<int>(id), mmap_size);
    if (!vcpu) {
      return vmm_failure(vcpu.error());
    }
    if (!supported.empty()) {
      if (auto s = vcpu->set_cpuid(guest_cpuid(supported, id, tsc_deadline)); !s) {
        return vmm_failure(s.error());
      }
    }
    if (image_kind_ == ImageKind::kLinux) {
      // What firmware leaves behind: MTRRs on, everything write-back by default.  Without it
      // Linux finds "MTRRs all blank" and runs without PAT (no write-combining mappings).
      const kvm_msr_entry mtrr_default{kMsrMtrrDefType, 0, kMtrrEnable | kMemTypeWriteBack};
      if (auto s = vcpu->set_msrs(std::span(&mtrr_default, 1)); !s) {
        return vmm_failure(s.error());
      }
    }
    if (id == 0 && image_kind_ == ImageKind::kFirmware) {
      // KVM's reset state is the PC's: CS F000 with base 0xFFFF0000, IP 0xFFF0.
    } else if (id == 0) {
      auto reset = vcpu->get_sregs();
      if (!reset) {
        return vmm_failure(reset.error());
      }
      kvm_regs regs{};
      kvm_sregs sregs = reset.value();
      apply_boot_state(boot, regs, sregs);
      if (auto s = vcpu->set_sregs(sregs); !s) {
        return vmm_failure(s.error());
      }
      if (auto s = vcpu->set_regs(regs); !s) {
        return vmm_failure(s.error());
      }
    } else {
      // An application processor waits for INIT and SIPI from the BSP's local APIC.  KVM puts
      // APs there by itself when its irqchip is in the kernel; say so explicitly anyway.
      auto state = vcpu->get_mp_state();
      if (!state) {
        return vmm_failure(state.error());
      }
      if (state.value() != KVM_MP_STATE_UNINITIALIZED) {
        if (auto s = vcpu->set_mp_state(KVM_MP_STATE_UNINITIALIZED); !s) {
          return vmm_failure(s.error());
        }
      }
    }
    vcpus_.push_back(std::move(vcpu.value()));
  }
  return vmm::kOk;
}

vmm::Status<PcError> Pc::wire_devices() {
  using namespace layout;
  struct Assignment {
    std::uint64_t base;
    std::uint64_t length;
    bus::BusDevice& device;
    const char* name;
  };
  static_assert(kPcTestdevIrqLineLength == devices::PcTestdevIrqLines::kLineCount);
  const Assignment ports[] = {
      {kI8042DataPort, 1, i8042_.data_port(), "i8042-data"},
      {kI8042CommandPort, 1, i8042_.command_port(), "i8042-command"},
      {kCmosBase, devices::CmosRtc::kSize, cmos_, "cmos-rtc"},
      {kPostCodePort, devices::PostCode::kSize, post_code_, "post-code"},
      {kPcTestdevIoportBase, devices::PcTestdev::kIoportSize, testdev_, "pc-testdev"},
      {kPcTestdevIrqLineBase, kPcTestdevIrqLineLength, testdev_irq_lines_, "pc-testdev-irq"},
      {kDebugExitBase, devices::DebugExit::kSize, debug_exit_, "debug-exit"},
      {kCom1Base, devices::Uart16550::kRegisterCount, com1_, "com1"},
      {kFwCfgBase, devices::FwCfg::kSize, fw_cfg_, "fw-cfg"},
      {kAcpiPmBase, devices::AcpiPm::kSize, acpi_pm_, "acpi-pm"},
      {kPciConfigAddressPort, pci::PciRoot::kAddressWindowSize, pci_root_.address_window(),
       "pci-config-address"},
      {kPciConfigDataPort, pci::PciRoot::kDataWindowSize, pci_root_.data_window(),
       "pci-config-data"},
      {kIdePrimaryCommandBase, devices::IdeChannel::kCommandBlockSize,
       piix_ide_.channel(0).command_block(), "ide0-command"},
      {kIdePrimaryControlPort, devices::IdeChannel::kControlBlockSize,
       piix_ide_.channel(0).control_block(), "ide0-control"},
      {kIdeSecondaryCommandBase, devices::IdeChannel::kCommandBlockSize,
       piix_ide_.channel(1).command_block(), "ide1-command"},
      {kIdeSecondaryControlPort, devices::IdeChannel::kControlBlockSize,
       piix_ide_.channel(1).control_block(), "ide1-control"},
  };
  for (const auto& a : ports) {
    if (auto s = ports_.add(a.base, a.length, a.device, a.name); !s) {
      return PcError{std::string("cannot place ") + a.name + ": " + bus::describe(s.error()),
                     vmm::kStatusVmmError};
    }
  }
  if (auto s = mmio_.add(kPcTestdevIomemBase, devices::PcTestdevIomem::kSize, testdev_iomem_,
                         "pc-testdev-iomem");
      !s) {
    return PcError{std::string("cannot place pc-testdev-iomem: ") + bus::describe(s.error()),
                   vmm::kStatusVmmError};
  }
  // 0xcf9 is a byte inside the configuration address window (see layout.h).
  static_assert(kResetControlPort == kPciConfigAddressPort + 1);
  pci_root_.set_byte_at_offset_1(&reset_control_);
  com1_.connect_irq([this](bool level) { set_irq(kIrqCom1, level); });
  return wire_pci();
}

vmm::Status<PcError> Pc::wire_pci() {
  using namespace layout;
  struct Slot {
    unsigned slot;
    unsigned function;
    pci::PciFunction& device;
  };
  const Slot slots[] = {
      {kPciSlotHostBridge, 0, i440fx_},
      {kPciSlotPiix3, kPiix3IsaFunction, piix3_},
      {kPciSlotPiix3, kPiix3IdeFunction, piix_ide_},
  };
  for (const auto& s : slots) {
    if (auto r = pci_root_.plug(s.slot, s.function, s.device); !r) {
      return PcError{"cannot plug " + s.device.name() + ": " + pci::describe(r.error()),
                     vmm::kStatusVmmError};
    }
  }
  pci_root_.set_intx_router([this](unsigned slot, unsigned function, pci::IntxPin pin,
                                   bool level) { piix3_.pci_intx(slot, function, pin, level); });
  if (image_kind_ != ImageKind::kFirmware) {
    program_pci_like_firmware();  // with firmware, the firmware does it
  }
  return vmm::kOk;
}

void Pc::program_pci_like_firmware() {
  using namespace layout;
  // IDE: both channels decoding (IDETIM bit 15), the bus-master block at its BAR, I/O decode
  // and bus mastering on.
  for (std::uint16_t idetim : {devices::PiixIde::kIdeTiming,
                               static_cast<std::uint16_t>(devices::PiixIde::kIdeTiming + 2)}) {
    pci_root_.config_write(0, kPciSlotPiix3, kPiix3IdeFunction, idetim, 2,
                           devices::PiixIde::kIdeDecodeEnable);
  }
  pci_root_.config_write(0, kPciSlotPiix3, kPiix3IdeFunction,
                         pci::bar_offset(devices::PiixIde::kBusMasterBar), 4, kIdeBusMasterBase);
  pci_root_.config_write(0, kPciSlotPiix3, kPiix3IdeFunction, pci::kCommand, 2,
                         pci::kCommandIo | pci::kCommandBusMaster);
  for (unsigned i = 0; i < devices::Piix3::kPirqs; ++i) {
    pci_root_.config_write(0, kPciSlotPiix3, kPiix3IsaFunction,
                           static_cast<std::uint16_t>(devices::Piix3::kPirqRoute + i), 1,
                           kPirqIrqs[i]);
  }
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    for (unsigned fn = 0; fn < pci::kFunctions; ++fn) {
      pci::PciFunction* f = pci_root_.function_at(slot, fn);
      if (f == nullptr || f->interrupt_pin() == pci::IntxPin::kNone) {
        continue;
      }
      f->config_write(pci::kInterruptLine, 1,
                      kPirqIrqs[devices::Piix3::pirq_of(slot, f->interrupt_pin())]);
    }
  }
}

void Pc::set_irq(std::uint32_t gsi, bool level) {
  if (!irqchip_) {
    return;  // no interrupt controller: the line goes nowhere (test images)
  }
  if (!vm_.irq_line(gsi, level)) {
    irq_errors_.fetch_add(1);
  }
}

void Pc::kick_vcpus() {
  std::lock_guard lock(threads_mutex_);
  if (threads_joined_) {
    return;
  }
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    // immediate_exit covers a thread that is just about to enter KVM_RUN; the signal one that
    // is inside it.
    __atomic_store_n(&vcpus_[i].run_page()->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(threads_[i].native_handle(), kKickSignal);
  }
}

void Pc::request_register_dump() {
  std::lock_guard lock(threads_mutex_);
  if (threads_joined_) {
    return;
  }
  for (std::size_t i = 0; i < threads_.size() && i < 64; ++i) {
    dump_requests_.fetch_or(1ull << i);
    __atomic_store_n(&vcpus_[i].run_page()->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(threads_[i].native_handle(), kKickSignal);
  }
}

RunOutcome Pc::run() {
  install_kick_handler();
  control_.set_stop_listener([this] { kick_vcpus(); });
  {
    std::lock_guard lock(running_mutex_);
    running_ = vcpus_.size();
  }
  {
    std::lock_guard lock(threads_mutex_);
    for (std::size_t i = 0; i < vcpus_.size(); ++i) {
      threads_.emplace_back([this, i] { vcpu_thread(i); });
    }
  }
  if (control_.stop_requested()) {
    kick_vcpus();  // a stop that came in while the threads were starting
  }
  {
    std::unique_lock lock(running_mutex_);
    while (running_ > 0) {
      if (running_cv_.wait_for(lock, std::chrono::milliseconds(50)) == std::cv_status::timeout &&
          control_.stop_requested()) {
        // Belt and braces for a KVM without immediate_exit: keep kicking until all are out.
        lock.unlock();
        kick_vcpus();
        lock.lock();
      }
    }
  }
  {
    std::lock_guard lock(threads_mutex_);
    for (auto& t : threads_) {
      t.join();
    }
    threads_joined_ = true;
  }
  if (irq_errors_.load()) {
    std::fprintf(stderr, "%s: warning: %llu KVM_IRQ_LINE calls failed\n", prefix_.c_str(),
                 static_cast<unsigned long long>(irq_errors_.load()));
  }
  RunOutcome outcome;
  switch (control_.stop_kind()) {
    case vmm::StopKind::kReset:
      outcome.kind = vmm::StopKind::kReset;
      break;
    case vmm::StopKind::kExit:
    case vmm::StopKind::kNone:  // cannot happen: every vCPU stops by requesting a stop
      outcome.kind = vmm::StopKind::kExit;
      outcome.status = control_.exit_status();
      break;
  }
  return outcome;
}

void Pc::vcpu_thread(std::size_t index) {
  char name[16];
  std::snprintf(name, sizeof(name), "vcpu%zu", index);
  pthread_setname_np(pthread_self(), name);
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  vcpu_loop(vcpus_[index]);

  std::lock_guard lock(running_mutex_);
  --running_;
  running_cv_.notify_all();
}

void Pc::vcpu_loop(vmm::Vcpu& vcpu) {
  const vmm::ExitContext context{ports_, mmio_, control_, vcpu.run_size(), vcpu.id()};
  const std::uint64_t dump_bit = vcpu.id() < 64 ? 1ull << vcpu.id() : 0;
  for (;;) {
    if (control_.stop_requested()) {
      return;
    }
    if (dump_requests_.load() & dump_bit) {
      dump_requests_.fetch_and(~dump_bit);
      // The kick's immediate_exit is ours to undo, unless a stop came in meanwhile (that
      // one's kicks repeat until every thread is out).
      if (!control_.stop_requested()) {
        __atomic_store_n(&vcpu.run_page()->immediate_exit, 0, __ATOMIC_SEQ_CST);
      }
      auto regs = vcpu.get_regs();
      auto sregs = vcpu.get_sregs();
      if (regs && sregs) {
        std::string text = vmm::format_registers(regs.value(), sregs.value());
        // With the in-kernel irqchip, what the LAPIC holds: a halted vCPU with a deliverable
        // vector in its IRR is a lost wake-up, an empty IRR and a stopped timer is the guest's.
        if (irqchip_) {
          auto lapic = vcpu.get_lapic();
          auto mp_state = vcpu.get_mp_state();
          if (lapic && mp_state) {
            text += vmm::format_lapic(lapic.value(), mp_state.value());
          }
        }
        std::fprintf(stderr, "%s: registers of vCPU %d (on request):\n%s", prefix_.c_str(),
                     vcpu.id(), text.c_str());
      }
      continue;
    }
    if (auto s = vcpu.run(); !s) {
      const int err = s.error().sys_errno;
      if (err == EINTR || err == EAGAIN) {
        continue;
      }
      report_vcpu_error(vcpu, vmm::describe(s.error()));
      control_.request_exit(vmm::kStatusVmmError);
      return;
    }
    vmm::ExitResult result = vmm::handle_exit(*vcpu.run_page(), context);
    switch (result.stop) {
      case vmm::VcpuStop::kNone:
        continue;
      case vmm::VcpuStop::kGuestExit:
      case vmm::VcpuStop::kReset:
        return;
      case vmm::VcpuStop::kHalted:
        std::fprintf(stderr, "%s: %s\n", prefix_.c_str(), result.message.c_str());
        control_.request_exit(result.status);
        return;
      case vmm::VcpuStop::kShutdown:
        // No register dump: on AMD, KVM has reset the VMCB by the time it reports the shutdown,
        // so the registers would be the reset state, not the fault's.
        if (image_kind_ == ImageKind::kLinux || image_kind_ == ImageKind::kFirmware) {
          // A PC resets on a triple fault; Linux uses that as its last way to reboot.
          std::fprintf(stderr, "%s: vCPU %d: %s: resetting\n", prefix_.c_str(), vcpu.id(),
                       result.message.c_str());
          control_.request_reset();
        } else {
          std::fprintf(stderr, "%s: vCPU %d: %s\n", prefix_.c_str(), vcpu.id(),
                       result.message.c_str());
          control_.request_exit(result.status);
        }
        return;
      case vmm::VcpuStop::kError:
        report_vcpu_error(vcpu, result.message);
        control_.request_exit(result.status);
        return;
    }
  }
}

void Pc::report_vcpu_error(vmm::Vcpu& vcpu, const std::string& message) {
  std::fprintf(stderr, "%s: vCPU %d: %s\n", prefix_.c_str(), vcpu.id(), message.c_str());
  auto regs = vcpu.get_regs();
  auto sregs = vcpu.get_sregs();
  if (regs && sregs) {
    std::fprintf(stderr, "%s: registers of vCPU %d:\n%s", prefix_.c_str(), vcpu.id(),
                 vmm::format_registers(regs.value(), sregs.value()).c_str());
  }
}

}  // namespace machine
