#!/bin/sh
# PID 1 of the rig's L1 guest (copied to /init in the initramfs).
#
# Reads its orders from the kernel command line (rig.kvm=, rig.scenarios=,
# rig.modargs=, rig.payload=, rig.timeout=), runs each scenario script under
# a timeout, reports results on /dev/ttyS1 (fd 3, see lib.sh), dumps dmesg
# there, prints the end marker and powers off.  Whatever happens it must
# reach the power-off: a PID 1 that exits panics the kernel, which with
# panic=-1 and -no-reboot also ends QEMU, but loses the dmesg dump.
/bin/busybox --install -s
mkdir -p /dev /proc /sys /tmp /run
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname rig-l1
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:/rig/progs
export HOME=/root
ulimit -c 0

# Results channel: the second serial port, kept open for the whole run so
# the tty layer does not drop what is still queued when we close it.
if [ -c /dev/ttyS1 ]; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	exec 3>/dev/ttyS1
else
	exec 3>/dev/console
fi

. /rig/lib.sh

# Heartbeat: tells the host that L1 is alive (scheduler and timers running).
# If it stops, L1 froze (a hard lockup, or a TCG livelock in L0) and rig.py
# kills the boot instead of waiting for the full timeout.
( while :; do echo RIG-HEARTBEAT >&3; sleep 5 3>&-; done ) &
HEARTBEAT=$!

RIG_KVM=$(cmdline_get rig.kvm ours)
RIG_SCENARIOS=$(cmdline_get rig.scenarios "" | tr , ' ')
RIG_TIMEOUT=$(cmdline_get rig.timeout 600)
RIG_MODARGS=$(cmdline_get rig.modargs "" | tr , ' ')
RIG_PAYLOAD=$(cmdline_get rig.payload "")
export RIG_KVM RIG_MODARGS RIG_PAYLOAD

echo "RIG-START kvm=$RIG_KVM scenarios=$RIG_SCENARIOS kernel=$(uname -r)" >&3
echo "rig: L1 up after $(cut -d' ' -f1 /proc/uptime)s; kvm=$RIG_KVM scenarios=$RIG_SCENARIOS"

for s in $RIG_SCENARIOS; do
	export RIG_SCENARIO=$s
	script=/rig/scenarios/$s.sh
	if [ "$s" = shell ]; then
		echo "rig: interactive shell (exit or Ctrl-D powers off; Ctrl-A x kills QEMU)"
		setsid cttyhack sh -l
		continue
	fi
	if [ ! -f "$script" ]; then
		result scenario FAIL "no such scenario script $script"
		continue
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo "RIG-BEGIN $s" >&3
	echo "rig: === scenario $s (kvm=$RIG_KVM) ==="
	timeout -k 5 "$RIG_TIMEOUT" sh "$script"
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	if [ $rc -eq 143 ] || [ $rc -eq 137 ] || [ $rc -eq 124 ]; then
		result scenario FAIL "timed out after ${RIG_TIMEOUT}s inside L1"
	fi
	echo "RIG-DONE $s rc=$rc t=$(awk "BEGIN{print $t1-$t0}")s" >&3
done

kill $HEARTBEAT 2>/dev/null
echo RIG-DMESG-BEGIN >&3
dmesg >&3
echo RIG-DMESG-END >&3
echo "RIG-END uptime=$(cut -d' ' -f1 /proc/uptime)s" >&3
echo "rig: done, powering off"
exec 3>&-
sync
sleep 0.2
poweroff -f
