# rig: default=no needs=kvm-run,qemu,l2linux timeout=600
# Benchmark (not a test of speed): the same L2 Linux (distro kernel, busybox
# initrd, -m 256, -smp 1, same command line) booted by kvm-run and by
# Debian's QEMU (-cpu host, the in-kernel irqchip) on the chosen KVM, three
# times each.  Rows, as checks with "value=":
#   boot-ms.kvm-run / boot-ms.qemu   median ms from starting the VMM to the
#                                    guest's init printing L2-INIT (L1 clock)
#   boot-ratio-x100                  kvm-run / QEMU, times 100
#   rss-beyond-ram-kib.kvm-run/.qemu resident memory of the VMM process that
#                                    is not guest RAM (total Rss minus the Rss
#                                    of the guest-RAM mapping), at init
# A row fails only when a boot did not reach init (a broken bench), never on
# a number.  Run: tests/rig/rig.py --kvm=reference --scenario linux-bench
. /rig/lib.sh
requires kvm-run qemu /rig/l2/vmlinuz
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
irq=$(kvm_cap 0 2>/dev/null)
if [ "$irq" = 0 ]; then
	result setup SKIP "needs KVM_CAP_IRQCHIP"
	unload_kvm
	exit 0
fi

RAM_MB=256
APPEND="console=ttyS0 quiet noxsave panic=-1 l2.cmd=linux-hold"  # noxsave: see linux-boot.sh
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# rss_beyond_ram PID: KiB of Rss outside the guest-RAM mapping (the largest
# mapping of at least the guest's RAM size).
rss_beyond_ram() {
	awk -v ram=$((RAM_MB * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { size = 0 }
		/^Size:/ { size = $2 }
		/^Rss:/ { total += $2; if (size >= ram && $2 > guest) guest = $2 }
		END { print total - guest }' /proc/$1/smaps
}

# one_boot VMM: boots once; sets ms and kib, or returns 1
one_boot() {
	local vmm=$1 t0 pid i=0
	rm -f /tmp/b.in /tmp/b.out
	mkfifo /tmp/b.in
	t0=$(now_ms)
	if [ $vmm = kvm-run ]; then
		timeout -k 2 120 kvm-run -m $RAM_MB -kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
			-append "$APPEND" -nographic </tmp/b.in >/tmp/b.out 2>/tmp/b.err &
	else
		timeout -k 2 120 qemu-system-x86_64 -accel kvm -cpu host -m $RAM_MB -display none \
			-monitor none -vga none -nic none -no-reboot -serial stdio \
			-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio -append "$APPEND" \
			</tmp/b.in >/tmp/b.out 2>/tmp/b.err &
	fi
	exec 4>/tmp/b.in
	while ! grep -q L2-HOLD /tmp/b.out; do
		i=$((i + 1))
		if [ $i -gt 6000 ] || ! kill -0 $! 2>/dev/null; then
			exec 4>&-
			kill $(pidof $([ $vmm = kvm-run ] && echo kvm-run || echo qemu-system-x86_64)) 2>/dev/null
			wait
			return 1
		fi
		sleep 0.02
	done
	ms=$(($(now_ms) - t0))
	pid=$(pidof $([ $vmm = kvm-run ] && echo kvm-run || echo qemu-system-x86_64))
	kib=$(rss_beyond_ram $pid)
	echo done >&4
	exec 4>&-
	wait
	return 0
}

median3() { echo "$1 $2 $3" | tr ' ' '\n' | sort -n | sed -n 2p; }

for vmm in kvm-run qemu; do
	times= rss=
	for n in 1 2 3; do
		if ! one_boot $vmm; then
			cat /tmp/b.err; tail -n 20 /tmp/b.out | sed 's/^/L2| /'
			result boot-ms.$vmm FAIL "boot $n did not reach init"
			continue 2
		fi
		times="$times $ms" rss="$rss $kib"
	done
	eval "ms_$(echo $vmm | tr -d -)=$(median3 $times)"
	result boot-ms.$vmm PASS "value=$(median3 $times) runs:$times"
	result rss-beyond-ram-kib.$vmm PASS "value=$(median3 $rss) runs:$rss"
done
if [ -n "${ms_kvmrun:-}" ] && [ -n "${ms_qemu:-}" ]; then
	result boot-ratio-x100 PASS "value=$((ms_kvmrun * 100 / ms_qemu)) (kvm-run/qemu)"
fi
check unload unload_kvm
