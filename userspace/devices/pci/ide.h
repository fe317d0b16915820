// One IDE (parallel ATA) channel: the task file that two drives share, up to two ATA hard
// disks behind it, and the channel's half of an SFF-8038i bus-master DMA engine, as the
// PIIX3's IDE function has it (devices/pci/piix_ide.h places the channels).  Facts from
// ATA/ATAPI-6 (T13 1410D) and the SFF-8038i bus-master programming interface.
//
// Models: the command block (8 ports: data, error/features, sector count, LBA low/mid/high,
//   device, status/command), the control block (1 port: alternate status / device control)
//   and the bus-master registers (command, status, PRD table address).
// Works:
// - ATA commands: IDENTIFY DEVICE; READ/WRITE SECTORS, READ/WRITE MULTIPLE and their EXT
//   (LBA48) forms by PIO; READ/WRITE DMA and their EXT forms by bus-master DMA; SET MULTIPLE
//   MODE (1-16, a power of two; 0 turns it off); SET FEATURES (transfer mode, write cache on/off,
//   read look-ahead on/off, revert to defaults); FLUSH CACHE and FLUSH CACHE EXT (an fdatasync
//   of the image); INITIALIZE DEVICE PARAMETERS (the CHS translation); READ VERIFY SECTORS (and
//   EXT); SEEK; EXECUTE DEVICE DIAGNOSTIC; the power commands a driver sends (IDLE/STANDBY
//   (IMMEDIATE), CHECK POWER MODE: always active).  Anything else, IDENTIFY PACKET DEVICE
//   included (these are ATA disks, not ATAPI devices), is aborted (ERR, ABRT).
// - Addressing by LBA28, LBA48 or CHS (through the current translation); a request that goes
//   past the end of the disk fails with IDNF before any data moves; a sector count of 0 means
//   256 (65536 for EXT commands).  HOB in the device control register reads the previous
//   contents of the LBA48 register pairs.
// - Status and interrupts: BSY while a command runs, DRQ while PIO data is expected, DRDY|DSC
//   when idle, ERR with the error register on failure.  INTRQ rises when a PIO block is ready
//   (read), after each block written, at the end of a non-data or DMA command and on errors;
//   reading the status register or writing a command clears it; nIEN masks the line.  SRST
//   resets both drives (BSY while set; then the ATA signature, error 01h, master selected), and
//   cancels a DMA in flight (its data may still land in RAM, as on hardware; its completion no
//   longer changes the channel).
// - Drive presence: a channel without drives floats (every register reads FFh); with one
//   drive, the absent one reads status 00h when selected and ignores commands, which is how
//   drivers (Linux libata, SeaBIOS) tell that it is not there.
// - DMA: the command and the bus master's start bit may come in either order; the PRD table
//   (8-byte entries, bit 15 of the count word ends it, a count of 0 means 64 KiB) is read from
//   guest RAM and every buffer is checked to lie inside guest RAM.  The transfer goes through
//   the image's I/O thread (libaio); the completion, on that thread, ends the command and raises
//   the interrupt.  A PRD table that leaves RAM, points outside RAM, is shorter than the
//   transfer or longer than 8192 entries, a direction bit that contradicts the command, or bus
//   mastering disabled in the PCI command register: the bus master reports an error (status
//   bit 1) and the drive aborts the command, with an interrupt.  A table longer than the
//   transfer leaves the active bit set, as SFF-8038i says.
// - PIO transfers read and write the image synchronously on the vCPU thread (the guest waits on
//   DRQ anyway); DMA never blocks the vCPU.
// Missing: ATAPI devices, the security/SMART/HPA/power-management feature sets (IDENTIFY does
//   not claim them), queued/NCQ commands, 32-bit PIO timing registers' effects, DMA from MMIO.
//
// Legend (locking): mutex_ guards all channel state (task file, transfer, bus master).  The
//   vCPU threads take it for each port access, an image's I/O thread for a DMA or flush
//   completion.  The IRQ callback is called with it held (it must not call back into the
//   channel).  Images are attached before the guest runs; the destructor stops their I/O
//   threads (letting requests in flight complete) before anything else goes away.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "backends/block.h"
#include "bus/bus.h"
#include "vmm/guest_memory.h"

namespace devices {

class IdeChannel {
 public:
  using IrqLine = std::function<void(bool level)>;
  using BusMasterEnabled = std::function<bool()>;

  // Command block register offsets.
  static constexpr std::uint64_t kData = 0;
  static constexpr std::uint64_t kErrorFeatures = 1;
  static constexpr std::uint64_t kSectorCount = 2;
  static constexpr std::uint64_t kLbaLow = 3;
  static constexpr std::uint64_t kLbaMid = 4;
  static constexpr std::uint64_t kLbaHigh = 5;
  static constexpr std::uint64_t kDevice = 6;
  static constexpr std::uint64_t kStatusCommand = 7;
  static constexpr std::uint64_t kCommandBlockSize = 8;
  static constexpr std::uint64_t kControlBlockSize = 1;
  // Bus-master register offsets (within the channel's 8 bytes of BAR4).
  static constexpr std::uint64_t kBmCommand = 0;
  static constexpr std::uint64_t kBmStatus = 2;
  static constexpr std::uint64_t kBmPrdTable = 4;
  static constexpr std::uint64_t kBusMasterSize = 8;

  static constexpr std::uint8_t kStatusErr = 0x01;
  static constexpr std::uint8_t kStatusDrq = 0x08;
  static constexpr std::uint8_t kStatusDsc = 0x10;
  static constexpr std::uint8_t kStatusDf = 0x20;
  static constexpr std::uint8_t kStatusDrdy = 0x40;
  static constexpr std::uint8_t kStatusBsy = 0x80;
  static constexpr std::uint8_t kErrorAbrt = 0x04;
  static constexpr std::uint8_t kErrorIdnf = 0x10;
  static constexpr std::uint8_t kErrorUnc = 0x40;
  static constexpr std::uint8_t kControlNien = 0x02;
  static constexpr std::uint8_t kControlSrst = 0x04;
  static constexpr std::uint8_t kControlHob = 0x80;
  static constexpr std::uint8_t kDeviceLba = 0x40;
  static constexpr std::uint8_t kDeviceDev1 = 0x10;
  static constexpr std::uint8_t kBmStart = 0x01;
  static constexpr std::uint8_t kBmToMemory = 0x08;  // bus master writes RAM (a device read)
  static constexpr std::uint8_t kBmActive = 0x01;
  static constexpr std::uint8_t kBmError = 0x02;
  static constexpr std::uint8_t kBmInterrupt = 0x04;
  static constexpr std::uint8_t kBmDrive0Dma = 0x20;
  static constexpr std::uint8_t kBmDrive1Dma = 0x40;
  static constexpr unsigned kMaxMultiple = 16;
  static constexpr unsigned kMaxPrdEntries = 8192;  // a 64 KiB table

  IdeChannel(vmm::GuestMemory& memory, IrqLine irq, BusMasterEnabled bus_master_enabled);
  ~IdeChannel();
  IdeChannel(const IdeChannel&) = delete;
  IdeChannel& operator=(const IdeChannel&) = delete;

  // Puts a disk behind unit 0 (master) or 1 (slave); before the guest runs.
  void attach(unsigned unit, std::unique_ptr<backends::RawImage> image);
  bool has_drive(unsigned unit) const { return unit < 2 && drives_[unit].image != nullptr; }

  bus::BusDevice& command_block() { return command_block_; }
  bus::BusDevice& control_block() { return control_block_; }
  void bus_master_read(std::uint64_t offset, std::span<std::uint8_t> data);
  void bus_master_write(std::uint64_t offset, std::span<const std::uint8_t> data);

  // The interrupt output as last driven.
  bool irq_level() const;
  // Data-port accesses without a transfer and other ignored guest accesses.
  std::uint64_t ignored_accesses() const { return ignored_.load(); }

 private:
  struct Drive {
    std::unique_ptr<backends::RawImage> image;
    std::uint8_t multiple = 0;  // sectors per DRQ block of READ/WRITE MULTIPLE; 0: off
    std::uint16_t cylinders = 0, heads = 0, sectors = 0;  // current CHS translation
    std::uint8_t transfer_mode = 0;                       // SET FEATURES 03h value (0: default PIO)
    bool write_cache = true;
    bool look_ahead = true;
  };
  enum class Transfer { kNone, kPioIn, kPioOut };
  enum class DmaState { kNone, kWaitingForStart, kInFlight };
  struct Request {  // an addressed command, decoded
    std::uint64_t lba;
    std::uint32_t count;
  };

  class CommandBlock final : public bus::BusDevice {
   public:
    explicit CommandBlock(IdeChannel& c) : channel(c) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    IdeChannel& channel;
  };
  class ControlBlock final : public bus::BusDevice {
   public:
    explicit ControlBlock(IdeChannel& c) : channel(c) {}
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    IdeChannel& channel;
  };

  // All with mutex_ held.
  unsigned selected() const { return (device_ & kDeviceDev1) ? 1 : 0; }
  Drive* selected_drive();
  bool floating() const { return !drives_[0].image && !drives_[1].image; }
  std::uint8_t status_locked();
  std::uint8_t read_register(std::uint64_t offset);
  void write_register(std::uint64_t offset, std::uint8_t value);
  void write_control(std::uint8_t value);
  void data_in(std::span<std::uint8_t> data);
  void data_out(std::span<const std::uint8_t> data);
  void execute(std::uint8_t command);
  void set_irq(bool pending);
  void update_irq_line();
  void finish_ok();  // DRDY|DSC and an interrupt
  void abort_command(std::uint8_t error = kErrorAbrt);
  void end_transfer();
  void reset_channel();
  void set_signature();
  std::optional<Request> decode_request(bool lba48, const Drive& drive) const;
  void set_address(std::uint64_t lba, bool lba48);
  void identify(const Drive& drive, unsigned unit);
  void start_pio(bool lba48, unsigned block, Transfer direction);
  void pio_read_block();
  void start_dma(bool lba48, bool to_memory);
  void maybe_run_dma();
  void dma_failed(std::uint8_t drive_error);
  void dma_complete(std::uint64_t generation, int result, bool table_exhausted);
  void flush_command();
  void flush_complete(std::uint64_t generation, int result);
  static void default_geometry(Drive& drive);

  vmm::GuestMemory& memory_;
  IrqLine irq_;
  BusMasterEnabled bus_master_enabled_;
  CommandBlock command_block_{*this};
  ControlBlock control_block_{*this};
  std::atomic<std::uint64_t> ignored_{0};

  mutable std::mutex mutex_;
  std::array<Drive, 2> drives_;
  // Task file: current and previous ("HOB") value of each register pair.
  std::uint8_t features_ = 0, hob_features_ = 0;
  std::uint8_t count_ = 0, hob_count_ = 0;
  std::uint8_t lba_low_ = 0, hob_lba_low_ = 0;
  std::uint8_t lba_mid_ = 0, hob_lba_mid_ = 0;
  std::uint8_t lba_high_ = 0, hob_lba_high_ = 0;
  std::uint8_t device_ = 0;
  std::uint8_t control_ = 0;
  std::uint8_t status_ = 0;
  std::uint8_t error_ = 0;
  bool intrq_ = false;
  bool irq_level_ = false;
  // The PIO transfer in progress.
  Transfer transfer_ = Transfer::kNone;
  std::vector<std::uint8_t> buffer_;
  std::size_t position_ = 0;
  std::uint64_t transfer_lba_ = 0;
  std::uint32_t transfer_remaining_ = 0;  // sectors not yet in or out of buffer_
  std::uint32_t transfer_block_ = 0;      // sectors per DRQ block
  std::uint32_t buffer_sectors_ = 0;      // sectors in buffer_ (0: IDENTIFY data)
  // The DMA command in progress.
  DmaState dma_ = DmaState::kNone;
  bool dma_to_memory_ = false;
  Request dma_request_{};
  std::uint64_t generation_ = 0;  // bumped by SRST; stale completions are dropped
  // Bus master.
  std::uint8_t bm_command_ = 0;
  std::uint8_t bm_status_ = 0;
  std::uint32_t bm_prd_table_ = 0;
};

}  // namespace devices
