#!/bin/sh
# /init of the initramfs that scripts/mkimage puts on its disk images.
#
# Loads the modules that reach the disk (ata_piix, sd_mod, ext4 and their
# dependencies, listed in load order in /etc/modules.order), mounts the
# image's partition /dev/sda1 on /mnt and does what disk.cmd= on the kernel
# command line says (the extlinux labels set it):
#
#   write   append a line to /mnt/disk-test.txt, sync, unmount, power off
#   read    print /mnt/disk-test.txt, power off
#   bench   sequential read of the raw disk /dev/sda with dd, power off
#   shell   interactive shell on the console; power off when it exits
#
# Console markers for tests: "DISK-INIT", "DISK-TEST <what> ...",
# "DISK-FAIL <why>", "DISK-DONE".
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null

fail() {
	echo "DISK-FAIL $*"
	echo "DISK-DONE"
	poweroff -f
}

cmd=write
for w in $(cat /proc/cmdline); do
	case "$w" in disk.cmd=*) cmd=${w#disk.cmd=} ;; esac
done
echo "DISK-INIT cmd=$cmd nproc=$(nproc) kernel=$(uname -r)"

kver=$(cat /etc/kver)
for m in $(cat /etc/modules.order); do
	insmod "/lib/modules/$kver/$m.ko" || echo "DISK-INIT insmod $m failed"
done

# The SCSI scan runs asynchronously after ata_piix probes: wait for it.
i=0
while [ ! -b /dev/sda1 ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "no /dev/sda1 after 30 s (disks: $(ls /sys/block | tr '\n' ' '))"
	sleep 0.1
done
echo "DISK-TEST disk sda: $(cat /sys/block/sda/device/model 2>/dev/null | tr -s ' ')," \
	"$(cat /sys/block/sda/size) sectors"
ls /sys/bus/pci/drivers/ata_piix 2>/dev/null | grep -q ':' &&
	echo "DISK-TEST ata_piix bound to $(ls /sys/bus/pci/drivers/ata_piix | grep ':' | tr '\n' ' ')"

case "$cmd" in
write)
	mount -t ext4 /dev/sda1 /mnt || fail "mount /dev/sda1"
	n=$(($(cat /mnt/disk-test.txt 2>/dev/null | wc -l) + 1))
	line="disk-test write $n: written by the guest through ata_piix, uptime $(cut -d' ' -f1 /proc/uptime)"
	echo "$line" >>/mnt/disk-test.txt || fail "write /mnt/disk-test.txt"
	sync
	umount /mnt || fail "umount /mnt"
	echo "DISK-TEST wrote /disk-test.txt line $n"
	;;
read)
	mount -t ext4 -o ro /dev/sda1 /mnt || fail "mount /dev/sda1"
	if [ -f /mnt/disk-test.txt ]; then
		sed 's/^/DISK-TEST read: /' /mnt/disk-test.txt
	else
		echo "DISK-TEST read: no /disk-test.txt"
	fi
	umount /mnt
	;;
bench)
	sync
	echo 3 >/proc/sys/vm/drop_caches
	mb=$(($(cat /sys/block/sda/size) / 2048))
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/sda of=/dev/null bs=1M count=$mb 2>/dev/null || fail "dd /dev/sda"
	t1=$(cut -d' ' -f1 /proc/uptime)
	# centiseconds, so busybox sh integer arithmetic does the division
	cs=$(( ${t1%.*}${t1#*.} - ${t0%.*}${t0#*.} ))
	[ $cs -gt 0 ] || cs=1
	echo "DISK-TEST bench read ${mb} MiB in ${cs}0 ms: $((mb * 100000 / cs)) KiB/s" \
		"($((mb * 100 / cs)) MiB/s)"
	;;
shell)
	echo "DISK-TEST shell: /dev/sda1 is not mounted; 'mount /dev/sda1 /mnt'. exit powers off."
	setsid cttyhack sh -l
	;;
*)
	fail "unknown disk.cmd=$cmd (write, read, bench, shell)"
	;;
esac
echo "DISK-DONE"
poweroff -f
