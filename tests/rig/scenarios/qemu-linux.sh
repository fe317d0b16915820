# rig: default=yes needs=qemu,l2linux timeout=420
# Debian's QEMU 7.2 boots the distro Linux (L2) on the chosen KVM with its
# own userspace interrupt controllers (kernel_irqchip=off), through
# SeaBIOS and QEMU's -kernel loader, exactly as on any Linux KVM.  L2
# runs a CPU-bound and a floating-point workload whose answers are known,
# while an L1 process does floating-point work of its own: both must come
# out right (guest FPU state must not leak into the host or back).
. /rig/lib.sh
requires qemu /rig/l2/vmlinuz
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi

l1_fp() {  # the same series as in L2, over and over, in L1
	local n=0 bad=0 v
	while [ ! -e /tmp/l2.finished ]; do
		v=$(awk 'BEGIN { s = 0; for (i = 1; i <= 20000; i++) s += 1 / (i * i); printf "%.9f", s }')
		[ "$v" = 1.644884068 ] || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$n $bad" >/tmp/l1fp.result
}
rm -f /tmp/l2.finished /tmp/l1fp.result
l1_fp &
fp_pid=$!

start=$(date +%s)
timeout -k 5 300 qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off \
	-m 256 -display none -monitor none -vga none -nic none -no-reboot \
	-serial file:/tmp/l2.out \
	-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
	-append "console=ttyS0 quiet panic=-1 l2.cmd=compute" \
	</dev/null >/tmp/qemu.log 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
touch /tmp/l2.finished
wait $fp_pid

show() { echo "--- qemu exit $rc after ${secs}s; stderr:"; cat /tmp/qemu.log; echo "--- L2 console (tail):"; tail -n 40 /tmp/l2.out; }
grep -q '^L2-INIT nproc=1' /tmp/l2.out && result boot-to-init PASS "${secs}s" || { show; result boot-to-init FAIL "no L2-INIT line (qemu exit $rc)"; }
sha=$(sed -n 's/^L2-SHA \([0-9a-f]*\).*/\1/p' /tmp/l2.out)
[ "$sha" = f6351f5ead9a700e ] && result cpu-workload PASS "sig=$sha" || result cpu-workload FAIL "sha256 prefix '$sha'"
fp=$(sed -n 's/^L2-FP \([0-9.]*\).*/\1/p' /tmp/l2.out)
fp2=$(sed -n 's/^L2-FP2 \([0-9.]*\).*/\1/p' /tmp/l2.out)
[ "$fp" = 1.644884068 ] && [ "$fp2" = 3.141435594 ] && result fp-workload PASS "sig=$fp,$fp2" ||
	result fp-workload FAIL "got '$fp' '$fp2'"
grep -q '^L2-DONE' /tmp/l2.out && [ $rc -eq 0 ] && result poweroff PASS "sig=exit=$rc" ||
	result poweroff FAIL "qemu exit $rc, L2-DONE $(grep -c '^L2-DONE' /tmp/l2.out)"
read n bad </tmp/l1fp.result
[ "${n:-0}" -gt 0 ] && [ "${bad:-1}" -eq 0 ] && result host-fp PASS "$n runs" ||
	result host-fp FAIL "$bad of $n L1 floating-point runs wrong"
check unload unload_kvm
dmesg_check
