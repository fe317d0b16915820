#!/bin/sh
# For scenarios/ide-bench.sh: sequential read throughput of the IDE disk
# (/dev/sda through ata_piix, under kvm-run or QEMU), page cache dropped:
# prints "L2-IDE-READ-KIB-S <KiB/s> <bytes> <centiseconds>".
# insmod does not look at the kernel command line as modprobe does: hand each module
# its MODULE.PARAM=VALUE words (libata.dma=0) ourselves.
for m in $(cat /lib/modules/l2/order); do
	args=
	for w in $(cat /proc/cmdline); do
		case "$w" in "$m".*=*) args="$args ${w#$m.}" ;; esac
	done
	insmod /lib/modules/l2/$m.ko $args || echo "L2-IDE-INSMOD-FAILED $m"
done
i=0
while [ ! -b /dev/sda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
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
