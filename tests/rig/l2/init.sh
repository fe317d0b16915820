#!/bin/busybox sh
# /init of the L2 Linux the rig boots inside L1 (under QEMU or kvm-run).
# Prints markers on the console, runs the workload named by l2.cmd= on the
# kernel command line (a script from tests/rig/l2/), and powers off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "L2-INIT nproc=$(nproc)"
cmd=
for w in $(cat /proc/cmdline); do
	case "$w" in l2.cmd=*) cmd=${w#l2.cmd=} ;; esac
done
if [ -n "$cmd" ]; then
	if [ -x "/l2/$cmd.sh" ]; then
		"/l2/$cmd.sh"
		echo "L2-CMD $cmd status=$?"
	else
		echo "L2-CMD $cmd missing"
	fi
fi
echo "L2-DONE"
poweroff -f
