#include "devices/pci/ide.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace devices {

namespace {

constexpr std::uint64_t kSector = backends::RawImage::kSectorSize;
constexpr std::uint64_t kLba28Limit = 1ull << 28;

// ATA commands (ATA/ATAPI-6 and earlier, as drivers still send them).
enum Command : std::uint8_t {
  kNop = 0x00,
  kRecalibrate = 0x10,  // 10h-1Fh
  kReadSectors = 0x20,
  kReadSectorsNoRetry = 0x21,
  kReadSectorsExt = 0x24,
  kReadDmaExt = 0x25,
  kReadMultipleExt = 0x29,
  kWriteSectors = 0x30,
  kWriteSectorsNoRetry = 0x31,
  kWriteSectorsExt = 0x34,
  kWriteDmaExt = 0x35,
  kWriteMultipleExt = 0x39,
  kReadVerify = 0x40,
  kReadVerifyNoRetry = 0x41,
  kReadVerifyExt = 0x42,
  kSeek = 0x70,
  kExecuteDiagnostic = 0x90,
  kInitializeDeviceParameters = 0x91,
  kReadMultiple = 0xc4,
  kWriteMultiple = 0xc5,
  kSetMultipleMode = 0xc6,
  kReadDma = 0xc8,
  kReadDmaNoRetry = 0xc9,
  kWriteDma = 0xca,
  kWriteDmaNoRetry = 0xcb,
  kStandbyImmediate = 0xe0,
  kIdleImmediate = 0xe1,
  kStandby = 0xe2,
  kIdle = 0xe3,
  kCheckPowerMode = 0xe5,
  kFlushCache = 0xe7,
  kFlushCacheExt = 0xea,
  kIdentifyDevice = 0xec,
  kSetFeatures = 0xef,
};

// SET FEATURES subcommands (features register).
constexpr std::uint8_t kFeatureWriteCacheOn = 0x02;
constexpr std::uint8_t kFeatureTransferMode = 0x03;
constexpr std::uint8_t kFeatureLookAheadOff = 0x55;
constexpr std::uint8_t kFeatureRevertOff = 0x66;
constexpr std::uint8_t kFeatureWriteCacheOff = 0x82;
constexpr std::uint8_t kFeatureLookAheadOn = 0xaa;
constexpr std::uint8_t kFeatureRevertOn = 0xcc;

void put_word(std::span<std::uint8_t> id, unsigned word, std::uint16_t value) {
  id[2 * word] = static_cast<std::uint8_t>(value);
  id[2 * word + 1] = static_cast<std::uint8_t>(value >> 8);
}

// ATA strings: space-padded, two characters per word, the first in the high byte.
void put_string(std::span<std::uint8_t> id, unsigned word, unsigned words, const char* text) {
  const std::size_t len = std::strlen(text);
  for (unsigned i = 0; i < 2 * words; ++i) {
    const char c = i < len ? text[i] : ' ';
    id[2 * word + (i ^ 1)] = static_cast<std::uint8_t>(c);
  }
}

bool transfer_mode_valid(std::uint8_t mode) {
  const std::uint8_t n = mode & 7;
  switch (mode & 0xf8) {
    case 0x00:  // PIO default (mode 0 or 1 with IORDY disabled)
      return n <= 1;
    case 0x08:  // PIO flow control mode n
      return n <= 4;
    case 0x20:  // multiword DMA mode n
      return n <= 2;
    case 0x40:  // Ultra DMA mode n
      return n <= 5;
    default:
      return false;
  }
}

}  // namespace

IdeChannel::IdeChannel(vmm::GuestMemory& memory, IrqLine irq, BusMasterEnabled bus_master_enabled)
    : memory_(memory), irq_(std::move(irq)), bus_master_enabled_(std::move(bus_master_enabled)) {
  set_signature();
}

IdeChannel::~IdeChannel() {
  // The I/O threads may still complete a request, which takes mutex_: stop them first,
  // without holding it.
  for (auto& drive : drives_) {
    drive.image.reset();
  }
}

void IdeChannel::attach(unsigned unit, std::unique_ptr<backends::RawImage> image) {
  std::lock_guard lock(mutex_);
  if (unit >= 2) {
    return;
  }
  drives_[unit] = Drive{};
  drives_[unit].image = std::move(image);
  default_geometry(drives_[unit]);
  bm_status_ |= unit == 0 ? kBmDrive0Dma : kBmDrive1Dma;  // what firmware leaves set
  set_signature();
  status_ = kStatusDrdy | kStatusDsc;
}

void IdeChannel::default_geometry(Drive& drive) {
  const std::uint64_t total = drive.image->sectors();
  drive.heads = 16;
  drive.sectors = 63;
  drive.cylinders = static_cast<std::uint16_t>(std::min<std::uint64_t>(total / (16 * 63), 16383));
}

bool IdeChannel::irq_level() const {
  std::lock_guard lock(mutex_);
  return irq_level_;
}

IdeChannel::Drive* IdeChannel::selected_drive() {
  Drive& d = drives_[selected()];
  return d.image ? &d : nullptr;
}

// ---- interrupts and status -------------------------------------------------------------

void IdeChannel::update_irq_line() {
  const bool level = intrq_ && (control_ & kControlNien) == 0;
  if (level != irq_level_) {
    irq_level_ = level;
    if (irq_) {
      irq_(level);
    }
  }
}

void IdeChannel::set_irq(bool pending) {
  intrq_ = pending;
  if (pending) {
    bm_status_ |= kBmInterrupt;  // the PIIX latches every rising INTRQ here
  }
  update_irq_line();
}

std::uint8_t IdeChannel::status_locked() {
  if (selected_drive() == nullptr) {
    return 0;  // the absent drive: its status reads 00h
  }
  return status_;
}

void IdeChannel::finish_ok() {
  status_ = kStatusDrdy | kStatusDsc;
  error_ = 0;
  set_irq(true);
}

void IdeChannel::abort_command(std::uint8_t error) {
  end_transfer();
  status_ = kStatusDrdy | kStatusDsc | kStatusErr;
  error_ = error;
  set_irq(true);
}

void IdeChannel::end_transfer() {
  transfer_ = Transfer::kNone;
  buffer_.clear();
  position_ = 0;
  transfer_remaining_ = 0;
  if (dma_ == DmaState::kWaitingForStart) {
    dma_ = DmaState::kNone;
  }
}

void IdeChannel::set_signature() {
  // The ATA device signature (ATA/ATAPI-6 9.12): count 01h, LBA 000001h, device 00h.
  count_ = 1;
  lba_low_ = 1;
  lba_mid_ = 0;
  lba_high_ = 0;
  hob_count_ = hob_lba_low_ = hob_lba_mid_ = hob_lba_high_ = 0;
  device_ = 0;
  error_ = 0x01;  // diagnostics passed (device 1 passed or absent)
}

void IdeChannel::reset_channel() {
  end_transfer();
  dma_ = DmaState::kNone;
  ++generation_;  // a DMA or flush in flight no longer ends anything
  intrq_ = false;
  update_irq_line();
}

// ---- register access -------------------------------------------------------------------

void IdeChannel::CommandBlock::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(channel.mutex_);
  if (channel.floating()) {
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  if (offset == kData) {
    channel.data_in(data);
    return;
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = channel.read_register(offset + i);
  }
}

void IdeChannel::CommandBlock::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(channel.mutex_);
  if (channel.floating()) {
    channel.ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (offset == kData) {
    channel.data_out(data);
    return;
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    channel.write_register(offset + i, data[i]);
  }
}

void IdeChannel::ControlBlock::read(std::uint64_t, std::span<std::uint8_t> data) {
  std::lock_guard lock(channel.mutex_);
  // Alternate status: the status without clearing the interrupt.
  const std::uint8_t v = channel.floating() ? 0xff : channel.status_locked();
  std::fill(data.begin(), data.end(), v);
}

void IdeChannel::ControlBlock::write(std::uint64_t, std::span<const std::uint8_t> data) {
  std::lock_guard lock(channel.mutex_);
  if (channel.floating()) {
    return;
  }
  channel.write_control(data[0]);
}

std::uint8_t IdeChannel::read_register(std::uint64_t offset) {
  const bool hob = (control_ & kControlHob) != 0;
  switch (offset) {
    case kErrorFeatures:
      return error_;
    case kSectorCount:
      return hob ? hob_count_ : count_;
    case kLbaLow:
      return hob ? hob_lba_low_ : lba_low_;
    case kLbaMid:
      return hob ? hob_lba_mid_ : lba_mid_;
    case kLbaHigh:
      return hob ? hob_lba_high_ : lba_high_;
    case kDevice:
      return device_;
    case kStatusCommand: {
      const std::uint8_t s = status_locked();
      if (selected_drive() != nullptr) {
        set_irq(false);  // reading the status register acknowledges the interrupt
      }
      return s;
    }
    default:
      return 0xff;
  }
}

void IdeChannel::write_register(std::uint64_t offset, std::uint8_t value) {
  if (offset == kStatusCommand) {
    if (selected_drive() == nullptr || (status_ & kStatusBsy) || (control_ & kControlSrst)) {
      ignored_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    set_irq(false);
    execute(value);
    return;
  }
  if ((status_ & kStatusBsy) && selected_drive() != nullptr) {
    ignored_.fetch_add(1, std::memory_order_relaxed);  // the task file is locked while busy
    return;
  }
  control_ &= static_cast<std::uint8_t>(~kControlHob);  // any write clears HOB
  switch (offset) {
    case kErrorFeatures:
      hob_features_ = features_;
      features_ = value;
      break;
    case kSectorCount:
      hob_count_ = count_;
      count_ = value;
      break;
    case kLbaLow:
      hob_lba_low_ = lba_low_;
      lba_low_ = value;
      break;
    case kLbaMid:
      hob_lba_mid_ = lba_mid_;
      lba_mid_ = value;
      break;
    case kLbaHigh:
      hob_lba_high_ = lba_high_;
      lba_high_ = value;
      break;
    case kDevice:
      device_ = value;
      break;
    default:
      break;
  }
}

void IdeChannel::write_control(std::uint8_t value) {
  const bool was_reset = (control_ & kControlSrst) != 0;
  control_ = value;
  if (value & kControlSrst) {
    if (!was_reset) {
      reset_channel();
    }
    status_ = kStatusBsy;
  } else if (was_reset) {
    // Reset done: the signature, device 0 selected, ready, and no interrupt (ATA-6 9.2).
    set_signature();
    status_ = kStatusDrdy | kStatusDsc;
  }
  update_irq_line();
}

// ---- PIO data --------------------------------------------------------------------------

void IdeChannel::data_in(std::span<std::uint8_t> data) {
  if (transfer_ != Transfer::kPioIn || !(status_ & kStatusDrq)) {
    std::fill(data.begin(), data.end(), 0xff);
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::size_t n = std::min(data.size(), buffer_.size() - position_);
  std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(position_), n, data.begin());
  std::fill(data.begin() + static_cast<std::ptrdiff_t>(n), data.end(), 0xff);
  position_ += n;
  if (position_ < buffer_.size()) {
    return;
  }
  // The block has been read.
  transfer_lba_ += buffer_sectors_;
  if (transfer_remaining_ > 0) {
    pio_read_block();
  } else {
    end_transfer();
    status_ = kStatusDrdy | kStatusDsc;  // no interrupt after the last block of a read
  }
}

void IdeChannel::data_out(std::span<const std::uint8_t> data) {
  if (transfer_ != Transfer::kPioOut || !(status_ & kStatusDrq)) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::size_t n = std::min(data.size(), buffer_.size() - position_);
  std::copy_n(data.begin(), n, buffer_.begin() + static_cast<std::ptrdiff_t>(position_));
  position_ += n;
  if (position_ < buffer_.size()) {
    return;
  }
  Drive& drive = drives_[selected()];
  int r = drive.image->write(transfer_lba_ * kSector, buffer_);
  if (r == 0 && !drive.write_cache) {
    r = drive.image->flush();
  }
  if (r != 0) {
    set_address(transfer_lba_, true);
    abort_command(r == -ERANGE ? kErrorIdnf : kErrorAbrt);
    return;
  }
  transfer_lba_ += buffer_sectors_;
  transfer_remaining_ -= buffer_sectors_;
  if (transfer_remaining_ == 0) {
    end_transfer();
    finish_ok();
    return;
  }
  buffer_sectors_ = std::min(transfer_block_, transfer_remaining_);
  buffer_.assign(buffer_sectors_ * kSector, 0);
  position_ = 0;
  status_ = kStatusDrdy | kStatusDsc | kStatusDrq;
  set_irq(true);  // ready for the next block
}

void IdeChannel::pio_read_block() {
  Drive& drive = drives_[selected()];
  buffer_sectors_ = std::min(transfer_block_, transfer_remaining_);
  buffer_.assign(buffer_sectors_ * kSector, 0);
  position_ = 0;
  const int r = drive.image->read(transfer_lba_ * kSector, buffer_);
  if (r != 0) {
    set_address(transfer_lba_, true);
    abort_command(r == -ERANGE ? kErrorIdnf : kErrorUnc);
    return;
  }
  transfer_remaining_ -= buffer_sectors_;
  status_ = kStatusDrdy | kStatusDsc | kStatusDrq;
  set_irq(true);
}

// ---- commands --------------------------------------------------------------------------

std::optional<IdeChannel::Request> IdeChannel::decode_request(bool lba48,
                                                              const Drive& drive) const {
  Request r{};
  if (lba48) {
    r.lba = static_cast<std::uint64_t>(hob_lba_high_) << 40 |
            static_cast<std::uint64_t>(hob_lba_mid_) << 32 |
            static_cast<std::uint64_t>(hob_lba_low_) << 24 |
            static_cast<std::uint64_t>(lba_high_) << 16 | lba_mid_ << 8 | lba_low_;
    r.count = static_cast<std::uint32_t>(hob_count_) << 8 | count_;
    if (r.count == 0) {
      r.count = 65536;
    }
  } else {
    r.count = count_ == 0 ? 256 : count_;
    if (device_ & kDeviceLba) {
      r.lba = static_cast<std::uint64_t>(device_ & 0x0f) << 24 | lba_high_ << 16 | lba_mid_ << 8 |
              lba_low_;
    } else {
      const unsigned cylinder = static_cast<unsigned>(lba_high_) << 8 | lba_mid_;
      const unsigned head = device_ & 0x0f;
      const unsigned sector = lba_low_;
      if (drive.sectors == 0 || sector == 0 || sector > drive.sectors || head >= drive.heads ||
          cylinder >= drive.cylinders) {
        return std::nullopt;
      }
      r.lba = (static_cast<std::uint64_t>(cylinder) * drive.heads + head) * drive.sectors +
              (sector - 1);
    }
    if (r.lba + r.count > kLba28Limit) {
      return std::nullopt;
    }
  }
  if (r.lba > drive.image->sectors() || r.count > drive.image->sectors() - r.lba) {
    return std::nullopt;
  }
  return r;
}

void IdeChannel::set_address(std::uint64_t lba, bool lba48) {
  lba_low_ = static_cast<std::uint8_t>(lba);
  lba_mid_ = static_cast<std::uint8_t>(lba >> 8);
  lba_high_ = static_cast<std::uint8_t>(lba >> 16);
  if (lba48) {
    hob_lba_low_ = static_cast<std::uint8_t>(lba >> 24);
    hob_lba_mid_ = static_cast<std::uint8_t>(lba >> 32);
    hob_lba_high_ = static_cast<std::uint8_t>(lba >> 40);
  } else {
    device_ = static_cast<std::uint8_t>((device_ & 0xf0) | ((lba >> 24) & 0x0f));
  }
}

void IdeChannel::start_pio(bool lba48, unsigned block, Transfer direction) {
  Drive& drive = drives_[selected()];
  auto request = decode_request(lba48, drive);
  if (!request) {
    abort_command(kErrorIdnf);
    return;
  }
  transfer_ = direction;
  transfer_lba_ = request->lba;
  transfer_remaining_ = request->count;
  transfer_block_ = block;
  if (direction == Transfer::kPioIn) {
    pio_read_block();
    return;
  }
  // Writes: DRQ at once for the first block, no interrupt (ATA-6 9.8, PIO data-out).
  buffer_sectors_ = std::min(transfer_block_, transfer_remaining_);
  buffer_.assign(buffer_sectors_ * kSector, 0);
  position_ = 0;
  status_ = kStatusDrdy | kStatusDsc | kStatusDrq;
}

void IdeChannel::execute(std::uint8_t command) {
  Drive& drive = drives_[selected()];
  end_transfer();
  error_ = 0;
  const bool multiple_ok = drive.multiple != 0;
  switch (command) {
    case kIdentifyDevice:
      identify(drive, selected());
      return;
    case kReadSectors:
    case kReadSectorsNoRetry:
      start_pio(false, 1, Transfer::kPioIn);
      return;
    case kReadSectorsExt:
      start_pio(true, 1, Transfer::kPioIn);
      return;
    case kWriteSectors:
    case kWriteSectorsNoRetry:
      start_pio(false, 1, Transfer::kPioOut);
      return;
    case kWriteSectorsExt:
      start_pio(true, 1, Transfer::kPioOut);
      return;
    case kReadMultiple:
    case kReadMultipleExt:
    case kWriteMultiple:
    case kWriteMultipleExt:
      if (!multiple_ok) {
        abort_command();  // multiple mode is off
        return;
      }
      start_pio(command == kReadMultipleExt || command == kWriteMultipleExt, drive.multiple,
                command == kReadMultiple || command == kReadMultipleExt ? Transfer::kPioIn
                                                                        : Transfer::kPioOut);
      return;
    case kReadDma:
    case kReadDmaNoRetry:
      start_dma(false, true);
      return;
    case kReadDmaExt:
      start_dma(true, true);
      return;
    case kWriteDma:
    case kWriteDmaNoRetry:
      start_dma(false, false);
      return;
    case kWriteDmaExt:
      start_dma(true, false);
      return;
    case kSetMultipleMode:
      if (count_ == 0) {
        drive.multiple = 0;
      } else if (count_ > kMaxMultiple || (count_ & (count_ - 1)) != 0) {
        abort_command();
        return;
      } else {
        drive.multiple = count_;
      }
      finish_ok();
      return;
    case kReadVerify:
    case kReadVerifyNoRetry:
    case kReadVerifyExt:
    case kSeek:
      if (!decode_request(command == kReadVerifyExt, drive)) {
        abort_command(kErrorIdnf);
        return;
      }
      finish_ok();
      return;
    case kSetFeatures:
      switch (features_) {
        case kFeatureTransferMode:
          if (!transfer_mode_valid(count_)) {
            abort_command();
            return;
          }
          drive.transfer_mode = count_;
          break;
        case kFeatureWriteCacheOn:
          drive.write_cache = true;
          break;
        case kFeatureWriteCacheOff:
          drive.write_cache = false;
          if (drive.image->flush() != 0) {
            abort_command();
            return;
          }
          break;
        case kFeatureLookAheadOn:
          drive.look_ahead = true;
          break;
        case kFeatureLookAheadOff:
          drive.look_ahead = false;
          break;
        case kFeatureRevertOn:
        case kFeatureRevertOff:
          break;
        default:
          abort_command();
          return;
      }
      finish_ok();
      return;
    case kFlushCache:
    case kFlushCacheExt:
      flush_command();
      return;
    case kInitializeDeviceParameters: {
      const unsigned heads = (device_ & 0x0f) + 1u;
      if (count_ == 0) {
        abort_command();
        return;
      }
      drive.heads = static_cast<std::uint16_t>(heads);
      drive.sectors = count_;
      drive.cylinders = static_cast<std::uint16_t>(
          std::min<std::uint64_t>(drive.image->sectors() / (heads * count_), 65535));
      finish_ok();
      return;
    }
    case kExecuteDiagnostic:
      set_signature();
      status_ = kStatusDrdy | kStatusDsc;
      set_irq(true);
      return;
    case kCheckPowerMode:
      count_ = 0xff;  // active or idle
      finish_ok();
      return;
    case kStandbyImmediate:
    case kIdleImmediate:
    case kStandby:
    case kIdle:
      finish_ok();
      return;
    default:
      if (command >= kRecalibrate && command <= kRecalibrate + 0x0f) {
        finish_ok();
        return;
      }
      abort_command();  // NOP, IDENTIFY PACKET DEVICE, and everything not listed
      return;
  }
}

void IdeChannel::identify(const Drive& drive, unsigned unit) {
  std::vector<std::uint8_t> id(512, 0);
  const std::uint64_t total = drive.image->sectors();
  const std::uint16_t cylinders =
      static_cast<std::uint16_t>(std::min<std::uint64_t>(total / (16 * 63), 16383));
  put_word(id, 0, 0x0040);  // fixed device, not removable
  put_word(id, 1, cylinders);
  put_word(id, 3, 16);
  put_word(id, 6, 63);
  char serial[21];
  std::snprintf(serial, sizeof(serial), "KVMRUN%04X%u", static_cast<unsigned>(total & 0xffff),
                unit);
  put_string(id, 10, 10, serial);
  put_string(id, 23, 4, "0.5");
  put_string(id, 27, 20, "kvm-run HARDDISK");
  put_word(id, 47, 0x8000 | kMaxMultiple);
  put_word(id, 49, (1u << 11) | (1u << 9) | (1u << 8));  // IORDY, LBA, DMA
  put_word(id, 50, 0x4000);
  put_word(id, 51, 0x0200);  // PIO timing mode 2
  put_word(id, 53, 0x0007);  // words 54-58, 64-70 and 88 are valid
  const std::uint64_t chs_capacity =
      static_cast<std::uint64_t>(drive.cylinders) * drive.heads * drive.sectors;
  put_word(id, 54, drive.cylinders);
  put_word(id, 55, drive.heads);
  put_word(id, 56, drive.sectors);
  put_word(id, 57, static_cast<std::uint16_t>(chs_capacity));
  put_word(id, 58, static_cast<std::uint16_t>(chs_capacity >> 16));
  put_word(id, 59, drive.multiple != 0 ? 0x0100 | drive.multiple : 0);
  const std::uint64_t lba28 = std::min<std::uint64_t>(total, kLba28Limit - 1);
  put_word(id, 60, static_cast<std::uint16_t>(lba28));
  put_word(id, 61, static_cast<std::uint16_t>(lba28 >> 16));
  const std::uint8_t mode = drive.transfer_mode;
  put_word(id, 63, 0x0007 | ((mode & 0xf8) == 0x20 ? 0x100 << (mode & 7) : 0));
  put_word(id, 64, 0x0003);  // PIO modes 3 and 4
  for (unsigned w = 65; w <= 68; ++w) {
    put_word(id, w, 120);  // cycle times in ns
  }
  put_word(id, 80, 0x007e);                                             // ATA-1 to ATA-6
  put_word(id, 82, (1u << 14) | (1u << 6) | (1u << 5) | (1u << 3));     // NOP, look-ahead, WC, PM
  put_word(id, 83, (1u << 14) | (1u << 13) | (1u << 12) | (1u << 10));  // FLUSH (EXT), LBA48
  put_word(id, 84, 1u << 14);
  put_word(id, 85,
           (1u << 14) | (drive.look_ahead ? 1u << 6 : 0) | (drive.write_cache ? 1u << 5 : 0) |
               (1u << 3));
  put_word(id, 86, (1u << 13) | (1u << 12) | (1u << 10));
  put_word(id, 87, 1u << 14);
  put_word(id, 88, 0x003f | ((mode & 0xf8) == 0x40 ? 0x100 << (mode & 7) : 0));
  put_word(id, 93, unit == 0 ? 0x6001 | (drives_[1].image ? 0x0008 : 0) : 0x6100);
  for (unsigned i = 0; i < 4; ++i) {
    put_word(id, 100 + i, static_cast<std::uint16_t>(total >> (16 * i)));
  }
  // Integrity word: signature A5h and a checksum that makes the 512 bytes sum to 0.
  id[510] = 0xa5;
  std::uint8_t sum = 0;
  for (unsigned i = 0; i < 511; ++i) {
    sum = static_cast<std::uint8_t>(sum + id[i]);
  }
  id[511] = static_cast<std::uint8_t>(-sum);

  transfer_ = Transfer::kPioIn;
  buffer_ = std::move(id);
  position_ = 0;
  buffer_sectors_ = 0;
  transfer_remaining_ = 0;
  status_ = kStatusDrdy | kStatusDsc | kStatusDrq;
  set_irq(true);
}

// ---- DMA -------------------------------------------------------------------------------

void IdeChannel::start_dma(bool lba48, bool to_memory) {
  Drive& drive = drives_[selected()];
  auto request = decode_request(lba48, drive);
  if (!request) {
    abort_command(kErrorIdnf);
    return;
  }
  dma_request_ = *request;
  dma_to_memory_ = to_memory;
  dma_ = DmaState::kWaitingForStart;
  status_ = kStatusDrdy | kStatusDsc | kStatusBsy;
  maybe_run_dma();
}

void IdeChannel::dma_failed(std::uint8_t drive_error) {
  dma_ = DmaState::kNone;
  bm_status_ = static_cast<std::uint8_t>((bm_status_ & ~kBmActive) | kBmError);
  abort_command(drive_error);
}

void IdeChannel::maybe_run_dma() {
  if (dma_ != DmaState::kWaitingForStart || !(bm_command_ & kBmStart)) {
    return;
  }
  if (bus_master_enabled_ && !bus_master_enabled_()) {
    dma_failed(kErrorAbrt);  // the function may not master the PCI bus
    return;
  }
  if (((bm_command_ & kBmToMemory) != 0) != dma_to_memory_) {
    dma_failed(kErrorAbrt);  // the bus master was set up for the other direction
    return;
  }
  // Walk the PRD table and check every buffer against guest RAM before any data moves.
  const std::uint64_t need = static_cast<std::uint64_t>(dma_request_.count) * kSector;
  std::uint64_t have = 0;
  bool table_exhausted = false;
  std::vector<iovec> iov;
  for (unsigned i = 0; have < need; ++i) {
    std::uint8_t entry[8];
    if (i == kMaxPrdEntries ||
        !memory_.read(static_cast<std::uint64_t>(bm_prd_table_) + 8ull * i, entry)) {
      dma_failed(kErrorAbrt);
      return;
    }
    const std::uint32_t address =
        (entry[0] | entry[1] << 8 | entry[2] << 16 | static_cast<std::uint32_t>(entry[3]) << 24) &
        ~1u;
    std::uint32_t length = (entry[4] | entry[5] << 8) & 0xfffe;
    if (length == 0) {
      length = 0x10000;
    }
    const bool end_of_table = (entry[7] & 0x80) != 0;
    const std::uint64_t take = std::min<std::uint64_t>(length, need - have);
    std::uint8_t* host = memory_.host_pointer(address, take);
    if (host == nullptr) {
      dma_failed(kErrorAbrt);  // a buffer outside guest RAM
      return;
    }
    iov.push_back(iovec{host, static_cast<std::size_t>(take)});
    have += take;
    if (end_of_table) {
      if (have < need) {
        dma_failed(kErrorAbrt);  // the table ends before the transfer does
        return;
      }
      table_exhausted = take == length;
      break;
    }
  }
  dma_ = DmaState::kInFlight;
  bm_status_ |= kBmActive;
  Drive& drive = drives_[selected()];
  const std::uint64_t generation = generation_;
  const bool flush_after = !dma_to_memory_ && !drive.write_cache;
  backends::RawImage* image = drive.image.get();
  image->submit(dma_to_memory_ ? backends::BlockOp::kRead : backends::BlockOp::kWrite,
                dma_request_.lba * kSector, std::move(iov),
                [this, generation, table_exhausted, flush_after, image](int result) {
                  if (result == 0 && flush_after) {
                    result = image->flush();  // write cache off: durable before completion
                  }
                  dma_complete(generation, result, table_exhausted);
                });
}

void IdeChannel::dma_complete(std::uint64_t generation, int result, bool table_exhausted) {
  std::lock_guard lock(mutex_);
  if (generation != generation_ || dma_ != DmaState::kInFlight) {
    return;  // reset while in flight
  }
  dma_ = DmaState::kNone;
  if (table_exhausted) {
    bm_status_ &= static_cast<std::uint8_t>(~kBmActive);
  }
  if (result != 0) {
    set_address(dma_request_.lba, true);
    bm_status_ &= static_cast<std::uint8_t>(~kBmActive);
    abort_command(result == -ERANGE ? kErrorIdnf : dma_to_memory_ ? kErrorUnc : kErrorAbrt);
    return;
  }
  finish_ok();
}

void IdeChannel::bus_master_read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t off = offset + i;
    std::uint8_t v = 0;
    switch (off) {
      case kBmCommand:
        v = bm_command_ & (kBmStart | kBmToMemory);
        break;
      case kBmStatus:
        v = bm_status_;
        break;
      case kBmPrdTable:
      case kBmPrdTable + 1:
      case kBmPrdTable + 2:
      case kBmPrdTable + 3:
        v = static_cast<std::uint8_t>(bm_prd_table_ >> (8 * (off - kBmPrdTable)));
        break;
      default:
        v = 0;
        break;
    }
    data[i] = v;
  }
}

void IdeChannel::bus_master_write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t off = offset + i;
    const std::uint8_t v = data[i];
    switch (off) {
      case kBmCommand: {
        const bool was_started = (bm_command_ & kBmStart) != 0;
        bm_command_ = v & (kBmStart | kBmToMemory);
        if ((v & kBmStart) && !was_started) {
          bm_status_ |= kBmActive;
          maybe_run_dma();
        } else if (!(v & kBmStart) && was_started) {
          bm_status_ &= static_cast<std::uint8_t>(~kBmActive);  // stop: the engine halts
        }
        break;
      }
      case kBmStatus:
        // Interrupt and error are write-one-to-clear; the drive DMA-capable bits hold.
        bm_status_ = static_cast<std::uint8_t>((bm_status_ & ~(kBmDrive0Dma | kBmDrive1Dma)) |
                                               (v & (kBmDrive0Dma | kBmDrive1Dma)));
        bm_status_ &= static_cast<std::uint8_t>(~(v & (kBmInterrupt | kBmError)));
        break;
      case kBmPrdTable:
      case kBmPrdTable + 1:
      case kBmPrdTable + 2:
      case kBmPrdTable + 3: {
        const unsigned shift = static_cast<unsigned>(8 * (off - kBmPrdTable));
        bm_prd_table_ = (bm_prd_table_ & ~(0xffu << shift)) | static_cast<std::uint32_t>(v)
                                                                  << shift;
        bm_prd_table_ &= ~3u;  // dword aligned
        break;
      }
      default:
        break;
    }
  }
}

// ---- flush -----------------------------------------------------------------------------

void IdeChannel::flush_command() {
  Drive& drive = drives_[selected()];
  status_ = kStatusDrdy | kStatusDsc | kStatusBsy;
  const std::uint64_t generation = generation_;
  drive.image->submit(backends::BlockOp::kFlush, 0, {},
                      [this, generation](int result) { flush_complete(generation, result); });
}

void IdeChannel::flush_complete(std::uint64_t generation, int result) {
  std::lock_guard lock(mutex_);
  if (generation != generation_) {
    return;
  }
  if (result != 0) {
    abort_command();
    return;
  }
  finish_ok();
}

}  // namespace devices
