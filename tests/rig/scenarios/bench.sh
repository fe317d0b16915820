# rig: default=no needs=kvm-run timeout=600
# Benchmarks (make bench): every payload of tests/guest/bench.ini under
# kvm-run on the chosen KVM. Each "bench <row> <hex cycles/op>" line it prints
# becomes a check "<payload>.<row>" with detail "value=<decimal>"; the check
# fails only when the payload did not run to its expected exit status or
# printed no rows (a broken bench), never on a number.
. /rig/lib.sh
requires kvm-run
[ -n "$(ls /rig/bench 2>/dev/null)" ] || { result setup FAIL "no bench payloads packed"; exit 1; }
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
# run_bench PAYLOAD [ROW-SUFFIX]: one payload, a check per row it prints
run_bench() {
	local p=$1 suffix=${2:-} d=/rig/bench/$1 out=/tmp/bench.$1.out args rc rows
	args=$(cat $d/args)
	timeout -k 2 "$RUN_TIMEOUT" kvm-run -kernel $d/image $args -nographic <&- >$out 2>$out.err
	rc=$?
	rows=0
	while read -r word row hex rest; do
		[ "$word" = bench ] || continue
		result "$p.$row$suffix" PASS "value=$((0x$hex))"
		rows=$((rows + 1))
	done <$out
	if [ $rc -ne "$(cat $d/exit)" ] || [ $rows -eq 0 ]; then
		cat $out $out.err
		result "$p$suffix" FAIL "kvm-run exit $rc (want $(cat $d/exit)), $rows rows"
	else
		result "$p$suffix" PASS "$rows rows"
	fi
}
for p in $(ls /rig/bench); do
	run_bench $p
done
check unload unload_kvm
# Our shadow MMU (npt=0): the address-space switch again without the
# shadow page cache, for the cached/uncached ratio.
case " $RIG_MODARGS " in
*" npt=0 "*)
	if [ "$RIG_KVM" = ours ] && [ -d /rig/bench/bench_cr3switch ]; then
		if load_kvm ours $RIG_MODARGS shadow_cache=0; then
			run_bench bench_cr3switch _nocache
			check unload-nocache unload_kvm
		else
			result load-nocache FAIL "could not load ours with shadow_cache=0"
		fi
	fi
	;;
esac
