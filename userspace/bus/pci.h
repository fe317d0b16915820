// PCI, as a PC chipset presents it: configuration mechanism #1 (CONFIG_ADDRESS at 0xcf8,
// CONFIG_DATA at 0xcfc, both placed by machine/layout.h), one root bus (bus 0) with 32 device
// slots of up to 8 functions, and the configuration space of each function with its BARs.
//
// PciFunction is the base class of every PCI device model.  It owns the 256-byte configuration
// space and does what every function does the same way:
// - the standard type-0 header: IDs, class code, header type, command (I/O, memory, bus-master
//   enable, INTx disable), status (interrupt status, read-only capability bits), cache line
//   size, latency timer, interrupt line (writable) and interrupt pin (read-only);
// - BARs 0-5: I/O or 32-bit memory, a power-of-two size; writing all-ones and reading back gives
//   the size (the address bits below it read as zero).  A BAR decodes on the machine's I/O or
//   MMIO bus only while its command enable bit is set and its address is non-zero; every BAR or
//   command write moves the range.  A BAR that would overlap a range already on the bus stays
//   unmapped and is counted (bar_conflicts()), as two devices claiming one address decode
//   nothing useful;
// - INTx: set_intx() asserts or releases the function's interrupt pin; the root bus hands the
//   (slot, pin) to whatever routes it (the PIIX3's PIRQ registers on this machine).
// Device-specific registers (0x40-0xff) are plain bytes made writable with set_writable(); a
// subclass that gives them meaning overrides config_written().
// Missing: 64-bit and prefetchable BARs, expansion ROM BARs (read as 0), capabilities lists,
// PCI-to-PCI bridges (bus numbers other than 0 read as absent), MSI.
//
// Devices register by name: PciRoot::plug() refuses a second function with the same name or in
// an occupied slot, and find() looks a function up by name (what the machine and the firmware
// setup use).
//
// Legend (locking): each function's config_ and BAR state are guarded by its mutex_, taken by
// config_read/config_write/set_intx; subclass hooks (config_written) run with it held and must
// not call back into the same function.  The root's address_ register is guarded by its own
// mutex; its slot table is filled while the machine is built and only read afterwards.  The INTx
// router is called without any function lock held.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bus/bus.h"
#include "vmm/result.h"

namespace pci {

// Standard configuration header offsets (PCI Local Bus Specification 3.0, 6.1).
inline constexpr std::uint16_t kVendorId = 0x00;
inline constexpr std::uint16_t kDeviceId = 0x02;
inline constexpr std::uint16_t kCommand = 0x04;
inline constexpr std::uint16_t kStatus = 0x06;
inline constexpr std::uint16_t kRevisionId = 0x08;
inline constexpr std::uint16_t kProgIf = 0x09;
inline constexpr std::uint16_t kSubclass = 0x0a;
inline constexpr std::uint16_t kClassCode = 0x0b;
inline constexpr std::uint16_t kCacheLineSize = 0x0c;
inline constexpr std::uint16_t kLatencyTimer = 0x0d;
inline constexpr std::uint16_t kHeaderType = 0x0e;
inline constexpr std::uint16_t kBar0 = 0x10;
inline constexpr std::uint16_t kSubsystemVendorId = 0x2c;
inline constexpr std::uint16_t kSubsystemId = 0x2e;
inline constexpr std::uint16_t kRomAddress = 0x30;
inline constexpr std::uint16_t kInterruptLine = 0x3c;
inline constexpr std::uint16_t kInterruptPin = 0x3d;
inline constexpr std::uint16_t kConfigSize = 256;

inline constexpr std::uint16_t kCommandIo = 0x0001;
inline constexpr std::uint16_t kCommandMemory = 0x0002;
inline constexpr std::uint16_t kCommandBusMaster = 0x0004;
inline constexpr std::uint16_t kCommandSerr = 0x0100;
inline constexpr std::uint16_t kCommandInterruptDisable = 0x0400;
inline constexpr std::uint16_t kStatusInterrupt = 0x0008;
inline constexpr std::uint8_t kHeaderMultiFunction = 0x80;

inline constexpr unsigned kBarCount = 6;
constexpr std::uint16_t bar_offset(unsigned index) {
  return static_cast<std::uint16_t>(kBar0 + 4 * index);
}
inline constexpr unsigned kSlots = 32;
inline constexpr unsigned kFunctions = 8;

enum class BarKind { kIo, kMemory32 };

// Interrupt pins as the interrupt pin register numbers them (0: none).
enum class IntxPin : std::uint8_t { kNone = 0, kIntA = 1, kIntB = 2, kIntC = 3, kIntD = 4 };

struct Identity {
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  std::uint8_t revision = 0;
  std::uint32_t class_code = 0;  // class << 16 | subclass << 8 | programming interface
  bool multi_function = false;   // header type bit 7 (set on function 0 of a multi-function device)
  std::uint16_t subsystem_vendor_id = 0;
  std::uint16_t subsystem_id = 0;
};

class PciFunction {
 public:
  // Called with the new level whenever the function's INTx output changes (after the
  // command register's INTx disable is applied).  Set by PciRoot::plug().
  using IntxOutput = std::function<void(bool level)>;

  PciFunction(std::string name, const Identity& identity);
  virtual ~PciFunction();
  PciFunction(const PciFunction&) = delete;
  PciFunction& operator=(const PciFunction&) = delete;

  const std::string& name() const { return name_; }

  // A configuration access: offset < 256 and size 1, 2 or 4 within one dword; anything else
  // reads all-ones and writes nothing.  Values are little-endian, as the config data port sees.
  std::uint32_t config_read(std::uint16_t offset, unsigned size);
  void config_write(std::uint16_t offset, unsigned size, std::uint32_t value);

  // Where the BARs decode and where INTx goes (PciRoot::plug() calls this).
  void attach(bus::Bus* io, bus::Bus* mmio, IntxOutput intx);
  IntxPin interrupt_pin() const { return pin_; }

  // Asserts (true) or releases the interrupt pin.  Sets the status register's interrupt bit;
  // the output follows unless the command register disables INTx.
  void set_intx(bool level);

  // The guest-programmed base of a BAR while it decodes; nullopt when it does not.
  std::optional<std::uint64_t> bar_mapping(unsigned index) const;
  std::uint64_t bar_conflicts() const { return bar_conflicts_.load(); }

 protected:
  // Declares BAR index (before attach()): size is a power of two, at least 4 for I/O and 16
  // for memory; accesses inside it reach device at offsets from the BAR's base.
  void define_bar(unsigned index, BarKind kind, std::uint32_t size, bus::BusDevice& device);
  void set_interrupt_pin(IntxPin pin);
  // Lets the guest write the bits of mask at offset (device-specific registers 0x40-0xff).
  void set_writable(std::uint16_t offset, std::uint8_t mask);
  // Sets a register's value directly (reset values; read-only bits the device itself changes).
  // Lock: callers outside config_written() must hold no lock of this function; use
  // set_config_locked() from within hooks.
  void set_config(std::uint16_t offset, std::span<const std::uint8_t> bytes);
  std::uint8_t config_byte_locked(std::uint16_t offset) const { return config_[offset]; }
  void set_config_byte_locked(std::uint16_t offset, std::uint8_t value) { config_[offset] = value; }
  // Runs after the guest wrote [offset, offset + size), with mutex_ held.
  virtual void config_written(std::uint16_t offset, unsigned size) {
    (void)offset;
    (void)size;
  }

 private:
  struct Bar {
    BarKind kind = BarKind::kIo;
    std::uint32_t size = 0;
    bus::BusDevice* device = nullptr;
    std::optional<std::uint64_t> mapped;  // base on the bus, while it decodes
  };
  std::uint32_t read_locked(std::uint16_t offset, unsigned size) const;
  void write_bar_byte(unsigned index, unsigned byte, std::uint8_t value);
  void update_bars();
  // Returns the level INTx should have now (status bit and command disable applied).
  bool intx_output_locked() const;

  const std::string name_;
  mutable std::mutex mutex_;
  std::array<std::uint8_t, kConfigSize> config_{};
  std::array<std::uint8_t, kConfigSize> writable_{};
  std::array<std::uint8_t, kConfigSize> write_one_to_clear_{};
  std::array<std::optional<Bar>, kBarCount> bars_;
  IntxPin pin_ = IntxPin::kNone;
  bus::Bus* io_ = nullptr;
  bus::Bus* mmio_ = nullptr;
  IntxOutput intx_;
  bool intx_level_ = false;  // what intx_ was last told
  std::atomic<std::uint64_t> bar_conflicts_{0};
};

enum class PciError {
  kBadSlot,        // slot >= 32 or function >= 8
  kSlotTaken,      // a function is already plugged there
  kDuplicateName,  // a function with that name is already plugged
};

const char* describe(PciError error);

// Bus 0 behind the host bridge, and configuration mechanism #1 that reaches it.
class PciRoot {
 public:
  // Where a function's INTx pin goes: (slot, function, pin, level).  The machine wires this to the
  // PIRQ router; until then interrupts go nowhere.
  using IntxRouter = std::function<void(unsigned slot, unsigned function, IntxPin pin, bool level)>;

  PciRoot(bus::Bus& io, bus::Bus& mmio);

  vmm::Status<PciError> plug(unsigned slot, unsigned function, PciFunction& device);
  PciFunction* find(std::string_view name) const;
  PciFunction* function_at(unsigned slot, unsigned function) const;
  void set_intx_router(IntxRouter router) { router_ = std::move(router); }

  // A configuration access by bus/device/function (mechanism #1 and the machine's own setup).
  // Absent functions and other buses read all-ones; writes to them are dropped.
  std::uint32_t config_read(unsigned bus, unsigned slot, unsigned function, std::uint16_t offset,
                            unsigned size) const;
  void config_write(unsigned bus, unsigned slot, unsigned function, std::uint16_t offset,
                    unsigned size, std::uint32_t value);

  // Mechanism #1.  The address window is four ports: a dword access at offset 0 is
  // CONFIG_ADDRESS; a byte access at offset 1 (port 0xcf9 on a PC) goes to the device given to
  // set_byte_at_offset_1() (the PIIX reset control register); everything else there reads
  // all-ones and is dropped, as on the PIIX.  The data window is four ports; an access of any
  // width at offset n reaches register (CONFIG_ADDRESS & 0xfc) + n of the addressed function
  // while CONFIG_ADDRESS bit 31 is set.
  static constexpr std::uint64_t kAddressWindowSize = 4;
  static constexpr std::uint64_t kDataWindowSize = 4;
  static constexpr std::uint32_t kConfigEnable = 0x80000000u;
  bus::BusDevice& address_window() { return address_window_; }
  bus::BusDevice& data_window() { return data_window_; }
  void set_byte_at_offset_1(bus::BusDevice* device) { address_window_.byte_at_1 = device; }

 private:
  class AddressWindow final : public bus::BusDevice {
   public:
    explicit AddressWindow(PciRoot& root) : root(root) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    PciRoot& root;
    bus::BusDevice* byte_at_1 = nullptr;
  };
  class DataWindow final : public bus::BusDevice {
   public:
    explicit DataWindow(PciRoot& root) : root(root) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    PciRoot& root;
  };

  bus::Bus& io_;
  bus::Bus& mmio_;
  std::array<PciFunction*, kSlots * kFunctions> functions_{};
  IntxRouter router_;
  std::mutex address_mutex_;
  std::uint32_t address_ = 0;  // CONFIG_ADDRESS as last written (bits 30:24 and 1:0 read 0)
  AddressWindow address_window_{*this};
  DataWindow data_window_{*this};
};

}  // namespace pci
