# rig: default=no needs=kvm-run,qemu,l2linux,progs/kvm_cap timeout=600
# Benchmark (not a test of speed; make bench): IDE sequential read
# throughput inside the guest.  The same L2 Linux (distro kernel, busybox
# initrd, ata_piix, -m 256) reads a 64 MiB raw image from start to end
# (dd bs=1M from /dev/sda, page cache dropped) under kvm-run -hda and under
# Debian's QEMU (-drive if=ide, the same PIIX3 IDE and driver), three
# times each on the chosen KVM.  Rows, as checks with "value=":
#   ide.read-kib-s-kvm-run / ide.read-kib-s-qemu   median KiB/s (L2's clock)
#   ide.read-ratio-x100                            kvm-run / QEMU, times 100
# A row fails only when a run did not report a number (a broken bench).
. /rig/lib.sh
requires kvm-run qemu /rig/l2/vmlinuz /rig/progs/kvm_cap
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
if [ "$(kvm_cap 0 2>/dev/null)" = 0 ]; then
	for r in read-kib-s-kvm-run read-kib-s-qemu read-ratio-x100; do
		result ide.$r SKIP "needs KVM_CAP_IRQCHIP (irqchip=1 for ours)"
	done
	check unload unload_kvm
	exit 0
fi

IMG=/tmp/bench.img
dd if=/dev/urandom of=$IMG bs=1M count=64 2>/dev/null
APPEND="console=ttyS0 quiet noxsave panic=-1 l2.cmd=ide-read"  # noxsave: see linux-boot.sh

one_run() {  # VMM -> sets kibs, or returns 1
	if [ $1 = kvm-run ]; then
		timeout -k 2 180 kvm-run -m 256 -kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
			-append "$APPEND" -hda $IMG -nographic -no-reboot </dev/null >/tmp/b.out 2>/tmp/b.err
	else
		timeout -k 2 180 qemu-system-x86_64 -accel kvm -cpu host -m 256 -display none \
			-monitor none -vga none -nic none -no-reboot -serial stdio \
			-drive file=$IMG,format=raw,if=ide,index=0,media=disk \
			-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio -append "$APPEND" \
			</dev/null >/tmp/b.out 2>/tmp/b.err
	fi
	kibs=$(sed -n 's/^L2-IDE-READ-KIB-S \([0-9]*\).*/\1/p' /tmp/b.out | head -n 1)
	[ -n "$kibs" ]
}

median3() { echo "$1 $2 $3" | tr ' ' '\n' | sort -n | sed -n 2p; }

for vmm in kvm-run qemu; do
	runs=
	for n in 1 2 3; do
		if ! one_run $vmm; then
			cat /tmp/b.err; tail -n 30 /tmp/b.out | sed 's/^/L2| /'
			result ide.read-kib-s-$vmm FAIL "run $n reported no throughput"
			continue 2
		fi
		runs="$runs $kibs"
	done
	mode=$(sed -n 's/^L2-IDE-MODE \([A-Z0-9_]*\).*/\1/p' /tmp/b.out | tr -d '\r')
	eval "kibs_$(echo $vmm | tr -d -)=$(median3 $runs)"
	result ide.read-kib-s-$vmm PASS "value=$(median3 $runs) runs:$runs mode:$mode"
done
if [ -n "${kibs_kvmrun:-}" ] && [ -n "${kibs_qemu:-}" ] && [ "$kibs_qemu" -gt 0 ]; then
	result ide.read-ratio-x100 PASS "value=$((kibs_kvmrun * 100 / kibs_qemu)) (kvm-run/qemu)"
fi
check unload unload_kvm
