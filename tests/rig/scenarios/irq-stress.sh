# rig: default=yes needs=kvm-run,stress timeout=300
# Interrupt stress (tests/guest/irq_stress.asm, listed in stress.ini): four
# vCPUs hammer IPIs and LAPIC timers for 60 s and the payload proves that no
# interrupt was lost; then no kernel warning since the module loaded, and the
# module unloads.  SKIP when the KVM offers no in-kernel irqchip.
. /rig/lib.sh
requires kvm-run
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
for p in $(ls /rig/stress); do
	d=/rig/stress/$p out=/tmp/stress.$p.out
	t0=$(date +%s)
	timeout -k 2 200 kvm-run -kernel $d/image $(cat $d/args) -nographic <&- >$out 2>$out.err
	rc=$?
	secs=$(($(date +%s) - t0))
	if grep -qF "$KVM_NO_IRQCHIP_RE" $out.err; then
		result "$p" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
	elif [ $rc -eq "$(cat $d/exit)" ] && grep -q "no interrupt lost" $out; then
		timers=0 ipis=0
		while read -r _ _ _ _ _ t _ _ i; do
			timers=$((timers + 0x$t)) ipis=$((ipis + 0x$i))
		done <<EOF
$(grep 'timer interrupts' $out)
EOF
		result "$p" PASS "${secs}s $(grep -c 'timer interrupts' $out) cpus, $timers timer interrupts, $ipis ring ipis"
	else
		cat $out $out.err
		result "$p" FAIL "kvm-run exit $rc (want $(cat $d/exit)) after ${secs}s; $(grep -m1 FAIL $out)"
	fi
	sed 's/^/    /' $out
done
check unload unload_kvm
dmesg_check
