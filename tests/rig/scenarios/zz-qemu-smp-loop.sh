# rig: default=no needs=qemu,l2linux timeout=560
# Investigation: the qemu-smp boot (QEMU, kernel irqchip, -smp 2, distro
# Linux, nproc, timed sleep 2, poweroff) rig.smp_loops times (default 20)
# in one L1 boot; per-boot result and duration, and on a failure the L2
# console tail and the kernel lines logged meanwhile.
. /rig/lib.sh
requires qemu /rig/l2/vmlinuz
dmesg_mark
load_kvm || { result load FAIL "could not load"; exit 1; }
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
loops=$(cmdline_get rig.smp_loops 20)
i=0 pass=0
while [ $i -lt $loops ]; do
	i=$((i + 1))
	m0=$(dmesg | wc -l)
	rm -f /tmp/l2.out; touch /tmp/l2.out
	b0=$(ms)
	timeout -k 5 120 qemu-system-x86_64 -accel kvm -smp 2 \
		-m 256 -display none -monitor none -vga none -nic none -no-reboot \
		-serial file:/tmp/l2.out \
		-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
		-append "console=ttyS0 quiet panic=-1 l2.cmd=smp" \
		</dev/null >/tmp/qemu.log 2>&1
	rc=$?
	d=$(($(ms) - b0))
	n=$(sed -n 's/^L2-NPROC \([0-9]*\).*/\1/p' /tmp/l2.out)
	if [ $rc -eq 0 ] && [ "$n" = 2 ] && grep -q '^L2-DONE' /tmp/l2.out; then
		pass=$((pass + 1))
		result "boot$i" PASS "${d}ms"
	else
		echo "--- qemu exit $rc; stderr:"; cat /tmp/qemu.log
		echo "--- L2 console (tail):"; tail -n 20 /tmp/l2.out
		echo "--- kernel:"; dmesg | tail -n +$((m0 + 1))
		result "boot$i" FAIL "qemu exit $rc, nproc '$n', ${d}ms"
	fi
done
echo "qemu-smp loop: $pass of $loops boots passed"
check unload unload_kvm
dmesg_check
