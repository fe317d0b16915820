# rig: default=no needs=kvm-run,stress timeout=500
# Not in the default set while an unexplained L2 triple fault (about one run
# in three, seen on both KVMs, once with a guest RIP in L1's module space)
# makes it fail now and then even with its one retry.
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
	d=/rig/stress/$p out=/tmp/stress.$p.out retried=
	for try in 1 2; do
		t0=$(date +%s)
		timeout -k 2 200 kvm-run -kernel $d/image $(cat $d/args) -nographic <&- >$out 2>$out.err
		rc=$?
		secs=$(($(date +%s) - t0))
		# An L2 triple fault some tens of seconds in, without a cause in
		# the payload, was seen about once in three runs on the reference
		# and on ours alike (the rig's TCG SVM under load?): retry once,
		# loudly.  A lost interrupt is a FAIL code, never a triple fault.
		[ $rc -eq 2 ] && grep -q "guest triple fault" $out.err && [ $try -eq 1 ] || break
		echo "irq-stress: RETRY: $p ended in an L2 triple fault after ${secs}s:"
		cat $out $out.err
		retried=" (retried after an L2 triple fault at ${secs}s)"
	done
	if grep -qF "$KVM_NO_IRQCHIP_RE" $out.err; then
		result "$p" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
	elif [ $rc -eq "$(cat $d/exit)" ] && grep -q "no interrupt lost" $out; then
		timers=0 ipis=0
		while read -r _ _ _ _ _ t _ _ i; do
			timers=$((timers + 0x$t)) ipis=$((ipis + 0x$i))
		done <<EOF
$(grep 'timer interrupts' $out)
EOF
		result "$p" PASS "${secs}s $(grep -c 'timer interrupts' $out) cpus, $timers timer interrupts, $ipis ring ipis$retried"
	else
		cat $out $out.err
		result "$p" FAIL "kvm-run exit $rc (want $(cat $d/exit)) after ${secs}s; $(grep -m1 FAIL $out)$retried"
	fi
	sed 's/^/    /' $out
done
check unload unload_kvm
dmesg_check
