#include "machine/firmware.h"

#include <algorithm>
#include <cstring>

#include "machine/layout.h"

namespace machine {

namespace {

constexpr std::uint32_t kSegmentSize = 16 * 1024;
constexpr std::uint32_t kTopSegmentBase = 0xf0000;
constexpr std::uint32_t kTopSegmentSize = 64 * 1024;

void put_le(std::vector<std::uint8_t>& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
}

}  // namespace

vmm::Result<RomLayout, std::string> rom_layout(std::uint64_t rom_size) {
  if (rom_size < kRomMinSize || rom_size > kRomMaxSize || rom_size % kRomMinSize) {
    return std::string("a BIOS image must be 64 KiB, 128 KiB, 192 KiB or 256 KiB, not " +
                       std::to_string(rom_size) + " bytes");
  }
  RomLayout l;
  l.size = rom_size;
  l.high_base = layout::kBiosRomEnd - rom_size;
  l.alias_size = std::min(rom_size, kRomLowAliasMax);
  l.alias_base = kPamWindowEnd - l.alias_size;
  l.alias_offset = rom_size - l.alias_size;
  return l;
}

std::vector<PamSegmentState> pam_reset_state() {
  std::vector<PamSegmentState> segments;
  for (std::uint32_t base = kPamWindowStart; base < kTopSegmentBase; base += kSegmentSize) {
    segments.push_back({base, kSegmentSize, false, false});
  }
  segments.push_back({kTopSegmentBase, kTopSegmentSize, false, false});
  return segments;
}

PamMapping pam_mapping(const PamSegmentState& s, const RomLayout& rom) {
  if (s.read_dram) {
    // Writes without WE exit as MMIO on the read-only slot and are dropped there.
    return {PamBacking::kRam, 0, !s.write_dram};
  }
  if (s.base >= rom.alias_base && s.base + s.size <= kPamWindowEnd) {
    return {PamBacking::kRom, rom.alias_offset + (s.base - rom.alias_base), true};
  }
  return {};
}

std::vector<std::uint8_t> firmware_e820_file(const RamLayout& l) {
  std::vector<std::uint8_t> out;
  auto entry = [&](std::uint64_t addr, std::uint64_t size, E820Type type) {
    put_le(out, addr, 8);
    put_le(out, size, 8);
    put_le(out, static_cast<std::uint32_t>(type), 4);
  };
  entry(0, l.below_4g, E820Type::kRam);
  if (l.above_4g) {
    entry(layout::kHighRamStart, l.above_4g, E820Type::kRam);
  }
  entry(layout::kKvmReservedStart, layout::kKvmReservedSize, E820Type::kReserved);
  return out;
}

PamMemory::PamMemory(std::uint8_t* ram, std::span<const std::uint8_t> rom, const RomLayout& layout,
                     std::uint32_t first_slot, SetSlot set_slot)
    : ram_(ram),
      rom_(rom),
      layout_(layout),
      first_slot_(first_slot),
      set_slot_(std::move(set_slot)),
      segments_(pam_reset_state()),
      mapped_(segments_.size()) {}

bool PamMemory::update(std::span<const PamSegmentState> segments) {
  std::lock_guard lock(mutex_);
  bool ok = true;
  for (std::size_t i = 0; i < segments_.size() && i < segments.size(); ++i) {
    const PamSegmentState& s = segments[i];
    if (s.base != segments_[i].base || s.size != segments_[i].size) {
      ok = false;  // not the 13 segments this window has; ignore
      continue;
    }
    segments_[i] = s;
    const PamMapping want = pam_mapping(s, layout_);
    if (want == mapped_[i]) {
      continue;
    }
    const std::uint32_t slot = first_slot_ + static_cast<std::uint32_t>(i);
    // KVM cannot change a slot's READONLY flag or host address in place: delete, then add.
    if (mapped_[i].backing != PamBacking::kNone) {
      if (!set_slot_(slot, s.base, 0, nullptr, false)) {
        ok = false;
        continue;  // still mapped as before; the state says otherwise, exits see the new one
      }
      mapped_[i] = {};
    }
    if (want.backing == PamBacking::kNone) {
      continue;
    }
    std::uint8_t* host = want.backing == PamBacking::kRam
                             ? ram_ + s.base
                             : const_cast<std::uint8_t*>(rom_.data()) + want.rom_offset;
    if (!set_slot_(slot, s.base, s.size, host, want.read_only)) {
      ok = false;
      continue;
    }
    mapped_[i] = want;
  }
  return ok;
}

std::size_t PamMemory::segment_of(std::uint64_t gpa) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (gpa >= segments_[i].base && gpa < segments_[i].base + segments_[i].size) {
      return i;
    }
  }
  return segments_.size();
}

void PamMemory::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t k = 0; k < data.size(); ++k) {
    const std::uint64_t gpa = kPamWindowStart + offset + k;
    const std::size_t i = segment_of(gpa);
    if (i == segments_.size()) {
      data[k] = 0xff;
    } else if (segments_[i].read_dram) {
      data[k] = ram_[gpa];
    } else if (gpa >= layout_.alias_base) {
      data[k] = rom_[layout_.alias_offset + (gpa - layout_.alias_base)];
    } else {
      data[k] = 0xff;
    }
  }
}

void PamMemory::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t k = 0; k < data.size(); ++k) {
    const std::uint64_t gpa = kPamWindowStart + offset + k;
    const std::size_t i = segment_of(gpa);
    if (i != segments_.size() && segments_[i].write_dram) {
      ram_[gpa] = data[k];
    } else {
      dropped_writes_.fetch_add(1);
    }
  }
}

void RomWindow::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  for (std::size_t k = 0; k < data.size(); ++k) {
    data[k] = offset + k < rom_.size() ? rom_[offset + k] : 0xff;
  }
}

void RomWindow::write(std::uint64_t, std::span<const std::uint8_t>) {
  dropped_writes_.fetch_add(1);
}

}  // namespace machine
