#!/bin/sh
# For scenarios/ide-bench.sh: sequential read throughput of the IDE disk
# (/dev/sda through ata_piix, under kvm-run or QEMU), page cache dropped:
# prints "L2-IDE-READ-KIB-S <KiB/s> <bytes> <centiseconds>".
. /l2/ide-lib.sh
ide_load_drivers
[ -b /dev/sda ] || { echo "L2-IDE-NO-DISK"; exit 1; }
cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
bytes=$(($(cat /sys/block/sda/size) * 512))
sync
echo 3 >/proc/sys/vm/drop_caches
t0=$(cs)
dd if=/dev/sda of=/dev/null bs=1M 2>/dev/null
t1=$(cs)
d=$((t1 - t0))
[ $d -gt 0 ] || d=1
echo "L2-IDE-READ-KIB-S $((bytes / 1024 * 100 / d)) $bytes $d"
echo "L2-IDE-MODE $(cat /sys/class/ata_device/dev1.0/xfer_mode 2>/dev/null)"
