# Sourced by ide.sh and ide-read.sh (not an l2.cmd of its own).
# ide_load_drivers: insmod the packed distro modules in dependency order and
# wait up to 10 s for /dev/sda.  insmod does not look at the kernel command
# line as modprobe does, so each module gets its MODULE.PARAM=VALUE words
# (libata.dma=0) from here.
ide_load_drivers() {
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
}
