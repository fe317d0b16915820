# rig: default=no needs=kvm-run timeout=600
# Benchmarks (make bench): every payload of tests/guest/bench.ini under
# kvm-run on the chosen KVM. Each "bench <row> <hex cycles/op>" line it prints
# becomes a check "<payload>.<row>" with detail "value=<decimal>"; the check
# fails only when the payload did not run to its expected exit status or
# printed no rows (a broken bench), never on a number.  A payload that needs
# the in-kernel irqchip (bench_irq) is a SKIP on a KVM without one.
. /rig/lib.sh
requires kvm-run
[ -n "$(ls /rig/bench 2>/dev/null)" ] || { result setup FAIL "no bench payloads packed"; exit 1; }
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
for p in $(ls /rig/bench); do
	d=/rig/bench/$p out=/tmp/bench.$p.out
	args=$(cat $d/args)
	timeout -k 2 "$RUN_TIMEOUT" kvm-run -kernel $d/image $args -nographic <&- >$out 2>$out.err
	rc=$?
	if grep -qF "$KVM_NO_IRQCHIP_RE" $out.err; then
		result "$p" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
		continue
	fi
	rows=0
	while read -r word row hex rest; do
		[ "$word" = bench ] || continue
		result "$p.$row" PASS "value=$((0x$hex))"
		rows=$((rows + 1))
	done <$out
	if [ $rc -ne "$(cat $d/exit)" ] || [ $rows -eq 0 ]; then
		cat $out $out.err
		result "$p" FAIL "kvm-run exit $rc (want $(cat $d/exit)), $rows rows"
	else
		result "$p" PASS "$rows rows"
	fi
done
check unload unload_kvm
