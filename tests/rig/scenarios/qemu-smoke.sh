# rig: default=no needs=qemu,payloads timeout=900
# Debian's QEMU (a client nobody here wrote) with -accel kvm on the chosen
# KVM, booting each payload marked qemu=yes in guests.ini; exit status and
# serial output must match guests.ini like under kvm-run.
. /rig/lib.sh
requires qemu payloads
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
n=0
for p in $(payload_list); do
	d=/rig/payloads/$p
	[ "$(cat $d/qemu 2>/dev/null)" = yes ] || continue
	n=$((n + 1))
	out=/tmp/qemu.$p.out
	rm -f $out
	timeout -k 5 120 qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off -cpu host -m 128 \
		-display none -monitor none -vga none -nic none -no-reboot \
		-serial file:$out -device isa-debug-exit,iobase=0xf4,iosize=4 -device pc-testdev \
		-kernel $d/image </dev/null >/tmp/qemu.$p.log 2>&1
	rc=$?
	want=$(cat $d/exit)
	if [ $rc -eq "$want" ] && cmp -s $out $d/output; then
		result "$p" PASS "sig=exit=$rc,out=$(md5sum <$out | cut -c1-12)"
	else
		echo "--- qemu on $p: exit $rc (want $want)"; cat /tmp/qemu.$p.log
		echo "--- serial:"; head -c 2000 $out; echo
		result "$p" FAIL "exit $rc want $want; output $(wc -c <$out 2>/dev/null || echo 0) bytes"
	fi
done
[ $n -gt 0 ] || result payloads SKIP "no payload has qemu=yes"
check unload unload_kvm
dmesg_check
