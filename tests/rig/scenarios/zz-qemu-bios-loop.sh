# rig: default=no needs=qemu,disk,bios timeout=1800 accel=tcg,thread=single
# Investigation of qemu-bios's rare failure on ours (a default-set run: the
# first L2 Linux stopped at 0.22 s with IF=0, the second boot triple-faulted
# in the BIOS while extlinux loaded the kernel): qemu-bios's Linux boot
# (Debian's QEMU, kernel_irqchip=off, our BIOS, the scripts/mkimage disk,
# -m 256, one vCPU) bios.loops times (default 20) in one L1 boot, under the
# same single-threaded L0 TCG, stopping at the first failure.  Each boot
# starts from a fresh copy of the image (line 1 every time).
# A boot fails when QEMU exits without the guest's DISK-DONE, when its
# console has not grown for bios.stall seconds (default 20) or when it runs
# past bios.limit (default 100).  Then, before QEMU is stopped:
#   - QEMU's "info registers" twice, 2 s apart (still moving?), the code
#     at RIP, its PIC, local APIC and IRQ counts (QEMU reads the vCPU
#     through KVM_GET_REGS/SREGS/VCPU_EVENTS: kvm.ko's view of it),
#   - every QEMU thread's state, wchan and kernel stack,
#   - the kernel lines logged since the boot began (our kvm.ko dumps its
#     last exits on a shutdown and on an interrupt injected while the
#     guest cannot take one), and the console's tail.
. /rig/lib.sh
BIOS=/usr/share/kvm-run/bios.bin
requires qemu $BIOS /rig/disk/disk.img
dmesg_mark
load_kvm || { result load FAIL "could not load the $RIG_KVM KVM"; exit 1; }
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
loops=$(cmdline_get bios.loops 20)
stall=$(cmdline_get bios.stall 20)
limit=$(cmdline_get bios.limit 100)
CR=$(printf '\r')

mon() {  # COMMAND: to QEMU's monitor, then a moment for the answer
	printf '%s\n' "$1" >/tmp/qmon.in
	sleep 1
}

i=0 pass=0 failed=
while [ $i -lt $loops ] && [ -z "$failed" ]; do
	i=$((i + 1))
	m0=$(dmesg | wc -l)
	cp /rig/disk/disk.img /tmp/loop.img
	rm -f /tmp/loop.raw /tmp/loop.out /tmp/loop.err /tmp/qmon.*
	touch /tmp/loop.raw
	mkfifo /tmp/qmon.in /tmp/qmon.out
	cat /tmp/qmon.out >/tmp/qmon.log &
	catpid=$!
	b0=$(ms)
	qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off \
		-bios $BIOS -m 256 -display none -vga none -nic none -no-reboot \
		-monitor pipe:/tmp/qmon -serial file:/tmp/loop.raw \
		-drive file=/tmp/loop.img,format=raw,if=ide </dev/null 2>/tmp/loop.err &
	pid=$!
	last=0 quiet=0 stalled=
	while kill -0 $pid 2>/dev/null; do
		sleep 0.5
		tr -d "$CR" </tmp/loop.raw >/tmp/loop.out 2>/dev/null
		grep -qE 'DISK-DONE|Kernel panic' /tmp/loop.out && break
		size=$(wc -c </tmp/loop.raw)
		if [ "$size" != "$last" ]; then
			last=$size quiet=0
		else
			quiet=$((quiet + 1))
		fi
		[ $quiet -ge $((stall * 2)) ] && { stalled="console quiet for ${stall}s"; break; }
		[ $(($(ms) - b0)) -gt $((limit * 1000)) ] && { stalled="over ${limit}s"; break; }
	done
	d=$(($(ms) - b0))
	if [ -n "$stalled" ]; then
		echo "=== boot $i: STALL ($stalled) after ${d} ms"
		mon 'info registers'
		sleep 1
		mon 'info registers'
		mon 'x/24i $pc'
		mon 'info pic'
		mon 'info lapic'
		mon 'info irq'
		echo "--- QEMU's threads:"
		thread_stacks $pid
		mon 'quit'
		sleep 2
	else
		# DISK-DONE: poweroff follows
		j=0
		while kill -0 $pid 2>/dev/null && [ $j -lt 200 ]; do sleep 0.1; j=$((j + 1)); done
	fi
	kill -KILL $pid 2>/dev/null
	wait $pid
	rc=$?
	kill $catpid 2>/dev/null
	wait $catpid 2>/dev/null
	tr -d "$CR" </tmp/loop.raw >/tmp/loop.out 2>/dev/null
	inj=$(dmesg | tail -n +$((m0 + 1)) | grep -c 'guest cannot take one')
	if [ -z "$stalled" ] && [ $rc = 0 ] && [ $inj = 0 ] &&
	   grep -q 'DISK-TEST wrote /disk-test.txt line 1' /tmp/loop.out &&
	   grep -q DISK-DONE /tmp/loop.out; then
		pass=$((pass + 1))
		result "boot$i" PASS "${d}ms"
	else
		failed=$i
		echo "--- boot $i: QEMU status $rc; stderr:"
		grep -v 'warning: host doesn.t support\|deprecated\|Do not use kernel-irqchip' \
			/tmp/loop.err | sed 's/^/err| /'
		tr -d "$CR" </tmp/qmon.log 2>/dev/null | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/^/mon| /'
		echo "--- console (tail):"
		tail -n 30 /tmp/loop.out | sed 's/^/con| /'
		echo "--- kernel:"
		dmesg | tail -n +$((m0 + 1))
		result "boot$i" FAIL "status $rc, ${stalled:+stalled ($stalled), }${d}ms, $inj bad injection(s)," \
			"last line: $(grep -v '^$' /tmp/loop.out | tail -n 1 | cut -c1-80)"
	fi
	rm -f /tmp/qmon.*
done
echo "qemu-bios loop: $pass of $i boots passed${failed:+, boot $failed failed}"
check unload unload_kvm
dmesg_check
