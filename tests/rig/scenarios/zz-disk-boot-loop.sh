# rig: default=no needs=kvm-run,qemu,disk,bios timeout=880
# Investigation of disk-boot's rare stall (the guest's console stops
# mid-line and the boot never ends): disk-boot's write boot (kvm-run -hda,
# -smp 2, -m 256) disk.loops times (default 15) in one L1 boot, with
# disk.bios=ours (the default: our BIOS) or seabios, or disk.vmm=qemu
# (Debian's QEMU on the same image, kernel_irqchip=off) to compare.
# Per boot: result and duration.  A boot whose console has not grown for
# disk.stall seconds (default 20), or that runs past disk.limit (90), is a
# stall; then, before it is stopped:
#   - every thread of the VMM: state, wchan and kernel stack (in KVM_RUN
#     or in the VMM's own userspace?),
#   - 3 s of the reference KVM's tracepoints (exits, injections, interrupt
#     lines, port I/O; our module has none): what the vCPUs still do,
#   - kvm-run's SIGUSR2 register dump (QEMU: "info registers" through its
#     monitor),
#   - the console's tail and the kernel lines logged meanwhile.
# On the reference, every boot also counts L0's stray #VMEXIT (l0=N): NPF
# exits during a guest page-table walk at L1's __svm_vcpu_run (lib.sh).
. /rig/lib.sh
requires kvm-run qemu /rig/disk/disk.img /usr/share/kvm-run/bios.bin
dmesg_mark
load_kvm || { result load FAIL "could not load"; exit 1; }
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
loops=$(cmdline_get disk.loops 15)
stall=$(cmdline_get disk.stall 20)
limit=$(cmdline_get disk.limit 90)
vmm=$(cmdline_get disk.vmm kvm-run)
bios=$(cmdline_get disk.bios ours)
CR=$(printf '\r')
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
EVENTS="kvm/kvm_exit kvm/kvm_entry kvm/kvm_inj_virq kvm/kvm_apic_accept_irq kvm/kvm_set_irq
	kvm/kvm_pic_set_irq kvm/kvm_ioapic_set_irq kvm/kvm_apic_ipi kvm/kvm_pio kvm/kvm_msr
	kvm/kvm_eoi kvm/kvm_userspace_exit kvm/kvm_vcpu_wakeup kvm/kvm_apic"
tracing=no
[ -d $T/events/kvm/kvm_exit ] && echo 2048 > $T/buffer_size_kb && tracing=yes
# L0's stray #VMEXIT on the reference: lib.sh's l0_trace_start (counted
# per boot as l0=N).
l0_trace_start
trace_for() {  # SECONDS: the KVM tracepoints for that long, the last 150 lines
	local e
	[ $tracing = yes ] || { echo "(no KVM tracepoints: our module)"; return; }
	l0_ref_hits >/tmp/l0hits   # (the trace is about to be cleared)
	echo > $T/trace
	echo 0 > $T/events/kvm/kvm_exit/filter
	for e in $EVENTS; do echo 1 > $T/events/$e/enable 2>/dev/null; done
	sleep $1
	for e in $EVENTS; do echo 0 > $T/events/$e/enable 2>/dev/null; done
	echo 'exit_reason == 1024 && info1 & 0x200000000' > $T/events/kvm/kvm_exit/filter
	[ -n "$L0_VMRUN" ] && echo 1 > $T/events/kvm/kvm_exit/enable
	echo "trace: $(grep -vc '^#' $T/trace) events in $1 s; per event:"
	grep -v '^#' $T/trace | sed -n 's/.*: \(kvm_[a-z_]*\):.*/\1/p' | sort | uniq -c
	echo "exit reasons:"
	grep 'kvm_exit:' $T/trace | sed -n 's/.*reason \([A-Za-z_]*\).*/\1/p' | sort | uniq -c
	grep -v '^#' $T/trace | tail -n 150
}

i=0 pass=0
while [ $i -lt $loops ]; do
	i=$((i + 1))
	m0=$(dmesg | wc -l)
	cp /rig/disk/disk.img /tmp/loop.img
	l0_trace_mark
	rm -f /tmp/l0hits
	rm -f /tmp/loop.in /tmp/loop.out /tmp/loop.raw /tmp/loop.err /tmp/loop.pid /tmp/loop.rc /tmp/qmon.*
	mkfifo /tmp/loop.in
	touch /tmp/loop.out /tmp/loop.raw
	b0=$(ms)
	if [ $vmm = qemu ]; then
		# (the monitor: pipe:/tmp/qmon, two fifos QEMU opens read-write)
		mkfifo /tmp/qmon.in /tmp/qmon.out
		cat /tmp/qmon.out >/tmp/qmon.log &
		qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off -smp 2 -m 256 \
			-display none -vga none -nic none -no-reboot \
			-monitor pipe:/tmp/qmon -serial "file:/tmp/loop.raw" \
			-drive file=/tmp/loop.img,format=raw,if=ide </dev/null 2>/tmp/loop.err &
	else
		set --
		[ $bios = seabios ] && set -- -bios /usr/share/seabios/bios.bin
		# as disk-boot runs it: the console through a pipe, the debug port to a file
		(
			kvm-run -m 256 -smp 2 -hda /tmp/loop.img -nographic \
				-debugcon file:/tmp/loop.dbg "$@" </tmp/loop.in 2>/tmp/loop.err &
			echo $! >/tmp/loop.pid
			wait $!
			echo $? >/tmp/loop.rc
		) | cat >/tmp/loop.raw &
		pipe=$!
		while [ ! -s /tmp/loop.pid ]; do sleep 0.1; done
	fi
	pid=$!
	[ $vmm = qemu ] || pid=$(cat /tmp/loop.pid)
	exec 4>/tmp/loop.in
	last=0 quiet=0 sent= stalled= size=0
	while kill -0 $pid 2>/dev/null; do
		sleep 0.5
		tr -d "$CR" </tmp/loop.raw >/tmp/loop.out 2>/dev/null
		if [ -z "$sent" ] && grep -qE '(^|[^a-z])boot:' /tmp/loop.out; then
			[ $vmm = qemu ] || printf 'write noxsave\r' >&4
			sent=1
		fi
		grep -qE 'DISK-DONE|Kernel panic' /tmp/loop.out && break
		size=$(wc -c </tmp/loop.raw)
		if [ "$size" != "$last" ]; then
			last=$size quiet=0
		else
			quiet=$((quiet + 1))
		fi
		[ $quiet -ge $((stall * 2)) ] && { stalled=1; break; }
		# (a boot that keeps printing but never ends: a reset loop?)
		[ $(($(ms) - b0)) -gt $((limit * 1000)) ] && { stalled="over ${limit}s"; break; }
	done
	d=$(($(ms) - b0))
	if [ -n "$stalled" ]; then
		echo "=== boot $i: STALL ($stalled: 1 = console quiet for ${stall}s) after ${d} ms;" \
			"$(grep -c 'kvm-run BIOS\|SeaBIOS (version' /tmp/loop.out) firmware banners"
		echo "--- the VMM's threads:"
		thread_stacks $pid
		echo "--- the KVM's events:"
		trace_for 3
		echo "--- the VMM's threads again:"
		thread_stacks $pid
		if [ $vmm = qemu ]; then
			printf 'info registers -a\n' >/tmp/qmon.in
		else
			kill -USR2 $pid
		fi
		sleep 3
		kill -TERM $pid 2>/dev/null
	else
		# DISK-DONE: poweroff follows
		j=0
		while kill -0 $pid 2>/dev/null && [ $j -lt 200 ]; do sleep 0.1; j=$((j + 1)); done
		kill -TERM $pid 2>/dev/null
	fi
	sleep 1
	kill -KILL $pid 2>/dev/null
	exec 4>&-
	if [ $vmm = qemu ]; then
		wait $pid
		rc=$?
	else
		wait $pipe  # (not a bare wait: load_kvm's kvm_hold is a child too)
		rc=$(cat /tmp/loop.rc 2>/dev/null || echo none)
	fi
	tr -d "$CR" </tmp/loop.raw >/tmp/loop.out 2>/dev/null
	[ -e /tmp/l0hits ] || l0_ref_hits >/tmp/l0hits
	l0=$(wc -l </tmp/l0hits)
	if [ $l0 -gt 0 ]; then
		echo "--- boot $i: $l0 NPF exit(s) at L1's __svm_vcpu_run (L0's stray #VMEXIT):"
		head -n 5 /tmp/l0hits
	fi
	if [ -z "$stalled" ] && [ $rc = 0 ] && grep -q 'DISK-TEST wrote /disk-test.txt line 1' /tmp/loop.out &&
	   grep -q DISK-DONE /tmp/loop.out; then
		pass=$((pass + 1))
		result "boot$i" PASS "${d}ms l0=$l0"
	else
		echo "--- boot $i: status $rc; stderr:"
		sed 's/^/err| /' /tmp/loop.err
		[ -e /tmp/qmon.log ] && tr -d "$CR" </tmp/qmon.log | sed 's/^/mon| /'
		rm -f /tmp/qmon.*
		echo "--- console (tail):"
		tail -n 25 /tmp/loop.out | sed 's/^/con| /'
		echo "--- kernel:"
		dmesg | tail -n +$((m0 + 1))
		result "boot$i" FAIL "status $rc, ${stalled:+stalled ($stalled), }${d}ms l0=$l0"
	fi
done
echo "disk-boot loop: $pass of $loops boots passed"
check unload unload_kvm
dmesg_check
