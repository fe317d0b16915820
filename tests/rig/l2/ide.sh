#!/bin/sh
# For scenarios/ide-disk.sh: the distro's own drivers (ata_piix, sd_mod) find
# kvm-run's -hda as /dev/sda; L2 reads the whole disk (the host compares the
# checksum), writes 1 MiB at 4 MiB with an fsync (FLUSH CACHE), reads it back
# past the page cache, and reports what it wrote.
. /l2/ide-lib.sh
ide_load_drivers
dmesg | grep -E 'ata[0-9]|sd [0-9]|scsi' | sed 's/^/L2-DMESG /'
if [ ! -b /dev/sda ]; then
	echo "L2-IDE-NO-DISK"
	echo "L2-PCI-DEVICES $(ls /sys/bus/pci/devices 2>&1 | tr '\n' ' ')"
	dmesg | grep -iE 'pci|acpi|piix|ide' | head -n 60 | sed 's/^/L2-DMESG /'
	exit 1
fi
echo "L2-IDE-DRIVER $(basename "$(readlink /sys/bus/pci/devices/0000:00:01.1/driver)")"
echo "L2-IDE-SECTORS $(cat /sys/block/sda/size)"
echo "L2-IDE-XFER $(cat /sys/class/ata_device/dev1.0/xfer_mode 2>/dev/null)"
echo "L2-IDE-MD5 $(md5sum </dev/sda | cut -d' ' -f1)"
dd if=/dev/urandom of=/tmp/w bs=64k count=16 2>/dev/null
dd if=/tmp/w of=/dev/sda bs=64k seek=64 conv=fsync 2>/dev/null || echo "L2-IDE-WRITE-FAILED"
echo "L2-IDE-WROTE $(md5sum </tmp/w | cut -d' ' -f1)"
echo 3 >/proc/sys/vm/drop_caches
echo "L2-IDE-REREAD $(dd if=/dev/sda bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)"
echo "L2-IDE-ERRORS $(dmesg | grep -cE 'exception Emask|failed command|I/O error|timeout|BMDMA stat')"
